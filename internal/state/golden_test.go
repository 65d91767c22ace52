package state

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testdata/schema2.bbolt is a state file written at schema 2 by syncd as of
// commit ee35c46 (PutMapping, PutIntent, RecordFailure, SetCursor; the
// mapping of 42 put as the JSON of schema 1, which a file upgraded from
// schema 1 still holds). It is never regenerated: it is what upgraded
// installations have on disk, and every later syncd must read it and
// migrate it. Its records are these:

// goldenMappings are its mappings, in id order.
func goldenMappings() []Mapping {
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	old := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	return []Mapping{
		// JSON, as schema 1 wrote it.
		{NexudusID: 42, CoreDataID: "e139e880-7368-11ee-b992-4bf81dd1b7a5", MD5: "d41d8cd98f00b204e9800998ecf8427e", Size: 5,
			UpdatedOn: old, SnapshotID: "e139e880-7368-11ee-b992-4bf81dd1b7a6", Title: "Old", Parent: "313ae0be-71cf-11ee-b1e9-ebd554949e29",
			Filename: "old.pdf", SyncedAt: old.Add(time.Hour)},
		// The binary form of schema 2 from here on.
		{NexudusID: 1000001, CoreDataID: "389a5280-8efc-11e6-a6e0-2f4ee7e36368", MD5: "9e107d9d372bb6826bd81d3542a419d6", Size: 180000,
			UpdatedOn: at.Add(123456789 * time.Nanosecond), SnapshotID: "2bb8dd8a-8ef6-11e6-89e1-03c0dbcab4b1", Title: "Member 17 - Contract 1234",
			Parent: "313ae0be-71cf-11ee-b1e9-ebd554949e29", Filename: "contract-1234-signed.pdf", SyncedAt: at.Add(90*time.Second + 5*time.Millisecond)},
		// Adopted by `state rebuild`: no UpdatedOn, no SyncedAt.
		{NexudusID: 1000002, CoreDataID: "cb2ce4ce-7422-11ee-91ce-3be7d5677268", MD5: "e4d909c290d0fb1ca068ffaddf22cbd0", Size: 1,
			SnapshotID: "e139e880-7368-11ee-b992-4bf81dd1b7a4", Title: "Zoë Ångström – Contrat de location", Parent: "313ae0be-71cf-11ee-b1e9-ebd554949e29", Filename: "contrat.pdf"},
		// Ids of other forms than CoreData's.
		{NexudusID: 1000003, CoreDataID: "389A5280-8EFC-11E6-A6E0-2F4EE7E36368", MD5: "9E107D9D372BB6826BD81D3542A419D6", Size: 0,
			UpdatedOn: at, SnapshotID: "snap-1", Title: "", Parent: "", Filename: "", SyncedAt: at},
		{NexudusID: 1000004, CoreDataID: "cd-4", MD5: "", Size: -1, SnapshotID: "", Title: "T", Parent: "parent-1", Filename: "f.pdf",
			UpdatedOn: time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC), SyncedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	}
}

// openGolden opens a copy of testdata/schema2.bbolt.
func openGolden(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "schema2.bbolt"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return openTest(t, path, opts), path
}

// checkGolden asserts that s holds the records of testdata/schema2.bbolt.
func checkGolden(t *testing.T, s *Store) {
	t.Helper()
	want := goldenMappings()
	got, err := s.Mappings()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d mappings, want %d", len(got), len(want))
	}
	for i, w := range want {
		if !equalJSON(t, got[i], w) || !got[i].UpdatedOn.Equal(w.UpdatedOn) || !got[i].SyncedAt.Equal(w.SyncedAt) {
			t.Errorf("mapping %d = %+v\nwant %+v", w.NexudusID, got[i], w)
		}
		if m, ok, err := s.Mapping(w.NexudusID); err != nil || !ok || !equalJSON(t, m, w) {
			t.Errorf("Mapping(%d) = %+v, %v, %v", w.NexudusID, m, ok, err)
		}
		if owner, ok, err := s.Owner(w.CoreDataID); err != nil || !ok || owner != w.NexudusID {
			t.Errorf("Owner(%s) = %d, %v, %v; want %d", w.CoreDataID, owner, ok, err, w.NexudusID)
		}
	}
	// A UUID in another case is another id, owned by nobody here.
	if owner, ok, err := s.Owner("CB2CE4CE-7422-11EE-91CE-3BE7D5677268"); ok || err != nil {
		t.Errorf("Owner of an upper-case id = %d, %v, %v", owner, ok, err)
	}
	at := time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)
	if in, ok, err := s.Intent(1000010); err != nil || !ok || in.Title != "Pending" || !in.StartedAt.Equal(at.Add(time.Second)) {
		t.Errorf("Intent(1000010) = %+v, %v, %v", in, ok, err)
	}
	if f, ok, err := s.Failure(1000011); err != nil || !ok || f.Parked || f.Attempts != 1 || f.LastError != "boom" {
		t.Errorf("Failure(1000011) = %+v, %v, %v", f, ok, err)
	}
	if f, ok, err := s.Failure(1000012); err != nil || !ok || !f.Parked {
		t.Errorf("Failure(1000012) = %+v, %v, %v; want parked", f, ok, err)
	}
	if c, ok, err := s.Cursor("files"); err != nil || !ok || !c.Equal(at) {
		t.Errorf("Cursor(files) = %v, %v, %v", c, ok, err)
	}
}

// A read-only open cannot migrate: it reads a schema 2 file as it is.
func TestGoldenSchema2ReadsReadOnly(t *testing.T) {
	s, _ := openGolden(t, Options{ReadOnly: true})
	if v, err := s.SchemaVersion(); err != nil || v != 2 {
		t.Fatalf("SchemaVersion() = %d, %v; want 2", v, err)
	}
	checkGolden(t, s)
	if err := s.PutMapping(goldenMappings()[0]); err == nil {
		t.Error("PutMapping on a read-only open succeeded")
	}
}

// A read-write open migrates the file to schema 3: every mapping in the
// current binary form, every UUID's owner entry in owner_uuids, the rest
// as it was, and nothing read differently.
func TestGoldenSchema2Migrates(t *testing.T) {
	s, path := openGolden(t, Options{})
	if v, err := s.SchemaVersion(); err != nil || v != CurrentSchemaVersion() {
		t.Fatalf("SchemaVersion() = %d, %v; want %d", v, err, CurrentSchemaVersion())
	}
	checkGolden(t, s)
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
			if v[0] != mappingV2 {
				t.Errorf("mapping %x left in the form %q", k, v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := rawKeys(t, s, bucketOwners); !slices.Equal(got, []string{"389A5280-8EFC-11E6-A6E0-2F4EE7E36368", "cd-4"}) {
		t.Errorf("owners holds %q; want only the ids that are not canonical UUIDs", got)
	}
	if got := rawKeys(t, s, bucketOwnerUUIDs); len(got) != 3 {
		t.Errorf("owner_uuids holds %d entries, want 3", len(got))
	}

	// ErrOwned as before, for either kind of id.
	for _, cd := range []string{"389a5280-8efc-11e6-a6e0-2f4ee7e36368", "389A5280-8EFC-11E6-A6E0-2F4EE7E36368", "cd-4"} {
		if err := s.PutMapping(mapping(7, cd)); !errors.Is(err, ErrOwned) {
			t.Errorf("PutMapping(7, %s) = %v, want ErrOwned", cd, err)
		}
	}
	if err := s.Forget(1000001); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, mapping(7, "389a5280-8efc-11e6-a6e0-2f4ee7e36368"))
	if owner, _, _ := s.Owner("389a5280-8efc-11e6-a6e0-2f4ee7e36368"); owner != 7 {
		t.Errorf("a forgotten file's CoreData id went to %d, want 7", owner)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Migrated once: a read-only open reads the new form.
	ro := openTest(t, path, Options{ReadOnly: true})
	if v, _ := ro.SchemaVersion(); v != CurrentSchemaVersion() {
		t.Errorf("schema %d after reopening", v)
	}
	if m, ok, err := ro.Mapping(1000002); err != nil || !ok || !equalJSON(t, m, goldenMappings()[2]) {
		t.Errorf("Mapping(1000002) = %+v, %v, %v", m, ok, err)
	}
}

func rawKeys(t *testing.T, s *Store, bucket []byte) []string {
	t.Helper()
	var keys []string
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
