package state

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The state file's pages count in the peak RSS of every command that
// opens it read-write (bbolt walks every reachable page to rebuild its
// freelist, NoFreelistSync) and of every command that reads all mappings.
// These tests and the benchmark measure its bytes per mapping for a
// tenant written the way the daemon writes it.

// testUUID is a CoreData id: 36 lowercase hex digits and hyphens, as the
// API and the simulator issue them.
func testUUID(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sizeParents are a tenant's few CoreData parents (one per location).
var sizeParents = []string{
	"313ae0be-71cf-11ee-b1e9-ebd554949e29",
	"cb2ce4ce-7422-11ee-91ce-3be7d5677268",
	"e139e880-7368-11ee-b992-4bf81dd1b7a4",
}

// realisticMapping is the i-th mapping of a tenant as `state rebuild`
// adopts it (no UpdatedOn, no SyncedAt: CoreData does not know them);
// polled sets both, as the first poll after the rebuild records them.
func realisticMapping(i int, polled bool) Mapping {
	r := rand.New(rand.NewPCG(uint64(i), 17)) // the same ids for both passes
	id := int64(1_000_000 + i)
	sum := md5.Sum(fmt.Appendf(nil, "contract %d", i))
	m := Mapping{
		NexudusID:  id,
		CoreDataID: testUUID(r),
		MD5:        hex.EncodeToString(sum[:]),
		Size:       50_000 + r.Int64N(2_000_000),
		SnapshotID: testUUID(r),
		Title:      fmt.Sprintf("Member %d - Contract %d (Desk agreement)", 1000+i%997, id),
		Parent:     sizeParents[i%len(sizeParents)],
		Filename:   fmt.Sprintf("contract-%d-signed-v%d.pdf", id, 1+i%3),
	}
	if polled {
		// Nexudus dates to the millisecond; SyncedAt is the daemon's clock.
		base := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
		m.UpdatedOn = base.Add(time.Duration(i)*5*time.Minute + time.Duration(r.IntN(1000))*time.Millisecond)
		m.SyncedAt = time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i)*3*time.Millisecond + time.Duration(r.IntN(1e6)))
	}
	return m
}

// sizeScenario is one way a tenant's mappings are written.
type sizeScenario struct {
	name  string
	write func(tb testing.TB, s *Store, n int)
}

var sizeScenarios = []sizeScenario{
	// `state rebuild` (PutMappings, 1,000 a transaction, ascending ids),
	// then the first poll after it rewrites every mapping with its
	// UpdatedOn, one transaction each, in ascending order: what
	// `go run ./bench -only scale` measures.
	{"rebuild+poll", func(tb testing.TB, s *Store, n int) {
		all := make([]Mapping, n)
		for i := range all {
			all[i] = realisticMapping(i, false)
		}
		for lo := 0; lo < n; lo += 1000 {
			refused, err := s.PutMappings(all[lo:min(lo+1000, n)])
			if err != nil {
				tb.Fatal(err)
			}
			for _, err := range refused {
				if err != nil {
					tb.Fatal(err)
				}
			}
		}
		for i := range all {
			if err := s.PutMapping(realisticMapping(i, true)); err != nil {
				tb.Fatal(err)
			}
		}
	}},
	// A daemon mirroring a tenant from nothing: one PutMapping a file,
	// in ascending id order.
	{"poll", func(tb testing.TB, s *Store, n int) {
		for i := range n {
			if err := s.PutMapping(realisticMapping(i, true)); err != nil {
				tb.Fatal(err)
			}
		}
	}},
}

// sizeReport is where a state file's bytes are.
type sizeReport struct {
	n                 int
	fileBytes         int64
	pages, freePages  int // free: free and pending in bbolt's freelist
	files, owners     bolt.BucketStats
	valueBytes        int64 // the mapping values, summed
	ownerKV           int64 // the owners' keys and values, summed
	fileMaps, ownersN int
}

func (r sizeReport) perMapping() float64 { return float64(r.fileBytes) / float64(r.n) }

func (r sizeReport) String() string {
	fill := func(st bolt.BucketStats) float64 {
		if st.LeafAlloc == 0 {
			return 0
		}
		return float64(st.LeafInuse) / float64(st.LeafAlloc)
	}
	return fmt.Sprintf("%d mappings: file %d B (%.0f B/mapping), %d pages, %d free or pending\n"+
		"  files:  %d keys, %d leaf pages (%.0f%% full), %d branch pages; values %.1f B on average\n"+
		"  owners: %d keys, %d leaf pages (%.0f%% full), %d branch pages; key+value %.1f B on average",
		r.n, r.fileBytes, r.perMapping(), r.pages, r.freePages,
		r.files.KeyN, r.files.LeafPageN, 100*fill(r.files), r.files.BranchPageN, float64(r.valueBytes)/float64(max(r.fileMaps, 1)),
		r.owners.KeyN, r.owners.LeafPageN, 100*fill(r.owners), r.owners.BranchPageN, float64(r.ownerKV)/float64(max(r.ownersN, 1)))
}

// measureStateFile writes n mappings as sc does into a new file, closes
// it and reports on it as a new open sees it.
func measureStateFile(tb testing.TB, sc sizeScenario, n int) sizeReport {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "state.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	sc.write(tb, s, n)
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	rep := sizeReport{n: n, fileBytes: fi.Size()}
	st := s.db.Stats()
	rep.freePages = st.FreePageN + st.PendingPageN
	err = s.db.View(func(tx *bolt.Tx) error {
		rep.pages = int(tx.Size() / int64(s.db.Info().PageSize))
		rep.files = tx.Bucket(bucketFiles).Stats()
		// Every CoreData id here is a UUID: the index is owner_uuids
		// (owners.go), `owners` only for ids of other forms.
		owners := tx.Bucket(bucketOwnerUUIDs)
		rep.owners = owners.Stats()
		if err := tx.Bucket(bucketFiles).ForEach(func(_, v []byte) error {
			rep.valueBytes += int64(len(v))
			rep.fileMaps++
			return nil
		}); err != nil {
			return err
		}
		return owners.ForEach(func(k, v []byte) error {
			rep.ownerKV += int64(len(k) + len(v))
			rep.ownersN++
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	if rep.fileMaps != n {
		tb.Fatalf("%d mappings in the file, want %d", rep.fileMaps, n)
	}
	return rep
}

// BenchmarkStateFileBytesPerMapping writes 100,000 mappings per scenario
// (-benchtime=1x is enough: the figure is a size, not a time) and reports
// the file's bytes per mapping, the files bucket's leaf fill and the
// share of free pages.
func BenchmarkStateFileBytesPerMapping(b *testing.B) {
	const n = 100_000
	for _, sc := range sizeScenarios {
		b.Run(sc.name, func(b *testing.B) {
			var rep sizeReport
			for b.Loop() {
				rep = measureStateFile(b, sc, n)
			}
			b.ReportMetric(rep.perMapping(), "B/mapping")
			b.ReportMetric(float64(rep.pages)*4096/n, "pages-B/mapping")
			b.ReportMetric(float64(rep.pages-rep.freePages)*4096/n, "reachable-B/mapping")
			b.ReportMetric(100*float64(rep.files.LeafInuse)/float64(rep.files.LeafAlloc), "files-leaf-%full")
			b.ReportMetric(100*float64(rep.owners.LeafInuse)/float64(rep.owners.LeafAlloc), "owners-leaf-%full")
			b.Log(rep)
		})
	}
}
