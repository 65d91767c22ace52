package sync_test

import (
	"os"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// Every plan of the decision, produced by a real situation and seen
// through a dry run, which is decide without apply: it writes nothing to
// CoreData nor to the state file.
func TestDryRunPlansEveryKindAndWritesNothing(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	unchanged := h.addSigned(1, "Unchanged", "u")
	renamed := h.addSigned(1, "Renamed", "r")
	resigned := h.addSigned(1, "Resigned", "v1")
	forgotten := h.addSigned(2, "Forgotten", "f")
	parked := h.addSigned(2, "Parked", "p")
	h.poll()
	// Parked: its new copy is refused with a 403, max_attempts 1.
	h.nx.Advance(time.Minute)
	h.now = h.now.Add(time.Minute)
	h.nx.SetSignedData(parked, "Parked-signed.pdf", []byte("p2"))
	h.nx.FailNext(nexudustest.RouteSignedDownload, 1, nexudustest.Fault{Status: 403})
	if rep := h.poll(func(o *syncer.Options) { o.MaxAttempts = 1 }); rep.Parked != 1 {
		t.Fatalf("setup: %s", rep.Summary())
	}
	h.nx.Advance(time.Minute)
	h.now = h.now.Add(time.Minute)
	if err := h.store.Forget(forgotten); err != nil {
		t.Fatal(err)
	}
	h.nx.UpdateFile(renamed, func(f *nexudustest.FileSpec) { f.Name = "Renamed again" })
	h.nx.SetSignedData(resigned, "Resigned-signed.pdf", []byte("v2"))
	created := h.addSigned(2, "New", "n")
	h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "Unsigned", FileName: "x.pdf", Data: []byte("x")})

	writes := h.writes()
	h.store.Close()
	before, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	h.open()
	rep := h.poll(func(o *syncer.Options) { o.DryRun = true })
	want := map[int64]syncer.PlanKind{renamed: syncer.PlanRetitle, resigned: syncer.PlanUpdate,
		forgotten: syncer.PlanAdopt, created: syncer.PlanCreate}
	got := map[int64]syncer.PlanKind{}
	for _, a := range rep.Planned {
		got[a.NexudusID] = a.Action
	}
	for id, k := range want {
		if got[id] != k {
			t.Errorf("file %d: planned %q, want %q (all: %+v)", id, got[id], k, rep.Planned)
		}
	}
	if _, ok := got[unchanged]; ok || len(got) != len(want) {
		t.Errorf("planned %+v: the unchanged and the parked file need no action", rep.Planned)
	}
	if rep.Unchanged != 3 || rep.Created+rep.Updated != 0 {
		t.Errorf("dry run report %s: want unchanged=3 (unchanged, renamed, adopted)", rep.Summary())
	}
	if h.writes() != writes {
		t.Fatalf("a dry run wrote to CoreData: %v", h.cd.Counts())
	}
	h.store.Close()
	after, _ := os.ReadFile(h.path)
	h.open()
	if string(before) != string(after) {
		t.Fatal("a dry run changed the state file")
	}
}
