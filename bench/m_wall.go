package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata"
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
	// Bare is the same files mirrored by the bare clients, without the
	// engine (no state file, no spool): the floor of this harness, where
	// a request costs more than its simulated latency (HTTP on loopback,
	// both ends on the same 2 cores). Zero when not measured.
	Bare     time.Duration
	BareReqs reqs
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

// measureBare mirrors n new contracts with the clients alone, in the
// engine's pattern: one walker lists the pages and hands the records to 4
// workers, each of which downloads a file and uploads it (blob URL, PUT,
// create, read back). It is what the harness allows at best.
func measureBare(ctx context.Context, dir string, n int, latency time.Duration) (time.Duration, reqs, error) {
	w, err := newWorld(dir, nexudustest.Options{Latency: latency},
		coredatatest.Options{APILatency: latency, StorageLatency: latency}, nexudus.Config{RequestsPerMinute: -1, RequestsPerHour: -1})
	if err != nil {
		return 0, reqs{}, err
	}
	defer w.close()
	now := time.Now()
	w.addHistory(n, now.Add(-23*time.Hour), now.Add(-time.Minute), 2048)
	start := time.Now()
	work := make(chan nexudus.File)
	errs := make(chan error, 5)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if err := bareMirror(ctx, w, f); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	q := nexudus.ListQuery{UpdatedFrom: now.Add(-24 * time.Hour)}
	for page := 1; ; page++ {
		p, err := w.src.ListPage(ctx, q, page)
		if err != nil {
			errs <- err
			break
		}
		for _, f := range p.Records {
			work <- f
		}
		if !p.HasNextPage {
			break
		}
	}
	close(work)
	wg.Wait()
	wall := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, reqs{}, err
	}
	if got := len(w.cd.Files()); got != n {
		return 0, reqs{}, fmt.Errorf("bare clients made %d files of %d", got, n)
	}
	return wall, w.reqs(), nil
}

func bareMirror(ctx context.Context, w *world, f nexudus.File) error {
	d, err := w.src.Download(ctx, f)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(d.Body)
	d.Body.Close()
	if err != nil {
		return err
	}
	blob, err := w.sink.RequestBlob(ctx, "application/pdf", int64(len(b)))
	if err != nil {
		return err
	}
	if err := w.sink.PutBlob(ctx, blob, bytes.NewReader(b), int64(len(b)), "application/pdf", f.SignedFileDataFileName); err != nil {
		return err
	}
	id, err := w.sink.CreateFile(ctx, coredata.NewFile{BlobName: blob.Name, Filename: f.SignedFileDataFileName, Title: f.Name, Parent: parentID})
	if err != nil {
		return err
	}
	_, err = w.sink.GetFile(ctx, id)
	return err
}

// bound is BENCHMARKS.md's: max((N-1)/rate + requests-per-file × latency,
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

func (r *wallResult) rows() []row {
	rows := []row{r.row()}
	if r.Bare > 0 {
		b, _, _ := r.bound()
		rows = append(rows, row{
			Figure: fmt.Sprintf("The same %d files by the bare clients in the engine's pattern, no engine (no state file, no spool, in process): this harness' floor (%d requests)",
				r.Files, r.BareReqs.nexudus()+r.BareReqs.coredata()),
			Value: r.Bare.Round(10 * time.Millisecond).String(), Bound: b.Round(10 * time.Millisecond).String(),
			Ratio: ratio(float64(r.Bare), float64(b)), Goal: "-", Verdict: info,
		}, row{
			Figure: "syncd over that floor: `syncd run -once` wall time / the bare clients' (what the engine itself adds: state commits, spooling, process start)",
			Value:  fmt.Sprintf("%.3f", float64(r.Wall)/float64(r.Bare)), Bound: "1", Ratio: ratio(float64(r.Wall), float64(r.Bare)), Goal: "-", Verdict: info,
		})
	}
	return rows
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
