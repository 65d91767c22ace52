package nexudus

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"
)

// Seeds live in testdata/fuzz/<FuzzName>/ (the document's example record,
// a recorded page, odd times, non-JSON bodies).

func FuzzDecodeListPage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeListPage(200, "application/json", body)
		// The one-pass decode and the record-by-record one give the same
		// page, or the same error.
		slow, slowErr := decodeListPageByRecord(200, "application/json", body)
		if (err == nil) != (slowErr == nil) || (err != nil && err.Error() != slowErr.Error()) {
			t.Fatalf("one pass: %v; by record: %v", err, slowErr)
		}
		if err == nil && !samePage(p, slow) {
			t.Fatalf("one pass and by record differ:\n%+v\n%+v", p, slow)
		}
		if err != nil {
			if p != nil {
				t.Fatal("page and error")
			}
			return
		}
		if p.Unsigned < 0 {
			t.Fatalf("Unsigned %d", p.Unsigned)
		}
		for _, r := range p.Records {
			if !r.Signed {
				t.Fatalf("unsigned record %d kept", r.ID)
			}
		}
		// What was decoded encodes and decodes to the same records.
		b1, err := json.Marshal(p.Records)
		if err != nil {
			t.Fatal(err)
		}
		var again []File
		if err := json.Unmarshal(b1, &again); err != nil {
			t.Fatalf("re-decode %s: %v", b1, err)
		}
		b2, _ := json.Marshal(again)
		if !bytes.Equal(b1, b2) {
			t.Fatalf("round trip\n%s\n%s", b1, b2)
		}
	})
}

// samePage compares two decoded pages, errors of bad records by text.
func samePage(a, b *Page) bool {
	if len(a.Bad) != len(b.Bad) {
		return false
	}
	for i := range a.Bad {
		if a.Bad[i].ID != b.Bad[i].ID || a.Bad[i].Err.Error() != b.Bad[i].Err.Error() {
			return false
		}
	}
	x, y := *a, *b
	x.Bad, y.Bad = nil, nil
	return reflect.DeepEqual(x, y)
}

func FuzzParseTime(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			if n := utf8.RuneCountInString(err.Error()); n > 80 {
				t.Fatalf("error too long: %d runes", n)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("%q: location %v", s, tm.Location())
		}
		again, err := ParseTime(tm.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(tm) {
			t.Fatalf("%q: %v does not round-trip: %v %v", s, tm, again, err)
		}
		m, err := ParseTime(FormatMinute(tm))
		if err != nil || !m.Equal(tm.Truncate(time.Minute)) || m.After(tm) {
			t.Fatalf("%q: FormatMinute(%v) reads back as %v, %v", s, tm, m, err)
		}
	})
}
