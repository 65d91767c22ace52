package legal_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coworkdocs/syncd/internal/legal"
)

// The range of Unix seconds RFC 3339 can write: years 1 to 9999.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

// FuzzParseRegister: whatever the bytes, ParseRegister does not panic, and
// a register it reads is exactly what Register writes for its rows.
func FuzzParseRegister(f *testing.F) {
	f.Add(legal.Register(goldenRows()))
	f.Add(legal.Register(nil))
	f.Add([]byte(""))
	f.Add([]byte("\xef\xbb\xbfId\r\n"))
	f.Add([]byte(strings.Join(legal.Header, ",") + "\n1,u,2024-01-02T03:04:05Z,8,7,GeneralTerms,n,,,,\n"))
	f.Add([]byte(strings.Join(legal.Header, ",") + "\r\n1,u,2024-01-02T03:04:05Z,8,7,GeneralTerms,\"a\"\"b\r\nc\",,,,\r\n"))
	f.Add([]byte(strings.Join(legal.Header, ",") + "\r\n1,u,2024-01-02T03:04:05.5Z,8,7,GeneralTerms,\"unclosed,,,,\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := legal.ParseRegister(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "legal: register line ") {
				t.Fatalf("error does not name the line: %v", err)
			}
			return
		}
		if again := legal.Register(rows); !bytes.Equal(again, b) {
			t.Fatalf("ParseRegister accepted bytes Register does not write:\n in  %q\n out %q", b, again)
		}
	})
}

func validUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// FuzzRegisterRoundTrip: rows of any content survive Register and
// ParseRegister (strings as valid UTF-8), in any order.
func FuzzRegisterRoundTrip(f *testing.F) {
	f.Add(int64(1), int64(2), "General terms", "a1b2", "GeneralTerms", int64(1709631000), int64(0), true, "f-1", "")
	f.Add(int64(2), int64(2), `a "quoted", name`+"\r\n", "", "7", int64(0), int64(250_000_000), false, "", "t")
	f.Add(int64(-9), int64(9), "\xff\x00\u202e", "\n", "\r", int64(minUnix), int64(999_999_999), true, ",", `"`)
	f.Fuzz(func(t *testing.T, id1, id2 int64, name, uid, ctype string, sec, nsec int64, known bool, coredata, tariff string) {
		if sec < minUnix || sec > maxUnix {
			sec = minUnix + (sec%(maxUnix-minUnix)+(maxUnix-minUnix))%(maxUnix-minUnix)
		}
		if nsec < 0 || nsec > 999_999_999 {
			nsec = (nsec%1_000_000_000 + 1_000_000_000) % 1_000_000_000
		}
		created := time.Unix(sec, nsec).In(time.FixedZone("", int(sec%50400)))
		hash := ""
		if known {
			hash = legal.SHA256Hex([]byte(name))
		}
		rows := []legal.Row{
			{ID: id1, UniqueID: uid, CreatedOn: created, CoworkerID: id2, BusinessID: id1 ^ id2, LegalContentType: ctype, Name: name,
				TariffUniqueID: tariff, TextUniqueID: uid + name, TextSHA256: hash, TextCoreDataID: coredata},
			{ID: id2, UniqueID: tariff, CreatedOn: created.Add(time.Duration(nsec)), Name: coredata + name, TextSHA256: hash},
			{ID: id1 + 1, Name: ctype},
		}
		b := legal.Register(rows)
		if !utf8.Valid(b) || bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
			t.Fatalf("register is not UTF-8 without BOM: %q", b)
		}
		got, err := legal.ParseRegister(b)
		if err != nil {
			t.Fatalf("ParseRegister(Register(rows)): %v\n%q", err, b)
		}
		want := make([]legal.Row, len(rows))
		for i, r := range rows {
			r.UniqueID, r.LegalContentType, r.Name = validUTF8(r.UniqueID), validUTF8(r.LegalContentType), validUTF8(r.Name)
			r.TariffUniqueID, r.TextUniqueID, r.TextCoreDataID = validUTF8(r.TariffUniqueID), validUTF8(r.TextUniqueID), validUTF8(r.TextCoreDataID)
			want[i] = r
		}
		if w := wantRows(want); !equalRows(got, w) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, w)
		}
		reversed := []legal.Row{rows[2], rows[1], rows[0]}
		if id1 != id2 && id1+1 != id2 && !bytes.Equal(legal.Register(reversed), b) {
			t.Fatal("order of distinct rows changes the bytes")
		}
	})
}

func FuzzTextTag(f *testing.F) {
	for _, s := range []string{legal.TextTag("a1b2c3d4-e5f6-7890-abcd-ef1234567890"), "nexudus-legal-text-", "nexudus-legal-text-a,b", "nexudus-file-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		id, ok := legal.ParseTextTag(tag)
		if !ok {
			if id != "" {
				t.Fatalf("ParseTextTag(%q) = %q without ok", tag, id)
			}
			return
		}
		if id == "" || legal.TextTag(id) != tag || strings.ContainsAny(id, ", \t\r\n/\\") || !utf8.ValidString(id) {
			t.Fatalf("ParseTextTag(%q) = %q", tag, id)
		}
	})
}

func FuzzRegisterTag(f *testing.F) {
	for _, s := range []string{legal.RegisterTag(12, "2024-03"), "nexudus-legal-register-x-2024-01", "nexudus-legal-register-1-2024-13",
		"nexudus-legal-register--1-2024-01", "nexudus-legal-register-01-2024-01", "nexudus-legal-register-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		business, month, ok := legal.ParseRegisterTag(tag)
		if !ok {
			if business != 0 || month != "" {
				t.Fatalf("ParseRegisterTag(%q) = %d %q without ok", tag, business, month)
			}
			return
		}
		if business <= 0 || legal.RegisterTag(business, month) != tag {
			t.Fatalf("ParseRegisterTag(%q) = %d %q", tag, business, month)
		}
		if _, err := legal.ParseMonth(month); err != nil {
			t.Fatalf("ParseRegisterTag(%q) month: %v", tag, err)
		}
	})
}

func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2024-01", "2024-13", "0000-01", "9999-12", "2024-1", "+024-01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := legal.ParseMonth(s)
		if err != nil {
			return
		}
		if legal.Month(m) != s || m.Day() != 1 || m.Hour() != 0 || m.Location() != time.UTC {
			t.Fatalf("ParseMonth(%q) = %v", s, m)
		}
	})
}

// FuzzMonth: the month of any time is one ParseMonth accepts, and the same
// in every zone.
func FuzzMonth(f *testing.F) {
	f.Add(int64(1706743800), 3600)
	f.Add(int64(minUnix), -43200)
	f.Fuzz(func(t *testing.T, sec int64, offset int) {
		if sec < minUnix || sec > maxUnix {
			return
		}
		tm := time.Unix(sec, 0).UTC()
		m := legal.Month(tm)
		if _, err := legal.ParseMonth(m); err != nil {
			t.Fatalf("Month(%v) = %q: %v", tm, m, err)
		}
		if got := legal.Month(tm.In(time.FixedZone("", offset%100000))); got != m {
			t.Fatalf("Month depends on the zone: %s vs %s", got, m)
		}
	})
}

// FuzzTextFilename: any name and UniqueId make a safe, deterministic name.
func FuzzTextFilename(f *testing.F) {
	f.Add("General terms", "a1b2")
	f.Add("../../etc/passwd", "..")
	f.Add("\u202e\x00", strings.Repeat("x", 300))
	f.Fuzz(func(t *testing.T, name, uid string) {
		tf := legal.TextFields{Name: name, UniqueId: uid}
		got := legal.TextFilename(tf)
		checkSafeName(t, got)
		if !strings.HasSuffix(got, ".md") || legal.TextFilename(tf) != got {
			t.Fatalf("TextFilename(%q, %q) = %q", name, uid, got)
		}
	})
}
