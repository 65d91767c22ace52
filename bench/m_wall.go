package main

import (
	"context"
	"fmt"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// wallResult is one `syncd run -once` of n new files through simulators
// that answer every request after a fixed latency.
type wallResult struct {
	Files       int
	RPM         int // 0: no client-side limit
	Latency     time.Duration
	Concurrency int
	Wall        time.Duration
	Reqs        reqs
}

// measureWall mirrors n new contracts with the syncd binary at the given
// client budget (rpm 0: none; else rpm per minute and the default hourly
// budget) and concurrency 4.
func measureWall(ctx context.Context, h *harness, name string, n, rpm int, latency time.Duration) (*wallResult, error) {
	bin, err := h.binary(ctx)
	if err != nil {
		return nil, err
	}
	dir := h.subdir(name)
	w, err := newWorld(dir, nexudustest.Options{Latency: latency},
		coredatatest.Options{APILatency: latency, StorageLatency: latency}, nexudus.Config{})
	if err != nil {
		return nil, err
	}
	defer w.close()
	now := time.Now()
	w.addHistory(n, now.Add(-23*time.Hour), now.Add(-time.Minute), 2048)
	c := daemonConfig{rpm: -1, rph: -1}
	if rpm > 0 {
		c = daemonConfig{rpm: rpm}
	}
	config, err := writeConfig(dir, w.nx, w.cd, c)
	if err != nil {
		return nil, err
	}
	res, err := runProcess(ctx, bin, "run", "-once", "-config", config)
	if err != nil {
		return nil, err
	}
	if err := checkMirrored(w.nx, w.cd); err != nil {
		return nil, err
	}
	return &wallResult{Files: n, RPM: rpm, Latency: latency, Concurrency: 4, Wall: res.Wall, Reqs: w.reqs()}, nil
}

// bound is SPEC.md's: max((N-1)/rate + requests-per-file × latency,
// all requests × latency / concurrency), with requests counted.
func (r *wallResult) bound() (time.Duration, float64, int) {
	all := r.Reqs.nexudus() + r.Reqs.nx[nexudustest.RouteStorage] + r.Reqs.coredata()
	perFile := float64(r.Reqs.downloads()+r.Reqs.coredata()) / float64(r.Files)
	b := time.Duration(all) * r.Latency / time.Duration(r.Concurrency)
	if r.RPM > 0 {
		rated := time.Duration(float64(r.Files-1)/(float64(r.RPM)/60)*float64(time.Second)) + time.Duration(perFile*float64(r.Latency))
		b = max(b, rated)
	}
	return b, perFile, all
}

func (r *wallResult) row() row {
	b, perFile, all := r.bound()
	limit := "no rate limit"
	if r.RPM > 0 {
		limit = fmt.Sprintf("%d/min", r.RPM)
	}
	v := float64(r.Wall) / float64(b)
	return row{
		Figure: fmt.Sprintf("Wall time of `syncd run -once`, %d new files, %s per request, %s, concurrency %d (%d requests, %.2f per file)",
			r.Files, r.Latency, limit, r.Concurrency, all, perFile),
		Value: r.Wall.Round(10 * time.Millisecond).String(),
		Bound: b.Round(10*time.Millisecond).String() + " (max((N−1)/rate + per-file × latency, all × latency / concurrency))",
		Ratio: fmt.Sprintf("%.3f", v), Goal: "≤ 1.1", Verdict: verdict(v <= 1.1),
	}
}
