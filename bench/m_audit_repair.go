package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// auditRepairResult is one audit that repairs a deleted file, and the
// audit after it.
type auditRepairResult struct {
	Files          int
	Deleted        int64 // the Nexudus Id whose CoreData file was deleted
	Repair, Second *syncer.AuditReport
	RepairReqs     reqs
	SecondReqs     reqs
	Tagged         int // CoreData files tagged for Deleted after the repair
}

// measureAuditRepair mirrors n new contracts with one poll (the daemon's
// wiring, in process: only requests are counted here), deletes the
// CoreData file of one of them as a person would, and runs the daemon's
// audit twice with repair on: the first mirrors the record again, the
// second must find every file ok. The engine's Nexudus client is the
// poll's, so it holds the poll's token, as the daemon's long-lived client
// does.
func measureAuditRepair(ctx context.Context, dir string, n int) (*auditRepairResult, error) {
	w, err := newWorld(dir, nexudustest.Options{}, coredatatest.Options{},
		nexudus.Config{RequestsPerMinute: -1, RequestsPerHour: -1})
	if err != nil {
		return nil, err
	}
	defer w.close()
	now := time.Now()
	files := w.addHistory(n, now.Add(-23*time.Hour), now.Add(-time.Minute), 2048)
	st, err := w.openState("state.db")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	e, err := w.engine(st, syncer.Options{Parents: []string{parentID}})
	if err != nil {
		return nil, err
	}
	rep, err := poll(ctx, e)
	if err != nil {
		return nil, err
	}
	if rep.Created != n {
		return nil, fmt.Errorf("first poll: %s, want created=%d", rep.Summary(), n)
	}
	res := &auditRepairResult{Files: n, Deleted: files[n/2].ID}
	m, ok, err := st.Mapping(res.Deleted)
	if err != nil || !ok {
		return nil, fmt.Errorf("no mapping of Nexudus file %d after the poll (%v)", res.Deleted, err)
	}
	if !w.cd.DeleteFile(m.CoreDataID) {
		return nil, fmt.Errorf("CoreData file %s of Nexudus file %d is not in the simulator", m.CoreDataID, res.Deleted)
	}

	w.resetCounts()
	if res.Repair, err = e.Audit(ctx, syncer.AuditOptions{Repair: true}); err != nil {
		return nil, fmt.Errorf("audit with a deleted file: %w", err)
	}
	res.RepairReqs = w.reqs()
	ar := res.Repair
	if !ar.Complete || ar.Counts[syncer.AuditMissing] != 1 || ar.Counts[syncer.AuditOK] != n-1 || len(ar.Problems) != 1 ||
		ar.Problems[0].NexudusID != res.Deleted || ar.Repairs[syncer.RepairRecreated+"/success"] != 1 {
		return nil, fmt.Errorf("audit with Nexudus file %d's CoreData file deleted: %s, want it missing and recreated, the rest ok", res.Deleted, auditSummary(ar))
	}
	for _, f := range w.cd.Files() {
		for _, t := range f.Tags {
			if t == syncer.FileTag(res.Deleted) {
				res.Tagged++
			}
		}
	}
	if res.Tagged != 1 {
		return nil, fmt.Errorf("after the repair, %d CoreData files are tagged %s, want exactly one", res.Tagged, syncer.FileTag(res.Deleted))
	}
	if err := checkMirrored(w.nx, w.cd); err != nil {
		return nil, fmt.Errorf("after the repair: %w", err)
	}

	w.resetCounts()
	if res.Second, err = e.Audit(ctx, syncer.AuditOptions{Repair: true}); err != nil {
		return nil, fmt.Errorf("the audit after the repair: %w", err)
	}
	res.SecondReqs = w.reqs()
	if s := res.Second; !s.Complete || s.Counts[syncer.AuditOK] != n || len(s.Problems) != 0 {
		return nil, fmt.Errorf("the audit after the repair: %s, want every file ok", auditSummary(s))
	}
	return res, nil
}

func (r *auditRepairResult) rows() []row {
	rq := r.RepairReqs
	token := rq.nx[nexudustest.RouteToken]
	nxGet := rq.nx[nexudustest.RouteGet]
	nxRepair := rq.nexudus() - token
	lists := rq.cd[coredatatest.RouteList]
	cdRepair := rq.coredata() - lists
	listBound := auditListBound(r.Files, r.Repair.Parents)
	sq := r.SecondReqs
	secondNX, _ := sq.all()
	secondLists := sq.cd[coredatatest.RouteList]
	return []row{
		{
			Figure: fmt.Sprintf("A repaired deletion: one mapped file of %s deleted in CoreData, one audit with repair (%s): Nexudus requests (%d read by Id, %d downloads, %d other; the token excluded: %d, the client holds the poll's)",
				thousands(int64(r.Files)), auditSummary(r.Repair), nxGet, rq.downloads(), nxRepair-nxGet-rq.downloads(), token),
			Value: fmt.Sprintf("%d", nxRepair), Bound: "2 (a read of the record by Id, one download)", Ratio: ratio(float64(nxRepair), 2),
			Goal: "≤ 2", Verdict: verdict(nxRepair <= 2),
		},
		{
			Figure: fmt.Sprintf("The same audit: CoreData requests besides its %d list pages (bound %.0f: files / 1,000 + 1 per parent) (%s)",
				lists, listBound, rq.cdCounts(coredatatest.RouteList)),
			Value: fmt.Sprintf("%d", cdRepair), Bound: "5 (the read by id that answers 404, blob URL, PUT, create, verify; the lookup is the audit's own listing)",
			Ratio: ratio(float64(cdRepair), 5), Goal: "≤ 5", Verdict: verdict(cdRepair <= 5 && float64(lists) <= listBound),
		},
		{
			Figure: fmt.Sprintf("After the repair: CoreData files tagged %s, and the next audit (%s)", syncer.FileTag(r.Deleted), auditSummary(r.Second)),
			Value: fmt.Sprintf("%d file; next audit %s ok, %d problems, %d CoreData lists, %d other CoreData, %d Nexudus", r.Tagged,
				thousands(int64(r.Second.Counts[syncer.AuditOK])), len(r.Second.Problems), secondLists, sq.coredata()-secondLists, secondNX),
			Bound: "1 file; every file ok", Goal: "exactly one, then ok",
			Verdict: verdict(r.Tagged == 1 && r.Second.Counts[syncer.AuditOK] == r.Files && len(r.Second.Problems) == 0 &&
				sq.coredata() == secondLists && secondNX == 0),
		},
	}
}

// cdCounts names the CoreData requests by route, but those of skip.
func (r reqs) cdCounts(skip coredatatest.Route) string {
	var out []string
	for _, route := range []coredatatest.Route{coredatatest.RouteList, coredatatest.RouteGet, coredatatest.RouteBlob, coredatatest.RouteStorage,
		coredatatest.RouteCreate, coredatatest.RouteUpdateContent, coredatatest.RouteUpdateMetadata, coredatatest.RouteDelete} {
		if c := r.cd[route]; c > 0 && route != skip {
			out = append(out, fmt.Sprintf("%s %d", route, c))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
