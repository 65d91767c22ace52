package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// roundTripMappings are mappings of every shape the binary forms must
// give back exactly: packed ids, ids of other forms that look close, and
// times of every precision and era.
func roundTripMappings() map[string]Mapping {
	full := mapping(42, "cd-42")
	full.UpdatedOn = time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.UTC)
	full.SyncedAt = time.Date(2024, 3, 1, 10, 1, 2, 0, time.UTC)
	full.Title = "Zoë Ångström – Contrat de location"
	const u = "389a5280-8efc-11e6-a6e0-2f4ee7e36368"
	packed := Mapping{NexudusID: 1000001, CoreDataID: u, MD5: "9e107d9d372bb6826bd81d3542a419d6", Size: 180000,
		UpdatedOn: time.Date(2024, 3, 1, 10, 0, 0, 5e6, time.UTC), SnapshotID: "2bb8dd8a-8ef6-11e6-89e1-03c0dbcab4b1",
		Title: "Member 17 - Contract 1234", Parent: "313ae0be-71cf-11ee-b1e9-ebd554949e29", Filename: "contract-1234-signed.pdf",
		SyncedAt: time.Date(2024, 3, 1, 10, 1, 2, 3000, time.UTC)}
	almost := packed
	almost.CoreDataID = strings.ToUpper(u)                                // upper case unpacks otherwise
	almost.MD5 = "9e107d9d372bb6826bd81d3542a419dG"                       // not hex
	almost.SnapshotID = "{" + u[1:35] + "}"                               // braces
	almost.Parent = u[:8] + "_" + u[9:]                                   // a hyphen replaced
	almost.Title, almost.Filename = u, "9e107d9d372bb6826bd81d3542a419d6" // packable forms in fields never packed
	mixed := packed
	mixed.MD5 = ""                 // unknown digest
	mixed.SnapshotID = "0" + u[1:] // packed, a different one
	mixed.Parent = u + " "         // 37 bytes
	return map[string]Mapping{
		"full":       full,
		"zero times": {NexudusID: 7, CoreDataID: "cd-7"},
		"only id":    {NexudusID: 1<<62 + 5, CoreDataID: "x", Size: -1},
		"old times": {NexudusID: 9, CoreDataID: "cd-9",
			UpdatedOn: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), SyncedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		"year 0":             {NexudusID: 8, CoreDataID: "cd-8", UpdatedOn: time.Date(0, 1, 1, 0, 0, 0, 1000, time.UTC)},
		"before 1970":        {NexudusID: 3, CoreDataID: "cd-3", UpdatedOn: time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC)},
		"milliseconds":       {NexudusID: 4, CoreDataID: "cd-4", UpdatedOn: time.Unix(1700000000, 999e6).UTC(), SyncedAt: time.Unix(1700000000, 1e6).UTC()},
		"microseconds":       {NexudusID: 5, CoreDataID: "cd-5", UpdatedOn: time.Unix(1700000000, 999999e3).UTC(), SyncedAt: time.Unix(-1, 1e3).UTC()},
		"packed":             packed,
		"almost packable":    almost,
		"mixed":              mixed,
		"only the packed id": {NexudusID: 6, CoreDataID: u},
	}
}

func TestMappingBinaryRoundTrip(t *testing.T) {
	for name, m := range roundTripMappings() {
		t.Run(name, func(t *testing.T) {
			for form, data := range map[string][]byte{"current": encodeMapping(&m), "schema 2": encodeMappingV1(&m)} {
				if data[0] == '{' {
					t.Fatalf("%s: binary form starts with '{'", form)
				}
				got, err := decodeMapping(m.NexudusID, data)
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if got != m {
					t.Errorf("%s: decoded %+v\nwant    %+v", form, got, m)
				}
				// The JSON of `state ls -json` must not see a difference.
				if !equalJSON(t, got, m) {
					t.Errorf("%s: JSON of the decoded mapping differs", form)
				}
			}
		})
	}
}

// Ids in the canonical form take 16 bytes, a digest 16, a time of
// Nexudus (milliseconds) 7, a zero time none; anything else is kept as
// it is.
func TestMappingBinaryPacks(t *testing.T) {
	ms := roundTripMappings()
	cases := []struct {
		name  string
		flags byte
		len   int
	}{
		{"packed", flagPackedCoreDataID | flagPackedMD5 | flagPackedSnapshotID | flagPackedParent | flagHasUpdatedOn | flagHasSyncedAt,
			// version, flags, size (3), UpdatedOn and SyncedAt (5 + 1
			// each: 5 ms, 3 µs), 2 lengths, 4×16, title, filename
			2 + 3 + 6 + 6 + 2 + 4*16 + len("Member 17 - Contract 1234") + len("contract-1234-signed.pdf")},
		{"almost packable", flagHasUpdatedOn | flagHasSyncedAt, -1},
		{"mixed", flagPackedCoreDataID | flagPackedSnapshotID | flagHasUpdatedOn | flagHasSyncedAt, -1},
		{"zero times", 0, 2 + 1 + 6 + len("cd-7")},
		{"only the packed id", flagPackedCoreDataID, 2 + 1 + 5 + 16},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := ms[c.name]
			data := encodeMapping(&m)
			if data[0] != mappingV2 || data[1] != c.flags {
				t.Errorf("version %d, flags %#b; want %d, %#b", data[0], data[1], mappingV2, c.flags)
			}
			if c.len >= 0 && len(data) != c.len {
				t.Errorf("%d bytes, want %d", len(data), c.len)
			}
		})
	}
}

// A realistic mapping takes well under half its JSON, and under two
// thirds of schema 2's binary form.
func TestMappingBinaryIsSmaller(t *testing.T) {
	m := realisticMapping(7, true)
	js, _ := json.Marshal(m)
	v1, bin := encodeMappingV1(&m), encodeMapping(&m)
	if len(bin) > len(js)*2/5 || len(bin) > len(v1)*2/3 {
		t.Errorf("binary %d bytes, schema 2's %d, JSON %d", len(bin), len(v1), len(js))
	}
}

// Files written by schema 0 and 1 hold JSON mappings: they read as they
// are (also by a read-only open, which cannot migrate), and a read-write
// open rewrites them all in the binary form (migrateV2).
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
	_ = s.db.View(func(tx *bolt.Tx) error {
		for _, m := range old {
			if v := tx.Bucket(bucketFiles).Get(idKey(m.NexudusID)); v[0] != mappingV2 {
				t.Errorf("mapping %d left as %q", m.NexudusID, v)
			}
		}
		return nil
	})
	m := mapping(1, "cd-1")
	m.Title = "New title"
	mustPut(t, s, m)
	if got, _, _ := s.Mapping(1); got.Title != "New title" {
		t.Errorf("Mapping(1).Title = %q", got.Title)
	}
	check2, err := s.Mappings()
	if err != nil || len(check2) != 2 {
		t.Errorf("Mappings() = %d, %v", len(check2), err)
	}
}

func TestCorruptBinaryMappingNamesTheRecord(t *testing.T) {
	m42 := Mapping{NexudusID: 42, CoreDataID: "cd-42", Title: "T", UpdatedOn: time.Unix(1700000000, 5).UTC()}
	good, goodV1 := encodeMapping(&m42), encodeMappingV1(&m42)
	y10000 := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	packed := Mapping{NexudusID: 42, CoreDataID: "389a5280-8efc-11e6-a6e0-2f4ee7e36368"}
	cases := map[string][]byte{
		"empty":                      {},
		"unknown version":            append([]byte{9}, good[1:]...),
		"only a version":             {mappingV2},
		"unknown flag":               {mappingV2, 1 << 6, 0, 0, 0, 0, 0, 0, 0},
		"truncated":                  good[:len(good)-1],
		"cut in a varint":            good[:4],
		"trailing bytes":             append(append([]byte{}, good...), 'x'),
		"no coredata id":             encodeMapping(&Mapping{NexudusID: 42}),
		"packed id cut":              encodeMapping(&packed)[:10],
		"huge length":                {mappingV2, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"whole seconds with a count": {mappingV2, flagHasUpdatedOn, 0, 2, 1 << 2, 5, 0, 0, 0, 0, 0, 'c', 'd', '-', '4', '2'},
		"1000 milliseconds":          append(append([]byte{mappingV2, flagHasUpdatedOn, 0, 2}, binary.AppendUvarint(nil, 1000<<2|subMilli)...), 5, 0, 0, 0, 0, 0, 'c', 'd', '-', '4', '2'),
		"1e9 nanoseconds":            append(append([]byte{mappingV2, flagHasUpdatedOn, 0, 2}, binary.AppendUvarint(nil, 1e9<<2|subNano)...), 5, 0, 0, 0, 0, 0, 'c', 'd', '-', '4', '2'),
		"year 10000":                 append(append([]byte{mappingV2, flagHasSyncedAt, 0}, appendCompactTime(nil, y10000)...), 5, 0, 0, 0, 0, 0, 'c', 'd', '-', '4', '2'),
		"overflowing time":           {mappingV2, flagHasUpdatedOn, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0},

		// The form of schema 2, which carries the id.
		"schema 2: truncated":        goodV1[:len(goodV1)-1],
		"schema 2: cut in a varint":  goodV1[:3],
		"schema 2: trailing bytes":   append(append([]byte{}, goodV1...), 'x'),
		"schema 2: other id":         encodeMappingV1(&Mapping{NexudusID: 43, CoreDataID: "cd-43"}),
		"schema 2: no coredata id":   encodeMappingV1(&Mapping{NexudusID: 42}),
		"schema 2: huge length":      {mappingV1, 84, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"schema 2: nanos over 1e9":   {mappingV1, 84, 0, 2, 0x80, 0x94, 0xeb, 0xdc, 0x03},
		"schema 2: year 10000":       append(append([]byte{mappingV1, 84, 0}, appendTimeV1(nil, y10000)...), 0, 0, 5, 0, 0, 0, 0, 0, 'c', 'd', '-', '4', '2'),
		"schema 2: overflowing time": {mappingV1, 84, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0},
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
	f.Add(int64(42), []byte{mappingV2})
	f.Add(int64(42), []byte{mappingV2, flagsKnown, 0})
	for _, m := range roundTripMappings() {
		f.Add(m.NexudusID, encodeMapping(&m))
		f.Add(m.NexudusID, encodeMappingV1(&m))
	}
	r := realisticMapping(3, true)
	f.Add(r.NexudusID, encodeMapping(&r))
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
