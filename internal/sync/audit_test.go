package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// audit runs one audit with repairs on, as the daemon's default does.
func (h *harness) audit(opt syncer.AuditOptions) *syncer.AuditReport {
	h.t.Helper()
	rep, err := h.engine(configuredParents).Audit(context.Background(), opt)
	if err != nil {
		h.t.Fatalf("audit: %v", err)
	}
	return rep
}

var repairs = syncer.AuditOptions{Repair: true}

// Each status of the audit starts from what a person does in CoreData
// after a contract is mirrored, long after its record left the lookback.
func TestAuditFindsAndRepairsWhatAPersonDid(t *testing.T) {
	cases := []struct {
		name   string
		person func(h *harness, cdID string)
		opt    syncer.AuditOptions
		status syncer.AuditStatus
		check  func(t *testing.T, h *harness, id int64, before coredatatest.FileInfo)
	}{
		{"deleted file is mirrored again as one new file", func(h *harness, cdID string) { h.cd.DeleteFile(cdID) }, repairs, syncer.AuditMissing,
			func(t *testing.T, h *harness, id int64, before coredatatest.FileInfo) {
				now := h.coreDataFileOf(id)
				if now.ID == before.ID || now.Digest != before.Digest {
					t.Fatalf("after the repair: %+v (before %+v)", now, before)
				}
			}},
		{"removed tag is put back beside the person's tags", func(h *harness, cdID string) { h.cd.SetTags(cdID, []string{"legal-hold"}) }, repairs, syncer.AuditUntagged,
			func(t *testing.T, h *harness, id int64, before coredatatest.FileInfo) {
				now := h.coreDataFileOf(id)
				if now.ID != before.ID || !contains(now.Tags, "legal-hold") {
					t.Fatalf("tags after the repair: %v", now.Tags)
				}
			}},
		{"re-filed file is followed and never moved back", func(h *harness, cdID string) { h.cd.Move(cdID, parentB) }, repairs, syncer.AuditMoved,
			func(t *testing.T, h *harness, id int64, before coredatatest.FileInfo) {
				if now := h.coreDataFileOf(id); now.Parent != parentB {
					t.Fatalf("parent after the audit: %s", now.Parent)
				}
			}},
		{"renamed file keeps the person's title", func(h *harness, cdID string) { h.cd.Rename(cdID, "Filed by legal") }, repairs, syncer.AuditMoved,
			func(t *testing.T, h *harness, id int64, before coredatatest.FileInfo) {
				if now := h.coreDataFileOf(id); now.Title != "Filed by legal" {
					t.Fatalf("title after the audit and a poll: %q", now.Title)
				}
			}},
		{"a person's version is reported, not overwritten", func(h *harness, cdID string) { h.cd.UploadVersion(cdID, []byte("theirs"), "application/pdf") }, repairs, syncer.AuditDrift,
			func(t *testing.T, h *harness, id int64, before coredatatest.FileInfo) {
				if now := h.coreDataFileOf(id); now.Digest != md5hex([]byte("theirs")) {
					t.Fatalf("digest after the audit: %s", now.Digest)
				}
			}},
		{"with restore_drift the signed bytes go on top", func(h *harness, cdID string) { h.cd.UploadVersion(cdID, []byte("theirs"), "application/pdf") },
			syncer.AuditOptions{Repair: true, RestoreDrift: true}, syncer.AuditDrift,
			func(t *testing.T, h *harness, id int64, before coredatatest.FileInfo) {
				if now := h.coreDataFileOf(id); now.Digest != before.Digest || now.ID != before.ID {
					t.Fatalf("after the restore: %+v", now)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			id := h.addSigned(1, "A", "signed bytes")
			h.poll(configuredParents)
			before := h.coreDataFileOf(id)
			c.person(h, before.ID)
			// Days later: the record is far outside the lookback.
			h.nx.Advance(72 * time.Hour)
			h.now = h.now.Add(72 * time.Hour)
			if rep := h.poll(configuredParents); rep.Created+rep.Updated != 0 {
				t.Fatalf("a poll with no change in Nexudus wrote: %s", rep.Summary())
			}
			creates := h.creates()
			rep := h.audit(c.opt)
			if rep.Counts[c.status] != 1 || len(rep.Problems) != 1 || rep.Problems[0].Status != c.status || rep.Problems[0].NexudusID != id {
				t.Fatalf("audit: counts %v, problems %+v; want one %s", rep.Counts, rep.Problems, c.status)
			}
			wantCreates := 0
			if c.status == syncer.AuditMissing {
				wantCreates = 1
			}
			if n := h.creates() - creates; n != wantCreates {
				t.Fatalf("%d creates by the audit, want %d", n, wantCreates)
			}
			h.poll(configuredParents)
			c.check(t, h, id, before)
			again := h.audit(c.opt)
			want := syncer.AuditOK
			if c.status == syncer.AuditDrift && !c.opt.RestoreDrift {
				want = syncer.AuditDrift
			}
			if again.Counts[want] != 1 {
				t.Fatalf("the next audit: %v, want one %s", again.Counts, want)
			}
			if n := len(h.cd.Files()); n != 1 {
				t.Fatalf("%d CoreData files, want 1", n)
			}
		})
	}
}

// A file a person re-filed outside every configured parent, once the
// audit followed it, stays the record's one file whatever happens to the
// state file: `state forget`, a lost state file, `state rebuild`. The
// record then changes in Nexudus: its new version goes to that file, where
// the person put it, and nothing is created.
func TestFollowedFileOutsideTheParentsStaysTheOneFile(t *testing.T) {
	const elsewhere = "9a0e7c10-0000-4000-8000-00000000e15e"
	for _, tc := range []struct {
		name string
		lose func(h *harness, id int64)
	}{
		{"state forget", func(h *harness, id int64) {
			if err := h.store.Forget(id); err != nil {
				h.t.Fatal(err)
			}
		}},
		{"lost state file", func(h *harness, id int64) { h.loseState() }},
		{"lost state file, then state rebuild", func(h *harness, id int64) {
			h.loseState()
			if _, err := syncer.Rebuild(context.Background(), h.sink, h.store, []string{syncer.WholeTenant}, nil); err != nil {
				h.t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			id := h.addSigned(1, "A", "a")
			h.poll(configuredParents)
			moved := h.coreDataFileOf(id)
			h.cd.Move(moved.ID, elsewhere)
			if rep := h.audit(repairs); rep.Counts[syncer.AuditMoved] != 1 {
				t.Fatalf("audit: %v", rep.Counts)
			}
			tc.lose(h, id)
			h.now = h.now.Add(time.Minute)
			h.nx.Advance(time.Minute) // new bytes move UpdatedOn
			h.nx.SetSignedData(id, "A-v2.pdf", []byte("signed again"))
			creates := h.creates()
			h.poll(configuredParents)
			if n := h.creates() - creates; n != 0 {
				t.Fatalf("%d creates: a duplicate of a followed file", n)
			}
			if f := h.coreDataFileOf(id); f.ID != moved.ID || f.Parent != elsewhere || len(f.Versions) != 2 {
				t.Fatalf("CoreData file %+v; want %s under %s with the new version on top", f, moved.ID, elsewhere)
			}
			if rep := h.audit(repairs); rep.Counts[syncer.AuditOK] != 1 || len(rep.Problems) != 0 {
				t.Fatalf("audit after: %v %+v", rep.Counts, rep.Problems)
			}
		})
	}
}

// A second file tagged for a record is reported, never deleted.
func TestAuditReportsADuplicateAndDeletesNothing(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "A", "a")
	h.poll(configuredParents)
	f := h.coreDataFileOf(id)
	h.cd.AddFile(coredatatest.NewFile{Parent: parentA, Title: "copy", Filename: "copy.pdf", Tags: f.Tags, Content: []byte("a")})
	rep := h.audit(repairs)
	if rep.Counts[syncer.AuditDuplicate] != 1 {
		t.Fatalf("audit: %v %+v", rep.Counts, rep.Problems)
	}
	if n := len(h.cd.Files()); n != 2 {
		t.Fatalf("%d CoreData files after the audit, want both", n)
	}
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// A restarted daemon shows the last whole audit's time and counts from
// the state file, not zeros: else "no successful audit for twice its
// interval" could never fire for a daemon restarted more often than that,
// and would fire wrongly after a restart. An audit an outage cut short
// keeps the time of the last whole one.
func TestAuditGaugesOutliveARestart(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.addSigned(1, "a", "a")
	h.addSigned(2, "b", "b")
	h.poll()
	h.audit(repairs)
	whole := h.now
	h.now = h.now.Add(time.Hour)
	h.cd.RefuseParent(parentA, coredatatest.Refusal{Status: 403, Message: "no read permission"})
	if _, err := h.engine(configuredParents).Audit(context.Background(), repairs); err == nil {
		t.Fatal("an audit that could not list a parent reported success")
	}
	h.cd.AllowParent(parentA)

	m := syncer.NewMetrics(prometheus.NewRegistry()) // the restart
	h.now = h.now.Add(time.Hour)
	if _, err := h.engine(func(o *syncer.Options) { o.Metrics = m }).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := testutil.ToFloat64(m.AuditLastSuccessForTest()), float64(whole.UnixNano())/1e9; got != want {
		t.Errorf("last success after the restart = %v, want %v (the whole audit's end)", got, want)
	}
	if got := testutil.ToFloat64(m.AuditFilesForTest("ok")); got != 2 {
		t.Errorf("audit_files{status=ok} after the restart = %v, want 2", got)
	}
}

// The audit keeps titles as hashes: a renamed file costs one read by id
// (to learn its new title), once; the audit after the follow reads none.
func TestRenamedFileIsReadByIDOnce(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "a", "a")
	h.addSigned(1, "b", "b")
	h.poll()
	f := h.coreDataFileOf(id)
	h.cd.Rename(f.ID, "Filed by legal")
	h.cd.ResetCounts()
	if rep := h.audit(repairs); rep.ReadByID != 1 || rep.Counts[syncer.AuditMoved] != 1 || h.cd.Count(coredatatest.RouteGet) != 1 {
		t.Fatalf("first audit: %d read by id (%d GETs), counts %v; want 1 read and the rename followed", rep.ReadByID, h.cd.Count(coredatatest.RouteGet), rep.Counts)
	}
	h.cd.ResetCounts()
	if rep := h.audit(repairs); rep.ReadByID != 0 || rep.Counts[syncer.AuditOK] != 2 || h.cd.Count(coredatatest.RouteGet) != 0 {
		t.Fatalf("second audit: %d read by id, counts %v; want none and both ok", rep.ReadByID, rep.Counts)
	}
	if now := h.coreDataFileOf(id); now.Title != "Filed by legal" {
		t.Fatalf("title %q: the person's title was not kept", now.Title)
	}
}
