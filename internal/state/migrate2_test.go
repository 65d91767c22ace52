package state

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeSchema2 makes a file as schema 2 left it: n realistic mappings in
// its binary form, the owners index in JSON, pages split at bbolt's
// default 0.5, and no owner_uuids; then extra runs in the same
// transaction as the last mappings.
func writeSchema2(tb testing.TB, path string, n int, extra func(tx *bolt.Tx) error) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: testTimeout, NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for lo := 0; lo == 0 || lo < n; lo += 1000 {
		err := db.Update(func(tx *bolt.Tx) error {
			for _, b := range allBuckets {
				if string(b) == string(bucketOwnerUUIDs) {
					continue
				}
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			for i := lo; i < min(lo+1000, n); i++ {
				m := realisticMapping(i, true)
				if err := tx.Bucket(bucketFiles).Put(idKey(m.NexudusID), encodeMappingV1(&m)); err != nil {
					return err
				}
				if err := putJSON(tx.Bucket(bucketOwners), []byte(m.CoreDataID), m.NexudusID); err != nil {
					return err
				}
			}
			if lo+1000 < n || extra == nil {
				return nil
			}
			if err := extra(tx); err != nil {
				return err
			}
			return putJSON(tx.Bucket(bucketMeta), keySchema, 2)
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// A record that does not decode is carried over as it is, still named by
// every read, and still removable by `state forget`: a migration that
// failed on it would keep the file from opening at all.
func TestMigrationKeepsCorruptRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	const badOwner = "cb2ce4ce-7422-11ee-91ce-3be7d5677268"
	writeSchema2(t, path, 10, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketFiles).Put(idKey(5), []byte{mappingV1, 10, 0}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOwners).Put([]byte("cd-5"), []byte("5")); err != nil {
			return err
		}
		// A 1-byte value that is no JSON, but would be a valid uvarint.
		return tx.Bucket(bucketOwners).Put([]byte(badOwner), []byte("x"))
	})
	s := openTest(t, path, Options{})
	if _, _, err := s.Mapping(5); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "mapping 5:") {
		t.Errorf("Mapping(5) = %v, want the corrupt record named", err)
	}
	if _, _, err := s.Owner(badOwner); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "owner "+badOwner) {
		t.Errorf("Owner(%s) = %v, want the corrupt entry named", badOwner, err)
	}
	if err := s.PutMapping(mapping(6, badOwner)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("PutMapping onto the corrupt owner entry = %v, want ErrCorrupt", err)
	}
	if err := s.Forget(5); err != nil {
		t.Fatalf("Forget(5) = %v", err)
	}
	if _, ok, _ := s.Owner("cd-5"); ok {
		t.Error("the corrupt mapping's owner entry survived Forget")
	}
	for i := range 10 {
		want := realisticMapping(i, true)
		if got, ok, err := s.Mapping(want.NexudusID); err != nil || !ok || !equalJSON(t, got, want) {
			t.Errorf("Mapping(%d) = %+v, %v, %v", want.NexudusID, got, ok, err)
		}
	}
}

// leafPages counts the leaf pages of a bucket.
func leafPages(t *testing.T, db *bolt.DB, bucket []byte) int {
	t.Helper()
	var n int
	if err := db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucket).Stats().LeafPageN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// The migration writes the buckets anew, so an upgraded file gets the
// smaller pages count too, not the same pages emptier.
func TestMigrationRepacksPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	const n = 5000
	writeSchema2(t, path, n, func(*bolt.Tx) error { return nil })
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: testTimeout, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	files, owners := leafPages(t, db, bucketFiles), leafPages(t, db, bucketOwners)
	db.Close()

	s := openTest(t, path, Options{})
	after := leafPages(t, s.db, bucketFiles)
	uuids := leafPages(t, s.db, bucketOwnerUUIDs)
	t.Logf("files: %d leaf pages at schema 2, %d after; owners: %d, owner_uuids %d", files, after, owners, uuids)
	if after*5 > files*2 {
		t.Errorf("files: %d leaf pages after the migration, %d before: want at most 40%%", after, files)
	}
	if uuids*2 > owners {
		t.Errorf("owner_uuids: %d leaf pages, owners had %d: want at most half", uuids, owners)
	}
	if ms, err := s.Mappings(); err != nil || len(ms) != n {
		t.Fatalf("Mappings() = %d, %v", len(ms), err)
	}
}

// BenchmarkMigrateSchema2 migrates a file of 100,000 mappings (one
// Open), and reports its time and the most heap it held.
func BenchmarkMigrateSchema2(b *testing.B) {
	const n = 100_000
	src := filepath.Join(b.TempDir(), "schema2.db")
	writeSchema2(b, src, n, func(*bolt.Tx) error { return nil })
	var peak, total uint64
	var took time.Duration
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "state.db")
		copyFile(b, src, path)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		var high atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // the heap's high-water mark, sampled
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > high.Load() {
					high.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		s, err := Open(path, Options{NoSync: true})
		took = time.Since(start)
		b.StopTimer()
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		peak, total = high.Load()-before.HeapInuse, after.TotalAlloc-before.TotalAlloc
		if v, _ := s.SchemaVersion(); v != CurrentSchemaVersion() {
			b.Fatalf("schema %d", v)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(took.Milliseconds()), "ms/migration")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
	b.ReportMetric(float64(total)/(1<<20), "MiB-allocated")
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		tb.Fatal(err)
	}
}
