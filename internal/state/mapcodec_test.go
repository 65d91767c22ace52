package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestMappingBinaryRoundTrip(t *testing.T) {
	full := mapping(42, "cd-42")
	full.UpdatedOn = time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.UTC)
	full.SyncedAt = time.Date(2024, 3, 1, 10, 1, 2, 0, time.UTC)
	full.Title = "Zoë Ångström – Contrat de location"
	cases := map[string]Mapping{
		"full":       full,
		"zero times": {NexudusID: 7, CoreDataID: "cd-7"},
		"only id":    {NexudusID: 1<<62 + 5, CoreDataID: "x", Size: -1},
		"old times": {NexudusID: 9, CoreDataID: "cd-9",
			UpdatedOn: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), SyncedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		"before 1970": {NexudusID: 3, CoreDataID: "cd-3", UpdatedOn: time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC)},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			data := encodeMapping(&m)
			if data[0] == '{' {
				t.Fatalf("binary form starts with '{'")
			}
			got, err := decodeMapping(m.NexudusID, data)
			if err != nil {
				t.Fatal(err)
			}
			if got != m {
				t.Errorf("decoded %+v\nwant    %+v", got, m)
			}
			// The JSON of `state ls -json` must not see a difference.
			if !equalJSON(t, got, m) {
				t.Errorf("JSON of the decoded mapping differs")
			}
		})
	}
}

// A binary mapping is a third smaller than its JSON.
func TestMappingBinaryIsSmaller(t *testing.T) {
	m := mapping(123456, "8a1c2a1e-9f7b-11ee-8c90-0242ac120002")
	m.UpdatedOn, m.SyncedAt = m.UpdatedOn.UTC(), m.SyncedAt.UTC()
	js, _ := json.Marshal(m)
	bin := encodeMapping(&m)
	if len(bin) > len(js)*2/3 {
		t.Errorf("binary %d bytes, JSON %d", len(bin), len(js))
	}
}

// Files written by schema 0 and 1 hold JSON mappings: they read as they
// are (also by a read-only open, which cannot migrate), and a mapping
// written again is written in the binary form.
func TestJSONMappingsOfSchema1StillRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	old := []Mapping{mapping(1, "cd-1"), mapping(2, "cd-2")}
	rawDB(t, path, func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		for _, m := range old {
			if err := putJSON(tx.Bucket(bucketFiles), idKey(m.NexudusID), m); err != nil {
				return err
			}
			if err := putJSON(tx.Bucket(bucketOwners), []byte(m.CoreDataID), m.NexudusID); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bucketMeta), keySchema, 1)
	})
	check := func(s *Store) {
		t.Helper()
		for _, want := range old {
			got, ok, err := s.Mapping(want.NexudusID)
			if err != nil || !ok || !got.UpdatedOn.Equal(want.UpdatedOn) || got.Title != want.Title || got.CoreDataID != want.CoreDataID {
				t.Errorf("Mapping(%d) = %+v, %v, %v", want.NexudusID, got, ok, err)
			}
		}
	}
	ro := openTest(t, path, Options{ReadOnly: true})
	check(ro)
	if v, _ := ro.SchemaVersion(); v != 1 {
		t.Errorf("a read-only open changed the schema to %d", v)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTest(t, path, Options{})
	check(s)
	if v, _ := s.SchemaVersion(); v != CurrentSchemaVersion() {
		t.Errorf("schema %d after a read-write open", v)
	}
	m := mapping(1, "cd-1")
	m.Title = "New title"
	mustPut(t, s, m)
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketFiles).Get(idKey(1)); v[0] != mappingV1 {
			t.Errorf("mapping 1 rewritten as %q", v)
		}
		if v := tx.Bucket(bucketFiles).Get(idKey(2)); v[0] != '{' {
			t.Errorf("mapping 2, not written, changed to %q", v)
		}
		return nil
	})
	if got, _, _ := s.Mapping(1); got.Title != "New title" {
		t.Errorf("Mapping(1).Title = %q", got.Title)
	}
	check2, err := s.Mappings()
	if err != nil || len(check2) != 2 {
		t.Errorf("Mappings() = %d, %v", len(check2), err)
	}
}

func TestCorruptBinaryMappingNamesTheRecord(t *testing.T) {
	good := encodeMapping(&Mapping{NexudusID: 42, CoreDataID: "cd-42", Title: "T", UpdatedOn: time.Unix(1700000000, 5).UTC()})
	cases := map[string][]byte{
		"empty":            {},
		"unknown version":  append([]byte{9}, good[1:]...),
		"truncated":        good[:len(good)-1],
		"cut in a varint":  good[:3],
		"trailing bytes":   append(append([]byte{}, good...), 'x'),
		"other id":         encodeMapping(&Mapping{NexudusID: 43, CoreDataID: "cd-43"}),
		"no coredata id":   encodeMapping(&Mapping{NexudusID: 42}),
		"huge length":      {mappingV1, 84, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"nanos over 1e9":   {mappingV1, 84, 0, 2, 0x80, 0x94, 0xeb, 0xdc, 0x03},
		"year 10000":       append(append([]byte{mappingV1, 84, 0}, appendTime(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))...), 0, 0, 5, 0, 0, 0, 0, 0, 'c', 'd', '-', '4', '2'),
		"overflowing time": {mappingV1, 84, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0},
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := decodeMapping(42, data)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Kind != "mapping" || ce.Key != "42" || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want a CorruptError of mapping 42", err)
			}
			if !strings.Contains(err.Error(), "mapping 42:") {
				t.Errorf("err = %q does not name mapping 42", err)
			}
			if m != (Mapping{}) {
				t.Errorf("error with a mapping %+v", m)
			}
		})
	}

	// Through the store too: read, listed, forgotten, overwritten.
	s := newStore(t)
	mustPut(t, s, mapping(1, "cd-1"))
	corruptRecord(t, s, bucketFiles, 1, string(good[:5]))
	if _, _, err := s.Mapping(1); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "mapping 1:") {
		t.Errorf("Mapping(1) err = %v", err)
	}
	if _, err := s.Entries(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Entries() err = %v", err)
	}
	mustPut(t, s, mapping(1, "cd-1b"))
	if owner, ok, _ := s.Owner("cd-1"); ok {
		t.Errorf("the corrupt record's owner entry survived: %d", owner)
	}
}

func TestPutMappingRefusesTimesJSONCannotWrite(t *testing.T) {
	s := newStore(t)
	m := mapping(1, "cd-1")
	m.SyncedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.PutMapping(m); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutMapping(year 10000) = %v, want ErrInvalid", err)
	}
}

// FuzzDecodeMappingBinary: the binary decoder parses bytes from a file on
// disk; whatever they are, it gives a mapping that encodes back to the
// same mapping (and that PutMapping would have written, for a key that
// PutMapping can write), or an error naming the record; never a panic.
func FuzzDecodeMappingBinary(f *testing.F) {
	m := mapping(42, "cd-42")
	checkMapping(&m)
	f.Add(int64(42), encodeMapping(&m))
	f.Add(int64(7), encodeMapping(&Mapping{NexudusID: 7, CoreDataID: "c"}))
	f.Add(int64(42), []byte{mappingV1})
	f.Add(int64(42), []byte{mappingV1, 84, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0})
	f.Fuzz(func(t *testing.T, id int64, data []byte) {
		if len(data) > 0 && data[0] == '{' {
			return // FuzzDecodeMapping's part
		}
		m, err := decodeMapping(id, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("mapping %d:", id)) {
				t.Fatalf("err = %q, want ErrCorrupt naming mapping %d", err, id)
			}
			if m != (Mapping{}) {
				t.Fatalf("error with a non-zero mapping %+v", m)
			}
			return
		}
		if m.NexudusID != id || m.CoreDataID == "" {
			t.Fatalf("decoded %+v for id %d", m, id)
		}
		n := m
		if err := checkMapping(&n); err != nil && id > 0 {
			t.Fatalf("decoded a mapping PutMapping refuses: %v", err)
		}
		again, err := decodeMapping(id, encodeMapping(&m))
		if err != nil || again != m {
			t.Fatalf("re-encoded %+v decodes to %+v, %v", m, again, err)
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("decoded a mapping `state ls -json` cannot print: %v", err)
		}
	})
}
