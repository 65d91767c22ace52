package legal_test

import (
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/legal"
)

func TestMonth(t *testing.T) {
	madrid := time.FixedZone("CET", 3600)
	newYork := time.FixedZone("EST", -5*3600)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"start of month", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), "2024-02"},
		{"last instant before", time.Date(2024, 1, 31, 23, 59, 59, 999_999_999, time.UTC), "2024-01"},
		{"year boundary", time.Date(2023, 12, 31, 23, 59, 59, 0, time.UTC), "2023-12"},
		{"new year", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), "2024-01"},
		{"leap day", time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), "2024-02"},
		// An offset is converted to UTC, which is what a "Z" means.
		{"offset before midnight UTC", time.Date(2024, 2, 1, 0, 30, 0, 0, madrid), "2024-01"},
		{"offset after midnight UTC", time.Date(2024, 1, 31, 20, 0, 0, 0, newYork), "2024-02"},
		// The trap: the tenant sent its Madrid wall clock, 00:30 on 1
		// February, followed by a literal Z. The real instant is 23:30 UTC
		// on 31 January, but only the value sent is what every run sees.
		{"local time with Z (east)", mustParse(t, "2024-02-01T00:30:00Z"), "2024-02"},
		// A New York tenant's 23:30 on 31 January "Z" (really 04:30 UTC on
		// 1 February) stays in January.
		{"local time with Z (west)", mustParse(t, "2024-01-31T23:30:00Z"), "2024-01"},
		{"zero", time.Time{}, "0001-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := legal.Month(tt.in); got != tt.want {
				t.Fatalf("Month(%v) = %s, want %s", tt.in, got, tt.want)
			}
			// Neither syncd's zone nor the zone a caller put the time in
			// moves the month: only the instant Nexudus sent counts.
			for _, loc := range []*time.Location{time.Local, madrid, newYork, time.FixedZone("", 14*3600), time.FixedZone("", -12*3600)} {
				if got := legal.Month(tt.in.In(loc)); got != tt.want {
					t.Fatalf("Month in %v = %s, want %s", loc, got, tt.want)
				}
			}
		})
	}
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseMonth(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-01", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"2024-12", time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"0001-01", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"9999-12", time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"2024-13", time.Time{}, false},
		{"2024-00", time.Time{}, false},
		{"0000-01", time.Time{}, false},
		{"2024-1", time.Time{}, false},
		{"24-01", time.Time{}, false},
		{"2024/01", time.Time{}, false},
		{"2024-01-01", time.Time{}, false},
		{" 2024-01", time.Time{}, false},
		{"2024-01 ", time.Time{}, false},
		{"+024-01", time.Time{}, false},
		{"2024-+1", time.Time{}, false},
		{"２０２４-01", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := legal.ParseMonth(tt.in)
			if (err == nil) != tt.ok || !got.Equal(tt.want) {
				t.Fatalf("ParseMonth(%q) = %v, %v", tt.in, got, err)
			}
			if tt.ok && (legal.Month(got) != tt.in || got.Location() != time.UTC) {
				t.Fatalf("Month(ParseMonth(%q)) = %s in %v", tt.in, legal.Month(got), got.Location())
			}
		})
	}
}
