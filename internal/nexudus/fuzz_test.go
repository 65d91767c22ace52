package nexudus

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
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

// The acceptance and text pages are decoded record by record: a page is
// an error or a page, never both; no record is lost (each is kept or in
// Bad); a kept record has an Id; a bad record's error names its place and
// is short (no record's content in logs); and what was kept encodes and
// decodes again to the same records.

func FuzzDecodeAcceptancePage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeAcceptancePage(200, "application/json", body)
		if err != nil {
			if p != nil {
				t.Fatal("page and error")
			}
			return
		}
		checkLegalPage(t, body, p.Records, p.Bad, func(a *Acceptance) int64 { return a.ID },
			func(b []byte) ([]Acceptance, []BadRecord, error) {
				p, err := decodeAcceptancePage(200, "application/json", b)
				if err != nil {
					return nil, nil, err
				}
				return p.Records, p.Bad, nil
			})
	})
}

func FuzzDecodeTextPage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeTextPage(200, "application/json", body)
		if err != nil {
			if p != nil {
				t.Fatal("page and error")
			}
			return
		}
		checkLegalPage(t, body, p.Records, p.Bad, func(lt *LegalText) int64 { return lt.ID },
			func(b []byte) ([]LegalText, []BadRecord, error) {
				p, err := decodeTextPage(200, "application/json", b)
				if err != nil {
					return nil, nil, err
				}
				return p.Records, p.Bad, nil
			})
	})
}

func checkLegalPage[T any](t *testing.T, body []byte, records []T, bad []BadRecord, idOf func(*T) int64,
	decode func([]byte) ([]T, []BadRecord, error)) {
	t.Helper()
	var env struct{ Records []json.RawMessage }
	if err := json.Unmarshal(bytes.TrimSpace(body), &env); err != nil {
		t.Fatalf("decoded a page encoding/json refuses: %v", err)
	}
	if len(records)+len(bad) != len(env.Records) {
		t.Fatalf("%d records kept and %d bad of %d", len(records), len(bad), len(env.Records))
	}
	for i := range records {
		if idOf(&records[i]) == 0 {
			t.Fatalf("record %d kept without an Id", i)
		}
	}
	for _, b := range bad {
		msg := b.Err.Error()
		if !strings.HasPrefix(msg, "nexudus: record ") || len(msg) > 400 {
			t.Fatalf("bad record %d: %q", b.ID, msg)
		}
	}
	b1, err := json.Marshal(records)
	if err != nil {
		t.Fatal(err)
	}
	again, againBad, err := decode([]byte(`{"Records":` + string(b1) + `}`))
	if err != nil || len(againBad) != 0 {
		t.Fatalf("re-decode %s: %v %v", b1, err, againBad)
	}
	b2, _ := json.Marshal(again)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("round trip\n%s\n%s", b1, b2)
	}
}
