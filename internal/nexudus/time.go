package nexudus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// Time is a Nexudus timestamp. Nexudus writes ISO 8601 with "Z", but with or
// without fractional seconds (any number of digits), sometimes with an
// offset and sometimes with no zone at all; decoding accepts all of these so
// that one odd record does not fail a whole page.
//
// Some tenants send their local wall-clock time followed by a literal "Z".
// That cannot be detected from the value, so Time takes it at face value;
// the engine's lookback window is what covers the shift.
type Time struct{ time.Time }

// minuteLayout is the only format the range filters accept.
const minuteLayout = "2006-01-02T15:04"

// FormatMinute formats t as a range-filter bound: UTC, rounded down to the
// minute. Rounding down is what makes a from-bound inclusive of every
// record in that minute, since the server compares at minute resolution.
func FormatMinute(t time.Time) string {
	return t.UTC().Truncate(time.Minute).Format(minuteLayout)
}

// Layouts tried in order. Fractional seconds need no layout of their own:
// time.Parse accepts them after the seconds field whatever their length.
var timeLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// ParseTime parses a Nexudus timestamp. Values without a zone are UTC; the
// result is always in UTC.
func ParseTime(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	if n := len(v); n > 0 && v[n-1] == 'z' {
		v = v[:n-1] + "Z"
	}
	v = trimFraction(v)
	for _, layout := range timeLayouts {
		t, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		// An offset can push a year-1 or year-9999 value out of the range
		// that RFC 3339 (and MarshalJSON) can write back.
		if t = t.UTC(); t.Year() < 1 || t.Year() > 9999 {
			break
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("nexudus: unrecognised time \"%s\"", httpx.Excerpt([]byte(s), 40))
}

// trimFraction cuts fractional seconds to nine digits: time.Parse rejects
// longer fractions, and digits past the nanosecond carry nothing.
func trimFraction(v string) string {
	dot := strings.IndexByte(v, '.')
	if dot < 0 {
		return v
	}
	end := dot + 1
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end-dot-1 <= 9 {
		return v
	}
	return v[:dot+10] + v[end:]
}

// UnmarshalJSON accepts a string in any form ParseTime knows, null or "".
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	s, ok := plainString(b)
	if !ok {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("nexudus: time is not a string: %s", httpx.Shorten(string(b), 40))
		}
	}
	if strings.TrimSpace(s) == "" {
		t.Time = time.Time{}
		return nil
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// plainString reads a JSON string that needs no unescaping (the form of
// every time Nexudus sends) without a second run of the JSON decoder;
// ok is false for anything else, which json.Unmarshal then reads.
func plainString(b []byte) (string, bool) {
	n := len(b)
	if n < 2 || b[0] != '"' || b[n-1] != '"' {
		return "", false
	}
	inner := b[1 : n-1]
	for _, c := range inner {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return "", false
		}
	}
	return string(inner), true
}

// MarshalJSON writes RFC 3339 with nanoseconds in UTC, which ParseTime reads
// back to the same instant.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}
