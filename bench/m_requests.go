package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// requestsResult is what the request counts of a first poll, an idle poll
// and a poll of updated files came to.
type requestsResult struct {
	NewFiles        int
	NexudusNew      reqs // first poll: every file new
	IdleRecords     int  // records in the idle poll's lookback window
	Idle            reqs
	Updated         int
	UpdatedPoll     reqs
	UpdatedVersions int // CoreData versions of an updated file after the poll
	// The first poll (24 h lookback) after the state file was lost, and
	// after it was lost and `state rebuild` ran, over the unchanged
	// records syncd itself mirrored.
	Lost, Rebuilt reqs
}

// measureRequests mirrors n new contracts (spread over the last 23 hours,
// so the first poll's 24-hour lookback holds them all) with one poll,
// polls again with nothing new, then gives m of them new signed bytes and
// polls once more. Requests are counted by the simulators.
func measureRequests(ctx context.Context, dir string, n, m int) (*requestsResult, error) {
	w, err := newWorld(dir, nexudustest.Options{}, coredatatest.Options{},
		nexudus.Config{RequestsPerMinute: -1, RequestsPerHour: -1})
	if err != nil {
		return nil, err
	}
	defer w.close()
	now := time.Now()
	files := w.addHistory(n, now.Add(-23*time.Hour), now.Add(-time.Minute), 2048)
	st, err := w.openState("requests.db")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	e, err := w.engine(st, syncer.Options{})
	if err != nil {
		return nil, err
	}
	res := &requestsResult{NewFiles: n, IdleRecords: n, Updated: m}

	rep, err := poll(ctx, e)
	if err != nil {
		return nil, err
	}
	if rep.Created != n {
		return nil, fmt.Errorf("first poll: %s, want created=%d", rep.Summary(), n)
	}
	if err := checkMirrored(w.nx, w.cd); err != nil {
		return nil, fmt.Errorf("first poll: %w", err)
	}
	res.NexudusNew = w.reqs()

	w.resetCounts()
	if rep, err = poll(ctx, e); err != nil {
		return nil, err
	}
	if rep.Unchanged != n || rep.Created+rep.Updated != 0 {
		return nil, fmt.Errorf("idle poll: %s, want unchanged=%d", rep.Summary(), n)
	}
	res.Idle = w.reqs()

	for _, c := range []struct {
		name    string
		rebuild bool
		into    *reqs
	}{{"lost.db", false, &res.Lost}, {"rebuilt.db", true, &res.Rebuilt}} {
		if *c.into, err = pollAfterLoss(ctx, w, c.name, c.rebuild, n); err != nil {
			return nil, err
		}
	}

	w.resetCounts()
	for i := 0; i < m; i++ {
		f := files[i*len(files)/m]
		w.nx.SetSignedData(f.ID, f.SignedFileName, payload(i+10_000_000, 2048))
	}
	if rep, err = poll(ctx, e); err != nil {
		return nil, err
	}
	if rep.Updated != m || rep.Created != 0 {
		return nil, fmt.Errorf("poll of updated files: %s, want updated=%d", rep.Summary(), m)
	}
	if err := checkMirrored(w.nx, w.cd); err != nil {
		return nil, fmt.Errorf("poll of updated files: %w", err)
	}
	res.UpdatedPoll = w.reqs()
	for _, f := range w.cd.Files() {
		res.UpdatedVersions = max(res.UpdatedVersions, len(f.Versions))
	}
	return res, nil
}

// pollAfterLoss polls with a new state file, as after a lost one (with
// rebuild: after `state rebuild` into it), and counts that poll's
// requests: the n records in the lookback are unchanged since syncd
// mirrored them, so no download and no upload may be made.
func pollAfterLoss(ctx context.Context, w *world, name string, rebuild bool, n int) (reqs, error) {
	st, err := w.openState(name)
	if err != nil {
		return reqs{}, err
	}
	defer st.Close()
	if rebuild {
		if rr, err := syncer.Rebuild(ctx, w.sink, st, []string{syncer.WholeTenant}, nil); err != nil || rr.Restored != n {
			return reqs{}, fmt.Errorf("state rebuild into %s: %+v, %v; want %d restored", name, rr, err, n)
		}
	}
	// The parents as the daemon's config gives them: a new state file
	// adopts what the listing of the tenant shows.
	e, err := w.engine(st, syncer.Options{Parents: []string{parentID}})
	if err != nil {
		return reqs{}, err
	}
	w.resetCounts()
	rep, err := poll(ctx, e)
	if err != nil {
		return reqs{}, err
	}
	got := w.reqs()
	if rep.Unchanged != n || got.uploads() != 0 || got.downloads() != 0 {
		return reqs{}, fmt.Errorf("poll after the loss (%s): %s, %d downloads, %d upload requests; want unchanged=%d, none", name, rep.Summary(), got.downloads(), got.uploads(), n)
	}
	return got, nil
}

func (r *requestsResult) rows() []row {
	floor := 1 + 1.0/pageSize
	nxPerFile := float64(r.NexudusNew.nexudus()) / float64(r.NewFiles)
	cdPerFile := float64(r.NexudusNew.coredata()) / float64(r.NewFiles)
	// Four requests of each file's own, and its share of the lookup: the
	// run lists the parent once (tagIndex), not once a file. That listing
	// serves the whole run because a create is preceded by an intent,
	// and a lookup with an open intent lists the parent again.
	cdFloor := 4 + 1/float64(r.NewFiles)
	idleFloor := math.Ceil(float64(r.IdleRecords) / pageSize)
	cdUpd := float64(r.UpdatedPoll.coredata()) / float64(r.Updated)
	return []row{
		{
			Figure: fmt.Sprintf("Nexudus requests per new file (first poll of %s new files; %d lists, %d downloads, %d token)",
				thousands(int64(r.NewFiles)), r.NexudusNew.nx[nexudustest.RouteList], r.NexudusNew.downloads(), r.NexudusNew.nx[nexudustest.RouteToken]),
			Value: fmt.Sprintf("%.4f", nxPerFile), Bound: fmt.Sprintf("%.4f (1 + 1/page_size)", floor),
			Ratio: ratio(nxPerFile, floor), Goal: "≤ 1.02", Verdict: verdict(nxPerFile <= 1.02),
		},
		{
			Figure: fmt.Sprintf("CoreData requests per new file (%s; list requests in all: %d)",
				r.NexudusNew.cdBreakdown(r.NewFiles), r.NexudusNew.cd[coredatatest.RouteList]),
			Value: fmt.Sprintf("%.4f", cdPerFile),
			Bound: fmt.Sprintf("%.4f (blob URL, PUT, create, verify; + the lookup before create: the run lists the parent once, one page while it is empty, and every lookup of the run reads that listing)", cdFloor),
			Ratio: ratio(cdPerFile, cdFloor), Goal: "≤ 5", Verdict: verdict(cdPerFile <= 5),
		},
		{
			Figure: "CoreData requests per updated file (" + r.UpdatedPoll.cdBreakdown(r.Updated) + ")",
			Value:  fmt.Sprintf("%.2f", cdUpd), Bound: "5 (a read of CoreData's digest before the upload, blob URL, PUT, content update, whose answer carries the md5, and the metadata write that moves the version tag)",
			Ratio: ratio(cdUpd, 5), Goal: "≤ 5", Verdict: verdict(cdUpd <= 5),
		},
		lossRow("a lost state file", r.Lost, r.IdleRecords),
		lossRow("a lost state file and `state rebuild`", r.Rebuilt, r.IdleRecords),
		{
			Figure: fmt.Sprintf("Requests of a poll with nothing new (%s records in the 24 h lookback)", thousands(int64(r.IdleRecords))),
			Value:  fmt.Sprintf("%d Nexudus (%d lists), %d CoreData", r.Idle.nexudus(), r.Idle.nx[nexudustest.RouteList], r.Idle.coredata()),
			Bound:  fmt.Sprintf("%.0f lists (records / page_size), 0 CoreData", idleFloor),
			Ratio:  ratio(float64(r.Idle.nexudus()), idleFloor), Goal: "list pages only",
			Verdict: verdict(r.Idle.nexudus() == r.Idle.nx[nexudustest.RouteList] && r.Idle.coredata() == 0),
		},
	}
}

// lossRow is the first poll after the state file was lost.
func lossRow(after string, q reqs, records int) row {
	return row{
		Figure: fmt.Sprintf("First poll after %s, %s unchanged records in the 24 h lookback (%d Nexudus lists; CoreData: %s)",
			after, thousands(int64(records)), q.nx[nexudustest.RouteList], q.cdBreakdown(1)),
		Value: fmt.Sprintf("%d downloads, %d uploads", q.downloads(), q.uploads()),
		Bound: "0 (SPEC: a lost state file costs no download of an unchanged record)",
		Goal:  "0 downloads", Verdict: verdict(q.downloads() == 0 && q.uploads() == 0),
	}
}
