package nexudus

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	base := time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2025-01-15T10:30:00Z", base},
		{"2025-01-15T10:30:00", base},
		{"2025-01-15T10:30:00z", base},
		{" 2025-01-15T10:30:00Z ", base},
		{"2025-01-15 10:30:00", base},
		{"2025-01-15T10:30:00.5Z", base.Add(500 * time.Millisecond)},
		{"2025-01-15T10:30:00.123Z", base.Add(123 * time.Millisecond)},
		{"2025-01-15T10:30:00.1234567Z", base.Add(123456700)},
		{"2025-01-15T10:30:00.1234567", base.Add(123456700)},
		{"2025-01-15T10:30:00.123456789012Z", base.Add(123456789)},
		{"2025-01-15T10:30:00.000000000000000001", base},
		{"2025-01-15T11:30:00+01:00", base},
		{"2025-01-15T11:30:00.25+01:00", base.Add(250 * time.Millisecond)},
		{"2025-01-15T05:00:00-05:30", base},
		{"2025-01-15T11:30:00+0100", base},
		{"2025-01-15T10:30Z", base},
		{"2025-01-15T10:30", base},
		{"2025-01-15T11:30+01:00", base},
		{"2025-01-15", time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "yesterday", "2025-13-01T00:00:00Z", "2025-01-15T25:00:00Z", "15/01/2025",
		"2025-01-15T10:30:00+25:00", "2025-01-15T10:30:00.Z", strings.Repeat("9", 100)} {
		t.Run("bad "+bad, func(t *testing.T) {
			if _, err := ParseTime(bad); err == nil || len(err.Error()) > 80 {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestTimeJSON(t *testing.T) {
	var v struct{ A, B, C, D Time }
	if err := json.Unmarshal([]byte(`{"A":"2025-01-15T10:30:00.1234567Z","B":null,"C":"","D":"2025-01-15T10:30:00"}`), &v); err != nil {
		t.Fatal(err)
	}
	if !v.A.Equal(time.Date(2025, 1, 15, 10, 30, 0, 123456700, time.UTC)) || !v.B.IsZero() || !v.C.IsZero() || v.D.Hour() != 10 {
		t.Fatalf("%+v", v)
	}
	for _, bad := range []string{`{"A":12}`, `{"A":"soon"}`, `{"A":true}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Fatalf("%s: no error", bad)
		}
	}
	b, err := json.Marshal(Time{time.Date(2025, 1, 15, 11, 30, 0, 5, time.FixedZone("", 3600))})
	if err != nil || string(b) != `"2025-01-15T10:30:00.000000005Z"` {
		t.Fatalf("%s %v", b, err)
	}
	var back Time
	if err := json.Unmarshal(b, &back); err != nil || back.Nanosecond() != 5 {
		t.Fatalf("round trip %v %v", back, err)
	}
}

func TestFormatMinute(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2025, 1, 15, 10, 30, 59, 999999999, time.UTC), "2025-01-15T10:30"},
		{time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC), "2025-01-15T10:30"},
		{time.Date(2025, 1, 15, 0, 0, 30, 0, time.FixedZone("", 3600)), "2025-01-14T23:00"},
		{time.Date(2025, 1, 15, 10, 30, 1, 0, time.FixedZone("", -90*60)), "2025-01-15T12:00"},
	}
	for _, tt := range tests {
		if got := FormatMinute(tt.in); got != tt.want {
			t.Errorf("FormatMinute(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLegalContentType(t *testing.T) {
	tests := map[string]LegalContentType{
		`6`: TariffTerms, `"6"`: TariffTerms, `"TariffTerms"`: TariffTerms, `1`: GeneralTerms, `4`: PrivacyPolicy,
		`0`: "", `null`: "", `""`: "", `99`: "99", `"Custom"`: "Custom", `-1`: "-1",
	}
	for in, want := range tests {
		var got LegalContentType
		if err := json.Unmarshal([]byte(in), &got); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`true`, `1.5`, `{}`} {
		var got LegalContentType
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestFileNullsDecodeEmpty(t *testing.T) {
	var f File
	in := `{"Id":1,"BusinessName":null,"Name":"","Description":null,"FileDataFileName":null,"UpdatedOn":null,"Signed":null,"BusinessId":null}`
	if err := json.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	if f.ID != 1 || f.BusinessName != "" || f.Description != "" || !f.UpdatedOn.IsZero() || f.Signed {
		t.Fatalf("%+v", f)
	}
}
