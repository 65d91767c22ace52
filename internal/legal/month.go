package legal

import (
	"fmt"
	"time"
)

// monthLayout is the register month's form.
const monthLayout = "2006-01"

// Month is the register month of a time, "2006-01": the month of the
// time's wall clock in UTC, that is of CreatedOn as Nexudus sent it (see
// the package doc for why it is never corrected for the tenant's zone nor
// read in syncd's). Month(t) and Month(t.Local()) are the same.
func Month(t time.Time) string { return t.UTC().Format(monthLayout) }

// ParseMonth checks "YYYY-MM" (year 0001 to 9999, month 01 to 12, exactly
// seven characters) and returns the first instant of that month in UTC, so
// Month(ParseMonth(s)) is s.
func ParseMonth(s string) (time.Time, error) {
	if !isMonth(s) {
		return time.Time{}, fmt.Errorf("legal: month %q is not YYYY-MM", s)
	}
	t, err := time.Parse(monthLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("legal: month %q is not YYYY-MM", s)
	}
	return t, nil
}

// isMonth is ParseMonth's check without the allocation of an error.
func isMonth(s string) bool {
	if len(s) != 7 || s[4] != '-' {
		return false
	}
	for i := 0; i < 7; i++ {
		if i != 4 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	m := int(s[5]-'0')*10 + int(s[6]-'0')
	return s[:4] != "0000" && m >= 1 && m <= 12
}
