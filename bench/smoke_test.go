package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// TestMain lets the test binary be the leak check's child process, as the
// harness binary is.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// The smoke tests run the harness' own code at the smoke sizes, so that
// the benchmark cannot rot: they assert what must hold whatever the
// machine (every file mirrored exactly once with its bytes, which the
// measurements check themselves, and request counts in their sane
// range), never a timing.

func TestSmokeRequests(t *testing.T) {
	sz := smokeSizes
	r, err := measureRequests(context.Background(), t.TempDir(), sz.newFiles, sz.updatedFiles)
	if err != nil {
		t.Fatal(err)
	}
	perFile := float64(r.NexudusNew.nexudus()) / float64(r.NewFiles)
	if r.NexudusNew.downloads() != sz.newFiles || perFile < 1 || perFile > 1.1 {
		t.Errorf("first poll: %d downloads, %.3f Nexudus requests per file", r.NexudusNew.downloads(), perFile)
	}
	if cd := r.NexudusNew.coredata(); cd < 4*sz.newFiles || cd > 5*sz.newFiles {
		t.Errorf("first poll: %d CoreData requests for %d files, want 4 to 5 each", cd, sz.newFiles)
	}
	if r.NexudusNew.cd[coredatatest.RouteCreate] != sz.newFiles {
		t.Errorf("%d creates for %d files", r.NexudusNew.cd[coredatatest.RouteCreate], sz.newFiles)
	}
	if r.Idle.coredata() != 0 || r.Idle.nexudus() != r.Idle.nx[nexudustest.RouteList] || r.Idle.nexudus() == 0 {
		t.Errorf("idle poll: %v %v, want list pages only", r.Idle.nx, r.Idle.cd)
	}
	if up := r.UpdatedPoll; up.downloads() != sz.updatedFiles || up.cd[coredatatest.RouteCreate] != 0 ||
		up.cd[coredatatest.RouteUpdateContent] != sz.updatedFiles || r.UpdatedVersions != 2 {
		t.Errorf("poll of updated files: %v %v, %d versions", up.nx, up.cd, r.UpdatedVersions)
	}
	checkRows(t, r.rows())
}

func TestSmokeBackfill(t *testing.T) {
	sz := smokeSizes
	r, err := measureBackfill(context.Background(), t.TempDir(), sz.backfillFiles, sz.backfillSpan, sz.backfillRPM, sz.backfillRPH)
	if err != nil {
		t.Fatal(err)
	}
	if r.Throttled != 0 || r.Early != 0 {
		t.Errorf("the simulator throttled %d requests (%d early): the client overran its budget", r.Throttled, r.Early)
	}
	// The hourly budget must have been crossed, or the figure says nothing.
	if budget := float64(r.RPH/10) + float64(r.RPH)*r.Simulated.Hours(); float64(r.Reqs.nexudus()) <= float64(r.RPH) || r.Simulated < time.Hour {
		t.Errorf("%d requests in %s simulated (budget %.0f): the hourly budget was not crossed", r.Reqs.nexudus(), r.Simulated, budget)
	}
	if float64(r.Reqs.nexudus()) > allowed(r.RPM, r.RPH, r.Simulated)+1 {
		t.Errorf("%d requests in %s, more than the budget allows (%.0f)", r.Reqs.nexudus(), r.Simulated, allowed(r.RPM, r.RPH, r.Simulated))
	}
	if r.Reqs.downloads() != sz.backfillFiles {
		t.Errorf("%d downloads for %d files", r.Reqs.downloads(), sz.backfillFiles)
	}
	checkRows(t, r.rows())
}

func TestSmokePolls(t *testing.T) {
	sz := smokeSizes
	h := &harness{dir: t.TempDir(), sz: sz, log: testLog{t}}
	r, err := measurePolls(context.Background(), h, sz.polls, sz.pollRecords)
	if err != nil {
		t.Fatal(err)
	}
	if r.Reqs.cd[coredatatest.RouteCreate] != sz.pollRecords {
		t.Errorf("%d creates over %d polls of %d records", r.Reqs.cd[coredatatest.RouteCreate], sz.polls, sz.pollRecords)
	}
	checkRows(t, r.rows())
}

func TestSmokeAudit(t *testing.T) {
	sz := smokeSizes
	h := &harness{dir: t.TempDir(), sz: sz, log: testLog{t}}
	r, err := measureAudit(context.Background(), h, sz.scale)
	if err != nil {
		t.Fatal(err)
	}
	ar := r.Child.Report
	if !ar.Complete || ar.Counts[syncer.AuditOK] != sz.scale || len(ar.Problems) != 0 || ar.Parents != 1 || ar.Listed != sz.scale || ar.ReadByID != 0 {
		t.Errorf("audit of %d mapped files: %s", sz.scale, auditSummary(ar))
	}
	if lists := r.Reqs.cd[coredatatest.RouteList]; lists < (sz.scale+999)/1000 || float64(lists) > auditListBound(sz.scale, 1) || r.Reqs.coredata() != lists {
		t.Errorf("audit: CoreData requests %v, want list pages only, at most %.0f", r.Reqs.cd, auditListBound(sz.scale, 1))
	}
	if nx, _ := r.Reqs.all(); nx != 0 {
		t.Errorf("audit: Nexudus requests %v, want none", r.Reqs.nx)
	}
	if r.Child.PeakRSS <= 0 || r.Child.PeakRSS < r.Child.RSSBefore {
		t.Errorf("audit: peak RSS %d, %d before the audit", r.Child.PeakRSS, r.Child.RSSBefore)
	}
	checkRows(t, r.rows())
}

func TestSmokeAuditRepair(t *testing.T) {
	sz := smokeSizes
	r, err := measureAuditRepair(context.Background(), t.TempDir(), sz.repairFiles)
	if err != nil {
		t.Fatal(err)
	}
	rq := r.RepairReqs
	if rq.nx[nexudustest.RouteGet] != 1 || rq.downloads() != 1 || rq.nexudus()-rq.nx[nexudustest.RouteToken] != 2 {
		t.Errorf("repair: Nexudus requests %v, want one read by Id and one download", rq.nx)
	}
	if other := rq.coredata() - rq.cd[coredatatest.RouteList]; other > 5 || rq.cd[coredatatest.RouteCreate] != 1 || rq.cd[coredatatest.RouteDelete] != 0 {
		t.Errorf("repair: CoreData requests %v, want one create and at most 5 besides the list pages", rq.cd)
	}
	if r.Tagged != 1 || r.Repair.ReadByID != 1 || r.Repair.Counts[syncer.AuditMissing] != 1 || !r.Repair.Complete {
		t.Errorf("repair: %d files tagged, %s", r.Tagged, auditSummary(r.Repair))
	}
	if s := r.Second; !s.Complete || s.Counts[syncer.AuditOK] != sz.repairFiles || len(s.Problems) != 0 || s.ReadByID != 0 {
		t.Errorf("the audit after the repair: %s", auditSummary(s))
	}
	if nx, _ := r.SecondReqs.all(); nx != 0 || r.SecondReqs.coredata() != r.SecondReqs.cd[coredatatest.RouteList] {
		t.Errorf("the audit after the repair: %v %v, want CoreData list pages only", r.SecondReqs.nx, r.SecondReqs.cd)
	}
	checkRows(t, r.rows())
}

func TestSmokeLegal(t *testing.T) {
	sz := smokeSizes
	r, err := measureLegal(context.Background(), t.TempDir(), sz.legalPerPoll, sz.legalPolls)
	if err != nil {
		t.Fatal(err)
	}
	polls := 2 * sz.legalPolls
	if r.TextListsMin != 1 || r.TextListsMax != 1 || r.Relists+r.WideRelists != 0 {
		t.Errorf("steady polls: %d to %d texts lists a poll, %d months listed again, want 1 and 0", r.TextListsMin, r.TextListsMax, r.Relists+r.WideRelists)
	}
	if st := r.Steady; st.nx[nexudustest.RouteAudits] < sz.legalPolls*len(legalLocations) || st.nx[nexudustest.RouteTextGet] != 0 || st.downloads() != 0 {
		t.Errorf("steady polls: Nexudus requests %v", st.nx)
	}
	if r.Registers != sz.legalPolls*len(legalLocations) || r.Steady.cd[coredatatest.RouteUpdateContent] != r.Registers ||
		r.Steady.cd[coredatatest.RouteCreate] != 0 || r.Steady.coredata() < 4*r.Registers || r.Steady.coredata() > 5*r.Registers {
		t.Errorf("%d register versions in %d polls, CoreData requests %v, want one a location and poll, 4 to 5 requests each", r.Registers, sz.legalPolls, r.Steady.cd)
	}
	if r.RegisterRows != r.Window+polls*sz.legalPerPoll || r.RegisterBytes <= 0 {
		t.Errorf("registers: %d rows, %d bytes uploaded", r.RegisterRows, r.RegisterBytes)
	}
	if r.Lost.uploads() != 0 || r.LostSame != r.LostFiles || r.LostFiles != len(legalTexts)+len(legalLocations) || r.LostAdded != 0 || r.LostRelists == 0 {
		t.Errorf("lost state file: %v, %d of %d files identical, %d versions added, %d months listed by CreatedOn", r.Lost.cd, r.LostSame, r.LostFiles, r.LostAdded, r.LostRelists)
	}
	checkRows(t, r.rows())
}

// TestSmokeBinary runs the measurements that drive the syncd binary:
// wall time, the daemon's memory and idle, and the state at scale.
func TestSmokeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the syncd binary")
	}
	sz := smokeSizes
	sz.idle = time.Second
	h := &harness{dir: t.TempDir(), sz: sz, log: testLog{t}}
	h.bin = buildSyncd(t)
	ctx := context.Background()
	t.Run("wall", func(t *testing.T) {
		r, err := measureWall(ctx, h, "wall", sz.wallFiles, 0, sz.latency)
		if err != nil {
			t.Fatal(err)
		}
		if r.Reqs.downloads() != sz.wallFiles || r.Reqs.cd[coredatatest.RouteCreate] != sz.wallFiles {
			t.Errorf("%v %v for %d files", r.Reqs.nx, r.Reqs.cd, sz.wallFiles)
		}
		checkRows(t, []row{r.row()})
	})
	t.Run("memory", func(t *testing.T) {
		r, err := measureMemory(ctx, h, sz.bigFiles, sz.bigBytes, sz.idle)
		if err != nil {
			t.Fatal(err)
		}
		if r.PeakRSS <= 0 || r.Allocated <= 0 || r.IdleReqs != 0 {
			t.Errorf("peak RSS %d, allocated %.0f, %d requests while idle", r.PeakRSS, r.Allocated, r.IdleReqs)
		}
		checkRows(t, r.rows())
	})
	t.Run("scale", func(t *testing.T) {
		r, err := measureScale(ctx, h, sz.scale)
		if err != nil {
			t.Fatal(err)
		}
		if lists := r.SkipReqs.nx[nexudustest.RouteList]; lists < sz.scale/pageSize || lists > 2*sz.scale/pageSize {
			t.Errorf("poll over %d mapped records: %d lists", sz.scale, lists)
		}
		if r.StateBytes <= 0 || r.RebuildReqs.cd[coredatatest.RouteList] == 0 {
			t.Errorf("state %d bytes, rebuild %v", r.StateBytes, r.RebuildReqs.cd)
		}
		checkRows(t, r.rows())
	})
}

// checkRows: every row is filled in and carries a verdict.
func checkRows(t *testing.T, rows []row) {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	for _, r := range rows {
		if r.Figure == "" || r.Value == "" || r.Verdict == "" || strings.Contains(r.Value+r.Figure, "NaN") || strings.Contains(r.Value+r.Figure, "Inf") {
			t.Errorf("row %+v", r)
		}
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
