package sync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// configuredParents is what cmd/syncd gives the engine: every parent of
// the configuration, for the adoption of a state file that knows nothing.
func configuredParents(o *syncer.Options) { o.Parents = []string{parentA, parentB} }

// restoreAfter backs the state file up, runs what happens next, then puts
// the backup back, as an operator restoring an older backup does.
func (h *harness) restoreAfter(next func()) {
	h.t.Helper()
	backup := h.path + ".bak"
	if err := h.store.BackupFile(context.Background(), backup); err != nil {
		h.t.Fatal(err)
	}
	next()
	h.store.Close()
	copyFile(h.t, backup, h.path)
	h.open()
}

// coreDataFileOf is the CoreData file tagged for Nexudus file id.
func (h *harness) coreDataFileOf(id int64) coredatatest.FileInfo {
	h.t.Helper()
	for _, f := range h.cd.Files() {
		for _, tag := range f.Tags {
			if tid, ok := syncer.ParseFileTag(tag); ok && tid == id {
				return f
			}
		}
	}
	h.t.Fatalf("no CoreData file is tagged for Nexudus file %d", id)
	return coredatatest.FileInfo{}
}

// creates is how many creates CoreData received.
func (h *harness) creates() int { return h.cd.Count(coredatatest.RouteCreate) }

// Event sequences that broke the contract, each written as a test before
// its fix. The README's Reliability table names each under its guarantee.

// The daemon runs, so its cursor is at now. An operator then runs a
// backfill, and 250 records share the minute where two windows meet (a
// bulk import). Window 2 starts on that minute and its first pages hold
// only records window 1 already saw: the walk must page on through them to
// the rest of the window, not stop and record the window as done.
func TestBackfillPagesThroughABoundaryMinuteWindowOneAlreadyRead(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.poll() // the daemon's cursor is at now
	week := 7 * 24 * time.Hour
	from := h.now.Add(-30 * 24 * time.Hour).UTC().Truncate(time.Minute)
	boundary := from.Add(week)
	h.addBulk(boundary, 250)
	later := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "Later in window 2", FileName: "l.pdf",
		Data: []byte("later"), Signed: true, UpdatedOn: boundary.Add(2 * 24 * time.Hour)})
	if _, err := h.engine().Backfill(context.Background(), from, week, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := h.store.Mapping(later); !ok {
		t.Fatalf("file %d, two days into window 2, was never mirrored", later)
	}
	h.assertMirrored()
}

// A person renames a mirrored file in CoreData; then an older backup of
// the state file, from before that file was made, is put back. The backup
// has a cursor, so no adoption runs: the lookup before the create must
// find the file by its tag, whatever its title.
func TestRenamedInCoreDataThenOlderBackupMakesNoDuplicate(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.addSigned(1, "A", "a")
	h.poll(configuredParents)
	var c int64
	h.restoreAfter(func() {
		h.nx.Advance(time.Minute)
		h.now = h.now.Add(time.Minute)
		c = h.addSigned(1, "C", "c")
		if rep := h.poll(configuredParents); rep.Created != 1 {
			t.Fatalf("poll before the restore: %s", rep.Summary())
		}
		h.cd.Rename(h.coreDataFileOf(c).ID, "C - filed by legal")
	})
	before := h.creates()
	h.now = h.now.Add(time.Minute)
	rep := h.poll(configuredParents)
	if n := h.creates() - before; n != 0 {
		t.Fatalf("%d creates after the restore (%s): a duplicate of a renamed file", n, rep.Summary())
	}
	h.assertMirrored()
}

// A create whose answer was lost, and a title CoreData stores otherwise
// than it was sent (normalised Unicode, white space, case, a length cap):
// the lookup of the next attempt must still find the file it made.
func TestLostCreateOfATitleCoreDataStoresOtherwiseMakesNoDuplicate(t *testing.T) {
	// CoreData keeps NFC and single spaces: "Cafe\u0301  agreement " as
	// typed in Nexudus is stored as "Caf\u00e9 agreement".
	normalise := func(s string) string {
		return strings.Join(strings.Fields(strings.ReplaceAll(s, "e\u0301", "\u00e9")), " ")
	}
	h := newHarnessWith(t, nexudustest.Options{}, coredatatest.Options{StoreTitle: normalise})
	id := h.addSigned(1, "Cafe\u0301  agreement ", "signed")
	h.cd.DropNext(coredatatest.RouteCreate, true, 1)
	h.poll(configuredParents)
	h.now = h.now.Add(time.Hour) // past any backoff
	h.nx.Advance(time.Minute)
	h.poll(configuredParents)
	if n := len(h.cd.Files()); n != 1 {
		t.Fatalf("CoreData holds %d files for Nexudus file %d after its create's answer was lost, want 1", n, id)
	}
	h.assertMirrored()
}

// A person re-files a mirrored file in a folder syncd is not configured
// for; then the state file is lost. The adoption of the new state file
// lists everything the API user can see, not only the configured parents,
// so the re-filed file is adopted where it now is, not made again.
func TestMovedToAnotherFolderThenLostStateMakesNoDuplicate(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "A", "a")
	h.poll(configuredParents)
	moved := h.coreDataFileOf(id)
	const elsewhere = "9b0f7a52-0000-4000-8000-00000000f11e"
	h.cd.Move(moved.ID, elsewhere)
	h.loseState()
	before := h.creates()
	h.now = h.now.Add(time.Minute)
	rep := h.poll(configuredParents)
	if n := h.creates() - before; n != 0 {
		t.Fatalf("%d creates after the state file was lost (%s): a duplicate of a re-filed file", n, rep.Summary())
	}
	if f := h.coreDataFileOf(id); f.ID != moved.ID || f.Parent != elsewhere {
		t.Fatalf("CoreData file %+v, want %s left under %s", f, moved.ID, elsewhere)
	}
	h.assertMirrored()
}

// A person re-files a mirrored file in another folder and tags it; then
// its title changes in Nexudus. The title update must keep the person's
// folder and tags (and syncd's own), changing only the title.
func TestTitleChangeKeepsAPersonsFolderAndTags(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "A", "a")
	h.poll()
	cf := h.coreDataFileOf(id)
	const folder = "9b0f7a52-0000-4000-8000-00000000f11e"
	h.cd.Move(cf.ID, folder)
	h.cd.SetTags(cf.ID, append(cf.Tags, "legal-hold"))
	h.nx.UpdateFile(id, func(f *nexudustest.FileSpec) { f.Name = "A renamed" })
	h.now = h.now.Add(time.Minute)
	h.poll()
	got, _ := h.cd.File(cf.ID)
	if got.Title != "Ada Lovelace - A renamed" {
		t.Fatalf("title %q, want the new one", got.Title)
	}
	if got.Parent != folder {
		t.Errorf("parent %s, want the person's folder %s", got.Parent, folder)
	}
	want := map[string]bool{"legal-hold": true, syncer.FileTag(id): true, "nexudus": true}
	for _, tag := range got.Tags {
		delete(want, tag)
	}
	if len(want) != 0 {
		t.Errorf("tags %v lack %v", got.Tags, want)
	}
}

// CoreData goes down while most listed records are unchanged. Skipping an
// unchanged record asks no API, so it must not end CoreData's streak of
// failures: the poll must still see the outage and stop early.
func TestUnchangedRecordsDoNotHideACoreDataOutage(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	base := h.now.Add(-2 * time.Hour).UTC().Truncate(time.Minute)
	add := func(i int, name string) {
		h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: name, FileName: name + ".pdf",
			Data: []byte(name), Signed: true, UpdatedOn: base.Add(time.Duration(i) * time.Minute)})
	}
	for i := 0; i < 10; i++ {
		add(2*i, "mirrored "+itoa(int64(i)))
	}
	h.poll()
	// CoreData is down; new records arrive between the mirrored ones.
	h.cd.InjectFault(coredatatest.Fault{Route: coredatatest.RouteAny, Status: 503, Times: 1 << 20})
	for i := 0; i < 10; i++ {
		add(2*i+1, "new "+itoa(int64(i)))
	}
	h.now = h.now.Add(5 * time.Minute)
	_, err := h.engine(func(o *syncer.Options) { o.Concurrency = 1 }).Poll(context.Background())
	if !errors.Is(err, syncer.ErrOutage) || !strings.Contains(err.Error(), "coredata") {
		t.Fatalf("poll with CoreData down between unchanged records: err %v, want a CoreData outage", err)
	}
}

// An admin takes the API user's write permission on one location's
// folder away (or deletes the folder). Every create under it is refused
// alike: that is the parent's fault. Its creates stop for the poll after
// the first refusal, it is said once, no file is counted or parked, the
// other location mirrors, and once the admin fixes it the next poll
// mirrors everything without a state retry.
func TestParentRefusedForEveryFileParksNothing(t *testing.T) {
	for _, rf := range []coredatatest.Refusal{
		{Status: 403, Message: "You do not have permission to perform this action."},
		{Status: 404, Message: "Not found."},
		{Status: 400, Message: "parent: object does not exist"},
	} {
		t.Run(itoa(int64(rf.Status)), func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			for i := 0; i < 8; i++ {
				h.addSigned(1, "A"+itoa(int64(i)), "a"+itoa(int64(i)))
			}
			b := h.addSigned(2, "B", "b")
			h.cd.RefuseParent(parentA, rf)
			reg := prometheus.NewPedanticRegistry()
			m := syncer.NewMetrics(reg)
			core, logs := observer.New(zapcore.InfoLevel)
			opt := func(o *syncer.Options) {
				o.MaxAttempts = 1
				o.Metrics = m
				o.Logger = zap.New(core)
			}
			for poll := 0; poll < 3; poll++ {
				h.cd.ResetCounts()
				if _, err := h.engine(opt).Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "refuse") {
					t.Fatalf("poll %d: err %v, want one naming the refused parent", poll, err)
				}
				if n := h.cd.Count(coredatatest.RouteStorage); n > 1 {
					t.Fatalf("poll %d: %d uploads to storage for a refused parent, want at most 1", poll, n)
				}
				h.now = h.now.Add(5 * time.Minute)
			}
			if _, ok, _ := h.store.Mapping(b); !ok {
				t.Fatal("the other location's file was held back")
			}
			entries, _ := h.store.Entries()
			for _, e := range entries {
				if e.Status == "parked" || e.Attempts != 0 {
					t.Fatalf("a parent's refusal counted against file %d: %+v", e.NexudusID, e)
				}
			}
			if n := logs.FilterMessageSnippet("CoreData refuses this parent").Len(); n != 3 {
				t.Fatalf("%d refusal log lines in 3 polls, want one each", n)
			}
			if v := testutil.ToFloat64(m.ParentsRefusedForTest()); v != 1 {
				t.Fatalf("syncd_parents_refused = %v, want 1", v)
			}
			h.cd.AllowParent(parentA)
			if rep, err := h.engine(opt).Poll(context.Background()); err != nil {
				t.Fatalf("after the admin's fix: %v (%s)", err, rep.Summary())
			}
			h.assertMirrored()
			if v := testutil.ToFloat64(m.ParentsRefusedForTest()); v != 0 {
				t.Fatalf("syncd_parents_refused = %v after the fix, want 0", v)
			}
		})
	}
}

// A backfill is interrupted and the operator starts the daemon instead of
// running it again. The gap must stay visible (a metric on every poll)
// until the backfill is finished; a new backfill from a later time that
// replaces the mark must say loudly what it leaves uncovered.
func TestInterruptedBackfillStaysVisibleUntilFinished(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	from := h.now.Add(-60 * 24 * time.Hour).UTC().Truncate(time.Minute)
	week := 7 * 24 * time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := h.engine().Backfill(ctx, from, week, func(done, _ int, _ time.Time) {
		if done == 2 {
			cancel()
		}
	}); err == nil {
		t.Fatal("an interrupted backfill returned no error")
	}
	reg := prometheus.NewPedanticRegistry()
	m := syncer.NewMetrics(reg)
	core, logs := observer.New(zapcore.InfoLevel)
	opt := func(o *syncer.Options) { o.Metrics = m; o.Logger = zap.New(core) }
	for i := 0; i < 2; i++ {
		h.now = h.now.Add(5 * time.Minute)
		h.poll(opt)
		if v := testutil.ToFloat64(m.BackfillUnfinishedForTest()); v != 1 {
			t.Fatalf("poll %d after an interrupted backfill: syncd_backfill_unfinished = %v, want 1", i, v)
		}
	}
	// A backfill from a later time than the first one got replaces its mark.
	later := from.Add(5 * week)
	if _, err := h.engine(opt).Backfill(context.Background(), later, week, nil); err != nil {
		t.Fatal(err)
	}
	warned := logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet("NOT covered")
	if warned.Len() != 1 {
		t.Fatalf("a backfill replacing an unfinished one left a gap without a warning: %v", logs.All())
	}
	if v := testutil.ToFloat64(m.BackfillUnfinishedForTest()); v != 0 {
		t.Fatalf("syncd_backfill_unfinished = %v after a backfill finished, want 0", v)
	}
}
