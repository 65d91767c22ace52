package sync_test

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// Guarantee 1 against whatever state file syncd is given: each case is an
// ordinary operator event between two runs, and none may make a second
// CoreData file or upload the same bytes again.
func TestExactlyOneFileWhateverStateFile(t *testing.T) {
	withParents := func(o *syncer.Options) { o.Parents = []string{parentA, parentB} }
	tests := []struct {
		name string
		// event happens after a first run mirrored A and B; it may add
		// records or change them in Nexudus.
		event func(h *harness)
		// wantCreates is how many creates the run after the event sends.
		wantCreates int
	}{
		{"state forget", func(h *harness) {
			for _, nf := range h.nx.Files() {
				if err := h.store.Forget(nf.ID); err != nil {
					h.t.Fatal(err)
				}
			}
		}, 0},
		{"older backup put back", func(h *harness) {
			backup := h.path + ".bak"
			if err := h.store.BackupFile(context.Background(), backup); err != nil {
				h.t.Fatal(err)
			}
			// After the backup: C is mirrored, A is signed again.
			h.nx.Advance(time.Minute)
			h.now = h.now.Add(time.Minute)
			h.addSigned(1, "C", "c")
			a := h.nx.Files()[0].ID
			h.nx.SetSignedData(a, "A-signed.pdf", []byte("a v2"))
			if rep := h.poll(withParents); rep.Created != 1 || rep.Updated != 1 {
				h.t.Fatalf("run before the restore: %s", rep.Summary())
			}
			h.store.Close()
			copyFile(h.t, backup, h.path)
			h.open()
		}, 0},
		{"lost state file", func(h *harness) {
			h.loseState()
		}, 0},
		{"new state file and a renamed record", func(h *harness) {
			h.loseState()
			// The title the file was made with no longer matches: only
			// the adoption of every tagged file of a new state file finds it.
			a := h.nx.Files()[0].ID
			h.nx.UpdateFile(a, func(f *nexudustest.FileSpec) { f.Name = "A renamed" })
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			h.addSigned(1, "A", "a")
			h.addSigned(2, "B", "b")
			if rep := h.poll(withParents); rep.Created != 2 {
				t.Fatalf("first run: %s", rep.Summary())
			}
			tt.event(h)
			creates, puts := h.cd.Count(coredatatest.RouteCreate), h.cd.Count(coredatatest.RouteStorage)
			h.now = h.now.Add(time.Minute)
			rep := h.poll(withParents)
			if len(rep.Failed) != 0 {
				t.Fatalf("run after the event: %s %v", rep.Summary(), ids(rep.Failed))
			}
			if n := h.cd.Count(coredatatest.RouteCreate) - creates; n != tt.wantCreates {
				t.Fatalf("%d creates after the event, want %d (%s)", n, tt.wantCreates, rep.Summary())
			}
			if n := h.cd.Count(coredatatest.RouteStorage) - puts; n != 0 {
				t.Fatalf("%d uploads of bytes CoreData already holds", n)
			}
			h.assertMirrored()
			for _, f := range h.cd.Files() {
				for _, tag := range f.Tags {
					if id, ok := syncer.ParseFileTag(tag); ok {
						nf, _ := h.nx.File(id)
						if want := nf.CoworkerFullName + " - " + nf.Name; f.Title != want {
							t.Errorf("CoreData file %s titled %q, want %q", f.ID, f.Title, want)
						}
					}
				}
			}
		})
	}
}

// loseState deletes the state file, as a new volume or a reinstalled host
// would, and opens a new one in its place.
func (h *harness) loseState() {
	h.store.Close()
	if err := os.Remove(h.path); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// A create whose outcome is unknown is looked up, never sent again: a
// proxy's 503 with Retry-After after CoreData acted, a connection lost
// after the request was sent, a 504.
func TestCreateOutcomeUnknownIsLookedUpNeverResent(t *testing.T) {
	tests := []struct {
		name  string
		fault coredatatest.Fault
	}{
		{"503 with Retry-After after apply", coredatatest.Fault{Status: 503, RetryAfter: "1", AfterApply: true}},
		{"504 after apply", coredatatest.Fault{Status: 504, AfterApply: true}},
		{"connection lost after apply", coredatatest.Fault{Drop: coredatatest.DropAfterApply}},
		{"503 with Retry-After before apply", coredatatest.Fault{Status: 503, RetryAfter: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			h.addSigned(1, "Agreement", "v1")
			f := tt.fault
			f.Route = coredatatest.RouteCreate
			h.cd.InjectFault(f)
			for i := 0; i < 3; i++ {
				rep, err := h.engine().Poll(context.Background())
				if err != nil {
					t.Fatalf("poll %d: %v", i, err)
				}
				h.now = h.now.Add(10 * time.Minute) // past any pause
				_ = rep
			}
			applied := f.AfterApply || f.Drop == coredatatest.DropAfterApply
			want := 1
			if !applied {
				want = 2 // refused before it acted: the next poll looked, found nothing, created
			}
			if n := h.cd.Count(coredatatest.RouteCreate); n != want {
				t.Fatalf("%d creates sent, want %d", n, want)
			}
			h.assertMirrored()
		})
	}
}

// The id a create returned is kept until the file is verified: a verify
// read that fails sends the next attempt to that file, even when the
// record was renamed in between (a lookup by title would miss it).
func TestVerifyFailureResumesFromTheCreatedID(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	a := h.addSigned(1, "Agreement", "v1")
	h.cd.FailNext(coredatatest.RouteGet, 500, 10)
	rep := h.poll()
	if len(rep.Failed) != 1 || len(h.cd.Files()) != 1 {
		t.Fatalf("poll: %s %v, %d files", rep.Summary(), ids(rep.Failed), len(h.cd.Files()))
	}
	in, ok, err := h.store.Intent(a)
	if err != nil || !ok || in.CoreDataID != h.cd.Files()[0].ID {
		t.Fatalf("intent %+v %v %v: want the created id kept", in, ok, err)
	}
	if e, _ := h.store.Entry(a); e.Attempts != 0 {
		t.Fatalf("a CoreData outage counted against the file: %+v", e)
	}
	h.cd.ClearFaults()
	h.nx.Advance(time.Minute)
	renamedAt := h.nx.Now()
	h.nx.UpdateFile(a, func(f *nexudustest.FileSpec) { f.Name = "Agreement renamed"; f.UpdatedOn = renamedAt })
	h.now = h.now.Add(time.Hour)
	rep = h.poll()
	if len(rep.Failed) != 0 || h.cd.Count(coredatatest.RouteCreate) != 1 {
		t.Fatalf("poll: %s %v, %d creates", rep.Summary(), ids(rep.Failed), h.cd.Count(coredatatest.RouteCreate))
	}
	if f := h.cd.Files()[0]; f.Title != "Ada Lovelace - Agreement renamed" {
		t.Fatalf("title %q not followed", f.Title)
	}
	h.assertMirrored()
}

// An intent that can no longer complete is dropped, and costs no CoreData
// request on later polls: its location lost its parent, or it is parked.
func TestIntentThatCannotCompleteIsDropped(t *testing.T) {
	t.Run("location lost its parent", func(t *testing.T) {
		h := newHarness(t, nexudustest.Options{})
		a := h.addSigned(1, "Agreement", "v1")
		// Never applied: the lookup after it finds nothing, the intent stays.
		h.cd.DropNext(coredatatest.RouteCreate, false, 1)
		h.poll()
		if _, ok, _ := h.store.Intent(a); !ok {
			t.Fatal("no intent left by the lost create")
		}
		h.cd.ClearFaults()
		noParent := func(o *syncer.Options) { o.ParentFor = func(int64) (string, bool) { return "", false } }
		h.now = h.now.Add(time.Hour)
		h.poll(noParent)
		if _, ok, _ := h.store.Intent(a); ok {
			t.Fatal("the intent of a location without a parent was kept")
		}
		before := h.cd.Count(coredatatest.RouteList)
		h.now = h.now.Add(time.Hour)
		h.poll(noParent)
		if n := h.cd.Count(coredatatest.RouteList) - before; n != 0 {
			t.Fatalf("%d CoreData lists for a dropped intent", n)
		}
	})
	t.Run("parked", func(t *testing.T) {
		h := newHarness(t, nexudustest.Options{})
		a := h.addSigned(1, "Agreement", "v1")
		// CoreData refuses the create with a 400: the file's own failure.
		h.cd.FailNext(coredatatest.RouteCreate, 400, 100)
		for i := 0; i < 3; i++ {
			h.poll(func(o *syncer.Options) { o.MaxAttempts = 3 })
			h.now = h.now.Add(24 * time.Hour)
		}
		if e, _ := h.store.Entry(a); e.Status != "parked" {
			t.Fatalf("entry %+v, want parked", e)
		}
		if _, ok, _ := h.store.Intent(a); ok {
			t.Fatal("a parked file kept its intent")
		}
		before := h.cd.Counts()
		h.poll()
		if after := h.cd.Counts(); after[coredatatest.RouteList] != before[coredatatest.RouteList] {
			t.Fatal("a parked file's intent cost a CoreData list")
		}
	})
}

// A file tagged for another Nexudus record, or untagged, under the same
// parent and title is never adopted.
func TestLookupAdoptsOnlyThisRecordsFile(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	a := h.addSigned(1, "Agreement", "v1")
	title := "Ada Lovelace - Agreement"
	h.cd.AddFile(coredatatest.NewFile{Parent: parentA, Title: title, Filename: "x.pdf", Content: []byte("v1")})
	h.cd.AddFile(coredatatest.NewFile{Parent: parentA, Title: title, Filename: "y.pdf", Content: []byte("v1"),
		Tags: []string{syncer.FileTag(a + 1)}})
	rep := h.poll()
	if rep.Created != 1 || rep.Adopted != 0 {
		t.Fatalf("poll: %s", rep.Summary())
	}
	m, _, _ := h.store.Mapping(a)
	f, _ := h.cd.File(m.CoreDataID)
	if f.Filename == "x.pdf" || f.Filename == "y.pdf" {
		t.Fatalf("mapped to %+v, want the file syncd made", f)
	}
}
