package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testTimeout keeps lock tests fast; the default is exercised once.
const testTimeout = 100 * time.Millisecond

var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))

func openTest(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = testTimeout
	}
	opts.NoSync = true
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(t *testing.T) *Store {
	t.Helper()
	return openTest(t, filepath.Join(t.TempDir(), "state.db"), Options{})
}

func mapping(id int64, coreDataID string) Mapping {
	return Mapping{
		NexudusID: id, CoreDataID: coreDataID, MD5: "md5-" + coreDataID, Size: 10 * id,
		UpdatedOn: t0, SnapshotID: "snap-" + coreDataID, Title: "Title", Parent: "parent-1",
		Filename: "contract.pdf", SyncedAt: t0.Add(time.Minute),
	}
}

func mustPut(t *testing.T, s *Store, m Mapping) {
	t.Helper()
	if err := s.PutMapping(m); err != nil {
		t.Fatalf("PutMapping(%d): %v", m.NexudusID, err)
	}
}

// rawDB builds a bbolt file by hand, as an older (or newer) syncd would have.
func rawDB(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func rawBuckets(t *testing.T, path string) []string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: testTimeout, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var names []string
	_ = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	return names
}

func TestOpenCreatesPrivateFileAndDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "syncd")
	path := filepath.Join(dir, "state.db")
	s := openTest(t, path, Options{})
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	for _, c := range []struct {
		path string
		want fs.FileMode
	}{{path, 0o600}, {dir, 0o700 | fs.ModeDir}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.want {
			t.Errorf("mode of %s = %v, want %v", c.path, fi.Mode(), c.want)
		}
	}
	if got := rawBucketsOf(t, s); strings.Join(got, ",") != "audit,failures,files,followed,intents,legal_failures,legal_files,legal_index,legal_intents,legal_months,legal_rows,meta,owner_uuids,owners,parked" {
		t.Errorf("buckets = %v", got)
	}
	v, err := s.SchemaVersion()
	if err != nil || v != CurrentSchemaVersion() || v != 3 {
		t.Errorf("SchemaVersion() = %d, %v; want 3", v, err)
	}
}

func rawBucketsOf(t *testing.T, s *Store) []string {
	var names []string
	_ = s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	return names
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	openTest(t, path, Options{})
	cases := []struct {
		name string
		opts Options
	}{
		{"read-write", Options{Timeout: testTimeout}},
		{"read-only", Options{Timeout: testTimeout, ReadOnly: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			s, err := Open(path, c.opts)
			if err == nil {
				s.Close()
				t.Fatal("second Open succeeded while the file is locked")
			}
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("err = %v, want ErrLocked", err)
			}
			want := "state: open " + path + ": locked by another process"
			if err.Error() != want {
				t.Errorf("err = %q, want %q", err, want)
			}
			// Generous: only proves it did not wait forever.
			if d := time.Since(start); d > 50*testTimeout {
				t.Errorf("Open took %v with Timeout %v", d, testTimeout)
			}
		})
	}
}

func TestOpenLockedDefaultTimeoutReturns(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	openTest(t, path, Options{})
	done := make(chan error, 1)
	go func() {
		s, err := Open(path, Options{}) // DefaultTimeout
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("err = %v, want ErrLocked", err)
		}
	case <-time.After(30 * DefaultTimeout):
		t.Fatal("Open with the default timeout hung")
	}
}

func TestOpenReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")

	t.Run("missing file", func(t *testing.T) {
		_, err := Open(path, Options{ReadOnly: true, Timeout: testTimeout})
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want ErrNotExist naming %s", err, path)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("read-only Open created the file")
		}
	})

	rw := openTest(t, path, Options{})
	mustPut(t, rw, mapping(7, "cd-7"))
	if err := rw.SetCursor("all", t0); err != nil {
		t.Fatal(err)
	}
	rw.Close()

	ro1 := openTest(t, path, Options{ReadOnly: true})
	ro2 := openTest(t, path, Options{ReadOnly: true}) // shared lock: both at once
	for i, s := range []*Store{ro1, ro2} {
		if !s.ReadOnly() {
			t.Errorf("store %d: ReadOnly() = false", i)
		}
		m, ok, err := s.Mapping(7)
		if err != nil || !ok || m.CoreDataID != "cd-7" {
			t.Errorf("store %d: Mapping(7) = %+v, %v, %v", i, m, ok, err)
		}
	}
	writes := map[string]func() error{
		"PutMapping": func() error { return ro1.PutMapping(mapping(8, "cd-8")) },
		"PutIntent":  func() error { return ro1.PutIntent(Intent{NexudusID: 8}) },
		"SetCursor":  func() error { return ro1.SetCursor("all", t0) },
		"Forget":     func() error { return ro1.Forget(7) },
		"RecordFailure": func() error {
			_, err := ro1.RecordFailure(7, t0, "x", t0, 3, nil)
			return err
		},
	}
	for name, w := range writes {
		t.Run(name, func(t *testing.T) {
			if err := w(); !errors.Is(err, bolt.ErrDatabaseReadOnly) {
				t.Errorf("err = %v, want ErrDatabaseReadOnly", err)
			}
		})
	}
	if _, err := Open(path, Options{Timeout: testTimeout}); !errors.Is(err, ErrLocked) {
		t.Errorf("read-write Open beside readers: err = %v, want ErrLocked", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a bolt file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		want       error
	}{
		{"empty path", "", ErrInvalid},
		{"not a bolt file", garbage, bolt.ErrInvalid},
		{"parent is a file", filepath.Join(blocker, "state.db"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(c.path, Options{Timeout: testTimeout})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "state: open") || !strings.Contains(err.Error(), c.path) {
				t.Errorf("err = %q, want it to name the path", err)
			}
		})
	}
}

func TestSchemaTooNewIsRefusedUntouched(t *testing.T) {
	for _, readOnly := range []bool{false, true} {
		t.Run(map[bool]string{false: "read-write", true: "read-only"}[readOnly], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			rawDB(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bucketMeta)
				if err != nil {
					return err
				}
				return b.Put(keySchema, []byte(strconv.Itoa(CurrentSchemaVersion()+1)))
			})
			_, err := Open(path, Options{Timeout: testTimeout, ReadOnly: readOnly})
			if !errors.Is(err, ErrSchemaTooNew) {
				t.Fatalf("err = %v, want ErrSchemaTooNew", err)
			}
			// A downgrade: the message says what the operator can do.
			for _, want := range []string{path, fmt.Sprintf("schema %d", CurrentSchemaVersion()+1), fmt.Sprintf("up to %d", CurrentSchemaVersion()),
				"run the newer syncd again", "`syncd state backup` taken before the upgrade", "`syncd state rebuild`"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to contain %q", err, want)
				}
			}
			if got := rawBuckets(t, path); strings.Join(got, ",") != "meta" {
				t.Errorf("buckets after refusal = %v, want only meta", got)
			}
		})
	}
}

func TestSchemaCorrupt(t *testing.T) {
	for _, v := range []string{"x", "-1"} {
		path := filepath.Join(t.TempDir(), "state.db")
		rawDB(t, path, func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			return b.Put(keySchema, []byte(v))
		})
		if _, err := Open(path, Options{Timeout: testTimeout}); !errors.Is(err, ErrCorrupt) {
			t.Errorf("schema %q: err = %v, want ErrCorrupt", v, err)
		}
	}
}

// writeV0 fabricates a file from before the schema key: mappings only.
func writeV0(t *testing.T, path string, ms ...Mapping) {
	rawDB(t, path, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketFiles)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := putJSON(b, idKey(m.NexudusID), m); err != nil {
				return err
			}
		}
		return nil
	})
}

func TestMigrateFromV0(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	writeV0(t, path, mapping(1, "cd-1"), mapping(2, "cd-2"))

	_, err := Open(path, Options{Timeout: testTimeout, ReadOnly: true})
	if !errors.Is(err, ErrSchemaOutdated) {
		t.Fatalf("read-only Open of a v0 file: err = %v, want ErrSchemaOutdated", err)
	}

	s := openTest(t, path, Options{})
	if v, err := s.SchemaVersion(); err != nil || v != CurrentSchemaVersion() {
		t.Fatalf("SchemaVersion() = %d, %v; want %d", v, err, CurrentSchemaVersion())
	}
	for id, cd := range map[int64]string{1: "cd-1", 2: "cd-2"} {
		owner, ok, err := s.Owner(cd)
		if err != nil || !ok || owner != id {
			t.Errorf("Owner(%s) = %d, %v, %v; want %d (owners index rebuilt)", cd, owner, ok, err, id)
		}
	}
	if err := s.PutMapping(mapping(3, "cd-1")); !errors.Is(err, ErrOwned) {
		t.Errorf("PutMapping onto a migrated owner: err = %v, want ErrOwned", err)
	}
}

func TestMigrateFailureLeavesFileUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	// Two Nexudus files claiming one CoreData file cannot be indexed.
	writeV0(t, path, mapping(1, "cd-x"), mapping(2, "cd-x"))
	_, err := Open(path, Options{Timeout: testTimeout})
	if !errors.Is(err, ErrOwned) || !strings.Contains(err.Error(), "migrate schema 0 to 1") {
		t.Fatalf("err = %v, want ErrOwned from the migration", err)
	}
	if got := rawBuckets(t, path); strings.Join(got, ",") != "files" {
		t.Errorf("buckets after failed migration = %v, want only files", got)
	}
}

// A write that cannot reach the disk must fail and leave every previous
// record as it was, in every bucket.
func TestFailedWritesLeaveDataIntact(t *testing.T) {
	readOnlyFD := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		// What a file made read-only under a running process looks like:
		// every write fails with EBADF.
		return os.OpenFile(name, flag&^(os.O_RDWR|os.O_WRONLY|os.O_CREATE), perm)
	}
	cases := []struct {
		name        string
		onlyGrowing bool // deletes may fit in free pages of a full disk
		setup       func(t *testing.T, path string) *Store
	}{
		{"closed store", false, func(t *testing.T, path string) *Store {
			s := openTest(t, path, Options{})
			s.Close()
			return s
		}},
		{"read-only file descriptor", false, func(t *testing.T, path string) *Store {
			return openTest(t, path, Options{openFile: readOnlyFD})
		}},
		{"disk full", true, func(t *testing.T, path string) *Store {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			return openTest(t, path, Options{MaxSize: int(fi.Size())})
		}},
	}
	big := strings.Repeat("x", 1<<20) // forces the file to grow
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			s := openTest(t, path, Options{})
			mustPut(t, s, mapping(1, "cd-1"))
			if _, err := s.RecordFailure(2, t0, "boom", t0, 5, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.PutIntent(Intent{NexudusID: 2, Title: "t"}); err != nil {
				t.Fatal(err)
			}
			if err := s.SetCursor("all", t0); err != nil {
				t.Fatal(err)
			}
			before, err := s.Entries()
			if err != nil {
				t.Fatal(err)
			}
			s.Close()

			bad := c.setup(t, path)
			m := mapping(2, "cd-2")
			m.Title = big
			writes := []struct {
				name    string
				growing bool
				write   func() error
			}{
				{"PutMapping", true, func() error { return bad.PutMapping(m) }},
				{"SetCursor", true, func() error { return bad.SetCursor(big, t0) }},
				{"PutIntent", true, func() error { return bad.PutIntent(Intent{NexudusID: 3, Title: big}) }},
				{"RecordFailure", false, func() error { // MaxErrorBytes keeps it small
					_, err := bad.RecordFailure(2, t0, big, t0, 1, nil)
					return err
				}},
				{"Forget", false, func() error { return bad.Forget(1) }},
				{"ClearFailure", false, func() error { return bad.ClearFailure(2) }},
				{"DeleteIntent", false, func() error { return bad.DeleteIntent(2) }},
			}
			for _, w := range writes {
				if c.onlyGrowing && !w.growing {
					continue
				}
				name := w.name
				err := w.write()
				if err == nil {
					t.Errorf("%s succeeded", name)
					continue
				}
				if !strings.HasPrefix(err.Error(), "state: ") {
					t.Errorf("%s: err = %q, want the state: prefix", name, err)
				}
			}
			bad.Close()

			s = openTest(t, path, Options{})
			after, err := s.Entries()
			if err != nil {
				t.Fatal(err)
			}
			if !equalJSON(t, before, after) {
				t.Errorf("entries changed by failed writes:\nbefore %+v\nafter  %+v", before, after)
			}
			if cur, ok, _ := s.Cursor("all"); !ok || !cur.Equal(t0) {
				t.Errorf("cursor = %v, %v; want %v", cur, ok, t0)
			}
			if owner, ok, _ := s.Owner("cd-2"); ok {
				t.Errorf("owner of cd-2 = %d: half-recorded mapping", owner)
			}
		})
	}
}

// A process killed during the first open of a new state file leaves a
// bbolt file whose one setup transaction never committed: no bucket, no
// schema key. A read-only open (state ls beside a crashed run) reads it as
// the empty state it is, not as an old schema to migrate.
func TestReadOnlyOpenOfANeverInitialisedFileIsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := Open(path, Options{Timeout: testTimeout, ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open of a never initialised file: %v", err)
	}
	defer st.Close()
	if es, err := st.Entries(); err != nil || len(es) != 0 {
		t.Fatalf("entries %v, %v; want none", es, err)
	}
}
