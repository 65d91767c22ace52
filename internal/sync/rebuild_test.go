package sync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// listerOf lists fixed files.
type listerOf []coredata.File

func (l listerOf) EachFile(_ context.Context, _, _ string, fn func(coredata.File) error) error {
	for _, f := range l {
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// countingStore counts the transactions Rebuild asks of a state.Store.
type countingStore struct {
	*state.Store
	batches []int
	singles int
}

func (s *countingStore) PutMappings(ms []state.Mapping) ([]error, error) {
	s.batches = append(s.batches, len(ms))
	return s.Store.PutMappings(ms)
}

func (s *countingStore) PutMapping(m state.Mapping) error {
	s.singles++
	return s.Store.PutMapping(m)
}

// Rebuild writes its mappings a batch per transaction, and still reports
// a CoreData file owned by another Nexudus file, the oldest of two files
// tagged for one record, and the mappings already right.
func TestRebuildWritesInBatches(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Already right: kept. Owned by 9999: refused.
	if err := st.PutMapping(state.Mapping{NexudusID: 1, CoreDataID: "cd-1", MD5: "md5-1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutMapping(state.Mapping{NexudusID: 9999, CoreDataID: "cd-2"}); err != nil {
		t.Fatal(err)
	}
	const n = 2500
	var files listerOf
	for id := 1; id <= n; id++ {
		files = append(files, coredata.File{ID: fmt.Sprint("cd-", id), Digest: fmt.Sprint("md5-", id), Title: "t", Parent: "p",
			Created: "2024-02-01", Tags: []string{"nexudus", syncer.FileTag(int64(id))}})
	}
	// Two files for Nexudus 3: the older wins.
	files = append(files, coredata.File{ID: "cd-3-older", Digest: "x", Created: "2024-01-01", Tags: []string{syncer.FileTag(3)}})
	cs := &countingStore{Store: st}
	rep, err := syncer.Rebuild(context.Background(), files, cs, []string{"p"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != n+1 || rep.Kept != 1 || rep.Restored != n-2 || fmt.Sprint(rep.Ambiguous) != "[2 3]" {
		t.Errorf("report %+v", rep)
	}
	// The older file of Nexudus 3, listed last, rides in the last batch.
	if fmt.Sprint(cs.batches) != "[999 1000 501]" || cs.singles != 0 {
		t.Errorf("batches %v and %d single writes; want [999 1000 501] and none", cs.batches, cs.singles)
	}
	if m, _, _ := st.Mapping(3); m.CoreDataID != "cd-3-older" {
		t.Errorf("Nexudus 3 maps %s, want the older file", m.CoreDataID)
	}
	if _, ok, _ := st.Mapping(2); ok {
		t.Error("Nexudus 2 mapped to a CoreData file that 9999 owns")
	}
	if m, ok, _ := st.Mapping(n); !ok || m.CoreDataID != fmt.Sprint("cd-", n) {
		t.Errorf("Mapping(%d) = %+v, %v", n, m, ok)
	}
}

// A project and one of its folders both configured: CoreData lists the
// folder's files under the project too. One file seen twice is one file,
// not an ambiguous pair.
func TestRebuildCountsAFileListedUnderAProjectAndItsFolderOnce(t *testing.T) {
	st, err := state.Open(filepath.Join(t.TempDir(), "state.db"), state.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	files := listerOf{{ID: "cd-7", Digest: "d", Parent: "folder", Created: "2024-01-01", Tags: []string{syncer.FileTag(7)}}}
	rep, err := syncer.Rebuild(context.Background(), files, st, []string{"project", "folder"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Ambiguous) != 0 || rep.Restored != 1 {
		t.Fatalf("report %+v, want one mapping restored and nothing ambiguous", rep)
	}
}
