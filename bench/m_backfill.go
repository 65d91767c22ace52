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

// Nexudus' own limits, which its simulator enforces in this measurement.
const apiPerMinute, apiPerHour = 120, 5000

// backfillResult is a backfill of a long history on the simulated clock.
type backfillResult struct {
	Files      int
	Span       time.Duration
	RPM, RPH   int
	Simulated  time.Duration // on the simulated clock
	Real       time.Duration
	Reqs       reqs
	Throttled  int // 409s the simulator answered: the budget was overrun
	Early      int // requests before a Retry-After had passed
	WindowSize time.Duration
}

// measureBackfill spreads n contracts over span and backfills them at the
// client budget rpm/rph on a skipClock shared by the Nexudus client's
// limiters, the simulator (which throttles at Nexudus' real 120/min and
// 5,000/h) and the engine.
func measureBackfill(ctx context.Context, dir string, n int, span time.Duration, rpm, rph int) (*backfillResult, error) {
	origin := time.Now().Truncate(time.Minute)
	clk := newSkipClock(origin)
	w, err := newWorld(dir,
		nexudustest.Options{Now: clk.Now, RequestsPerMinute: apiPerMinute, RequestsPerHour: apiPerHour},
		coredatatest.Options{},
		nexudus.Config{RequestsPerMinute: rpm, RequestsPerHour: rph, Clock: clk})
	if err != nil {
		return nil, err
	}
	defer w.close()
	from := origin.Add(-span)
	w.addHistory(n, from, origin.Add(-time.Hour), 2048)
	st, err := w.openState("backfill.db")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	e, err := w.engine(st, syncer.Options{Now: clk.Now})
	if err != nil {
		return nil, err
	}
	const window = 7 * 24 * time.Hour // sync.backfill_window's default
	start, realStart := clk.Now(), time.Now()
	rep, err := e.Backfill(ctx, from, window, nil)
	if err != nil {
		return nil, fmt.Errorf("backfill: %w", err)
	}
	res := &backfillResult{
		Files: n, Span: span, RPM: rpm, RPH: rph, WindowSize: window,
		Simulated: clk.Now().Sub(start), Real: time.Since(realStart),
		Reqs: w.reqs(), Throttled: w.nx.Throttled(), Early: w.nx.EarlyRetries(),
	}
	if len(rep.Failed) > 0 || rep.Created != n {
		return nil, fmt.Errorf("backfill: %s, want created=%d", rep.Summary(), n)
	}
	if err := checkMirrored(w.nx, w.cd); err != nil {
		return nil, fmt.Errorf("backfill: %w", err)
	}
	return res, nil
}

// allowed is how many requests the client budget lets through in d,
// starting with full buckets: the limiters of internal/nexudus have a
// burst of a twentieth of the minute budget and a tenth of the hourly one.
func allowed(rpm, rph int, d time.Duration) float64 {
	m := float64(max(rpm/20, 1)) + float64(rpm)*d.Minutes()
	h := float64(max(rph/10, 1)) + float64(rph)*d.Hours()
	return math.Min(m, h)
}

func (r *backfillResult) rows() []row {
	perFile := 1 + 1.0/pageSize
	hours := r.Simulated.Hours()
	rate := float64(r.Files) / hours
	bound := allowed(r.RPM, r.RPH, r.Simulated) / perFile / hours
	api := float64(apiPerHour) / perFile
	steady := math.Min(float64(r.RPM)*60, float64(r.RPH)) / perFile
	nxPerFile := float64(r.Reqs.nexudus()) / float64(r.Files)
	return []row{
		{
			Figure: fmt.Sprintf("Backfill throughput at %d/min and %s/h: %s files over %.0f days, %.0f-day windows; %.2f h on the simulated clock (%s real)",
				r.RPM, thousands(int64(r.RPH)), thousands(int64(r.Files)), r.Span.Hours()/24, r.WindowSize.Hours()/24, hours, r.Real.Round(time.Second)),
			Value: fmt.Sprintf("%s files/h", thousands(int64(rate))),
			Bound: fmt.Sprintf("%s files/h (the budget's requests in that time, bursts included, / (1 + 1/page_size)); %s/h steady",
				thousands(int64(bound)), thousands(int64(steady))),
			Ratio: ratio(rate, bound), Goal: "≥ 0.95", Verdict: verdict(rate >= 0.95*bound),
		},
		{
			Figure: fmt.Sprintf("Backfill against Nexudus' own limit (5,000/h); %d lists, %d downloads, %d token requests, %d throttled, %d early",
				r.Reqs.nx[nexudustest.RouteList], r.Reqs.downloads(), r.Reqs.nx[nexudustest.RouteToken], r.Throttled, r.Early),
			Value: fmt.Sprintf("%s files/h, %.4f requests/file", thousands(int64(rate)), nxPerFile),
			Bound: fmt.Sprintf("%s files/h", thousands(int64(api))),
			Ratio: ratio(rate, api), Goal: "no throttling", Verdict: verdict(r.Throttled == 0 && r.Early == 0),
		},
	}
}
