package sync_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

func TestMirrorsSignedFilesOncePerLocationParent(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	a1 := h.addSigned(1, "Membership agreement", "contract a1")
	a2 := h.addSigned(1, "Locker rental", "contract a2")
	b1 := h.addSigned(2, "Office lease", "contract b1")
	h.addSigned(3, "Unmapped location", "contract c1")
	h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, CoworkerID: 9, Name: "Draft", FileName: "draft.pdf", Data: []byte("draft")})
	noCopy := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 2, CoworkerID: 9, CoworkerFullName: "Bob", Name: "Paper-signed", FileName: "paper.pdf", Data: []byte("scanned"), Signed: true})

	rep := h.poll()
	if rep.Created != 4 || rep.Skipped != 1 || len(rep.Failed) != 0 {
		t.Fatalf("first poll: %s %v", rep.Summary(), ids(rep.Failed))
	}
	h.assertMirrored()
	parents := map[int64]string{a1: parentA, a2: parentA, b1: parentB, noCopy: parentB}
	for id, parent := range parents {
		m, _, _ := h.store.Mapping(id)
		f, _ := h.cd.File(m.CoreDataID)
		if f.Parent != parent {
			t.Errorf("file %d under %s, want %s", id, f.Parent, parent)
		}
		if !strings.Contains(strings.Join(f.Tags, ","), syncer.FileTag(id)) || !strings.Contains(strings.Join(f.Tags, ","), "nexudus-coworker-") {
			t.Errorf("file %d tags %v", id, f.Tags)
		}
	}
	if m, _, _ := h.store.Mapping(a1); m.Title != "Ada Lovelace - Membership agreement" || m.Filename != "Membership agreement-signed.pdf" {
		t.Errorf("title/filename from the template and the signed copy: %+v", m)
	}
	if m, _, _ := h.store.Mapping(noCopy); m.Filename != "paper.pdf" {
		t.Errorf("a record without a signed copy is mirrored from its file: %+v", m)
	}

	// Guarantee: a second run downloads and uploads nothing.
	downloads, writes := h.downloads(), h.writes()
	rep = h.poll()
	if rep.Created+rep.Updated != 0 || h.downloads() != downloads || h.writes() != writes {
		t.Fatalf("second poll: %s, downloads %d->%d, CoreData writes %d->%d", rep.Summary(), downloads, h.downloads(), writes, h.writes())
	}
	h.assertMirrored()
}

func TestNewSignedBytesBecomeNewVersionOfSameFile(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "Agreement", "v1")
	h.poll()
	m1, _, _ := h.store.Mapping(id)

	h.nx.Advance(2 * time.Minute)
	h.nx.SetSignedData(id, "Agreement-signed.pdf", []byte("v2 signed again"))
	rep := h.poll()
	if rep.Updated != 1 || rep.Created != 0 {
		t.Fatalf("poll after new bytes: %s", rep.Summary())
	}
	h.assertMirrored()
	m2, _, _ := h.store.Mapping(id)
	f, _ := h.cd.File(m2.CoreDataID)
	if m2.CoreDataID != m1.CoreDataID || len(f.Versions) != 2 || m2.SnapshotID == m1.SnapshotID {
		t.Fatalf("want a second version of %s, got file %s with %d versions", m1.CoreDataID, m2.CoreDataID, len(f.Versions))
	}

	// Same bytes with a newer UpdatedOn: downloaded to compare, not
	// uploaded. One metadata write moves the version tag to the new
	// UpdatedOn, so that a lost state file need not download it again.
	h.nx.Advance(2 * time.Minute)
	touched := h.nx.Now()
	h.nx.UpdateFile(id, func(f *nexudustest.FileSpec) { f.UpdatedOn = touched })
	writes, metadata := h.writes(), h.cd.Count(coredatatest.RouteUpdateMetadata)
	rep = h.poll()
	if rep.Unchanged != 1 || h.writes()-writes != 1 || h.cd.Count(coredatatest.RouteUpdateMetadata)-metadata != 1 {
		t.Fatalf("touch without new bytes: %s, CoreData writes %d->%d; want one metadata write", rep.Summary(), writes, h.writes())
	}
	m3, _, _ := h.store.Mapping(id)
	f, _ = h.cd.File(m2.CoreDataID)
	if want := syncer.VersionTag(m3.UpdatedOn, m2.MD5); !m3.UpdatedOn.After(m2.UpdatedOn) || len(f.Versions) != 2 || !contains(f.Tags, want) {
		t.Fatalf("after the touch: %d versions, tags %v; want 2 and %s", len(f.Versions), f.Tags, want)
	}
}

func TestTitleChangeUpdatesCoreDataTitle(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "Agreement", "v1")
	h.poll()
	h.nx.Advance(time.Minute)
	renamed := h.nx.Now()
	h.nx.UpdateFile(id, func(f *nexudustest.FileSpec) { f.Name = "Agreement (renewed)"; f.UpdatedOn = renamed })
	h.poll()
	m, _, _ := h.store.Mapping(id)
	f, _ := h.cd.File(m.CoreDataID)
	if f.Title != "Ada Lovelace - Agreement (renewed)" || m.Title != f.Title || len(f.Versions) != 1 {
		t.Fatalf("title %q (state %q), %d versions", f.Title, m.Title, len(f.Versions))
	}
	h.assertMirrored()
}

func TestDryRunWritesNothing(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.addSigned(1, "Agreement", "v1")
	h.addSigned(2, "Lease", "v1")
	rep := h.poll(func(o *syncer.Options) { o.DryRun = true })
	if len(rep.Planned) != 2 || rep.Planned[0].Action != "create" {
		t.Fatalf("planned %+v", rep.Planned)
	}
	if h.writes() != 0 || len(h.cd.Files()) != 0 {
		t.Fatalf("dry run wrote to CoreData: %v", h.cd.Counts())
	}
	entries, _ := h.store.Entries()
	if _, ok, _ := h.store.Cursor("all"); ok || len(entries) != 0 {
		t.Fatalf("dry run wrote the state: %+v", entries)
	}
}

func TestBackfillReachesRecordsOlderThanLookback(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	old := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "Old", FileName: "old.pdf", Data: []byte("old"), Signed: true,
		UpdatedOn: h.now.Add(-40 * 24 * time.Hour)})
	h.addSigned(1, "New", "new")
	rep := h.poll()
	if rep.Created != 1 {
		t.Fatalf("poll: %s", rep.Summary())
	}
	if _, ok, _ := h.store.Mapping(old); ok {
		t.Fatal("a record older than the lookback was mirrored by a plain poll")
	}
	var windows []int
	rep, err := h.engine().Backfill(context.Background(), h.now.Add(-60*24*time.Hour), 7*24*time.Hour, func(done, total int, _ time.Time) {
		windows = append(windows, done, total)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 1 || len(windows) != 2*9 || windows[len(windows)-1] != 9 {
		t.Fatalf("backfill: %s, progress %v", rep.Summary(), windows)
	}
	h.assertMirrored()
}

func TestCreateOutcomeLostIsReconciledNotDuplicated(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.addSigned(1, "Agreement", "v1")
	h.cd.DropNext(coredatatest.RouteCreate, true, 1)
	rep := h.poll()
	if rep.Created != 1 || len(rep.Failed) != 0 {
		t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
	}
	if n := h.cd.Count(coredatatest.RouteCreate); n != 1 {
		t.Fatalf("%d creates sent, want 1", n)
	}
	h.assertMirrored()
}

func TestExpiredPresignedURLGetsFreshBlob(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.addSigned(1, "Agreement", "v1")
	h.cd.ExpireNextURLs(1)
	rep := h.poll()
	if rep.Created != 1 || h.cd.Count(coredatatest.RouteBlob) != 2 {
		t.Fatalf("poll: %s, blob requests %d", rep.Summary(), h.cd.Count(coredatatest.RouteBlob))
	}
	h.assertMirrored()
}

func TestMappedFileDeletedInCoreDataIsRecreated(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "Agreement", "v1")
	h.poll()
	m, _, _ := h.store.Mapping(id)
	h.cd.DeleteFile(m.CoreDataID)
	h.nx.Advance(time.Minute)
	h.nx.SetSignedData(id, "Agreement-signed.pdf", []byte("v2"))
	rep := h.poll()
	if rep.Created != 1 || len(rep.Failed) != 0 {
		t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
	}
	h.assertMirrored()
}

func TestStaleSnapshotStillAddsTheNewVersion(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "Agreement", "v1")
	h.poll()
	// Someone uploads a version by hand in CoreData.
	m, _, _ := h.store.Mapping(id)
	blob, err := h.sink.RequestBlob(context.Background(), "application/pdf", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sink.PutBlob(context.Background(), blob, strings.NewReader("man"), 3, "application/pdf", "x.pdf"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sink.UpdateContent(context.Background(), m.CoreDataID, blob.Name, md5hex([]byte("man")), m.SnapshotID, ""); err != nil {
		t.Fatal(err)
	}
	h.nx.Advance(time.Minute)
	h.nx.SetSignedData(id, "Agreement-signed.pdf", []byte("v2"))
	rep := h.poll()
	if rep.Updated != 1 || len(rep.Failed) != 0 {
		t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
	}
	f, _ := h.cd.File(m.CoreDataID)
	if len(f.Versions) != 3 {
		t.Fatalf("versions %d, want 3 (ours, the person's, ours again)", len(f.Versions))
	}
	h.assertMirrored()
}

func TestFailingFileRetriedWithBackoffThenParked(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	bad := h.addSigned(1, "Broken", "bad")
	h.addSigned(1, "Fine", "fine")
	h.nx.FailWhen(func(route nexudustest.Route, r nexudustest.Request) bool {
		return route == nexudustest.RouteSignedDownload && strings.HasSuffix(r.Path, "/"+itoa(bad))
	}, 1000, nexudustest.Fault{Status: 403}) // the file's own failure: it counts
	maxAttempts := func(o *syncer.Options) { o.MaxAttempts = 3 }

	rep := h.poll(maxAttempts)
	if rep.Created != 1 || len(rep.Failed) != 1 || rep.Failed[0].NexudusID != bad {
		t.Fatalf("one file's failure must not stop the other: %s %v", rep.Summary(), ids(rep.Failed))
	}
	f, ok, _ := h.store.Failure(bad)
	if !ok || f.Attempts != 1 || !f.NextAttempt.After(h.now) {
		t.Fatalf("failure %+v", f)
	}

	// Within the backoff: not tried again.
	downloads := h.downloads()
	rep = h.poll(maxAttempts)
	if len(rep.Failed) != 0 || h.downloads() != downloads {
		t.Fatalf("retried inside its backoff: %s", rep.Summary())
	}
	// Past the backoff, and long out of the poll window: retried by its Id.
	for i := 2; i <= 3; i++ {
		h.now = h.now.Add(24 * time.Hour)
		rep = h.poll(maxAttempts, func(o *syncer.Options) { o.Lookback = time.Minute })
	}
	if rep.Parked != 1 {
		t.Fatalf("third failure must park: %s", rep.Summary())
	}
	e, _ := h.store.Entry(bad)
	if e.Status != "parked" || e.Attempts != 3 || !strings.Contains(e.LastError, "403") {
		t.Fatalf("entry %+v", e)
	}
	// Parked: the next poll leaves it alone, and the cursor may pass it.
	h.now = h.now.Add(24 * time.Hour)
	downloads = h.downloads()
	h.poll(maxAttempts)
	if h.downloads() != downloads {
		t.Fatal("a parked file was downloaded again")
	}
	// syncd state retry: cleared, tried again, mirrored once the fault is gone.
	h.nx.ClearFaults()
	if err := h.store.ClearFailure(bad); err != nil {
		t.Fatal(err)
	}
	touched := h.now // changed in Nexudus now, by the engine's clock
	h.nx.UpdateFile(bad, func(f *nexudustest.FileSpec) { f.UpdatedOn = touched })
	rep = h.poll(maxAttempts)
	if rep.Created != 1 {
		t.Fatalf("after retry: %s %v", rep.Summary(), ids(rep.Failed))
	}
	h.assertMirrored()
}

func TestFileOverSizeCapIsParkedWithReason(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	big := h.addSigned(1, "Huge", strings.Repeat("x", 2048))
	h.addSigned(1, "Small", "small")
	rep := h.poll(func(o *syncer.Options) { o.MaxFileBytes = 1024 })
	if rep.Created != 1 || rep.Parked != 1 {
		t.Fatalf("poll: %s", rep.Summary())
	}
	e, _ := h.store.Entry(big)
	if e.Status != "parked" || !strings.Contains(e.LastError, "too large") {
		t.Fatalf("entry %+v", e)
	}
}

func TestManyRecordsInOneMinutePageThroughToTheEnd(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	at := h.nx.Now().Truncate(time.Minute)
	for i := 0; i < 230; i++ {
		h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1 + int64(i%2), Name: "bulk " + itoa(int64(i)), FileName: "b.pdf",
			Data: []byte("bulk " + itoa(int64(i))), Signed: true, UpdatedOn: at.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	rep := h.poll(func(o *syncer.Options) { o.Concurrency = 8 })
	if rep.Created != 230 {
		t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
	}
	h.assertMirrored()
	// A poll with nothing new costs list pages only.
	before := h.nx.Counts()
	h.poll()
	after := h.nx.Counts()
	if after[nexudustest.RouteSignedDownload] != before[nexudustest.RouteSignedDownload] || after[nexudustest.RouteList]-before[nexudustest.RouteList] > 4 {
		t.Fatalf("idle poll cost %v -> %v", before, after)
	}
}

func TestFirstPollWithZeroLookbackKeepsItsStartAsCursor(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	zero := func(o *syncer.Options) { o.Lookback = 0 }
	h.poll(zero) // nothing yet
	c1, ok, _ := h.store.Cursor("all")
	if !ok {
		t.Fatal("no cursor after an empty poll")
	}
	// A record updated after that poll began, seen by a later poll even
	// though now has moved on.
	h.addSigned(1, "Late", "late")
	h.now = h.now.Add(10 * time.Minute)
	rep := h.poll(zero)
	if rep.Created != 1 {
		t.Fatalf("record after the first cursor (%s) missed: %s", c1, rep.Summary())
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func TestRecordInTheCursorsMinuteIsCaughtWithZeroLookback(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	minuteStart := h.nx.Now().Truncate(time.Minute)
	h.nx.SetNow(minuteStart.Add(10 * time.Second))
	h.addSigned(1, "First", "first")
	zero := func(o *syncer.Options) { o.Lookback = 0 }
	h.now = minuteStart.Add(20 * time.Second)
	h.poll(zero)
	// Same minute as the cursor, after the poll read it.
	h.nx.SetNow(minuteStart.Add(40 * time.Second))
	h.addSigned(1, "Second", "second")
	h.now = minuteStart.Add(5 * time.Minute)
	if rep := h.poll(zero); rep.Created != 1 {
		t.Fatalf("record in the cursor's minute missed: %s", rep.Summary())
	}
	h.assertMirrored()
}
