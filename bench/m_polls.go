package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// pollsResult is the memory of a process that polled many times.
type pollsResult struct {
	Polls, Records int
	Points         []checkpoint
	Reqs           reqs // after the first poll
	Wall           time.Duration
}

// measurePolls runs childPolls in a child process (this program again,
// so that only the polling process' memory counts): one poll mirrors
// records new contracts, then polls-1 polls find them unchanged.
func measurePolls(ctx context.Context, h *harness, polls, records int) (*pollsResult, error) {
	dir := h.subdir("polls")
	w, err := newWorld(dir, nexudustest.Options{}, coredatatest.Options{}, nexudus.Config{})
	if err != nil {
		return nil, err
	}
	defer w.close()
	now := time.Now()
	w.addHistory(records, now.Add(-23*time.Hour), now.Add(-time.Minute), 2048)
	var points []int
	for _, p := range []int{1, 10, 100, 250, 500, 750, 1000} {
		if p <= polls {
			points = append(points, p)
		}
	}
	if points[len(points)-1] != polls {
		points = append(points, polls)
	}
	cfg, err := json.Marshal(childConfig{
		NexudusURL: w.nx.URL, NexudusUser: w.nx.Username(), NexudusPassword: w.nx.Password(),
		CoreDataURL: w.cd.URL(), CoreDataUser: w.cd.APIUser(), CoreDataKey: w.cd.APIKey(),
		StatePath: filepath.Join(dir, "state.db"), TempDir: dir, Polls: polls, Checkpoints: points,
	})
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	runErr := cmd.Run()
	res := &pollsResult{Polls: polls, Records: records, Wall: time.Since(start), Reqs: w.reqs()}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var c checkpoint
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("child: %q: %w", sc.Text(), err)
		}
		if c.Err != "" {
			return nil, fmt.Errorf("child: %s", c.Err)
		}
		res.Points = append(res.Points, c)
	}
	if runErr != nil {
		return nil, fmt.Errorf("child: %w\n%s", runErr, tail(errOut.String(), 2000))
	}
	if len(res.Points) != len(points) {
		return nil, fmt.Errorf("child reported %d checkpoints, want %d", len(res.Points), len(points))
	}
	last := res.Points[len(res.Points)-1]
	if last.Created != records || last.Unchanged != records {
		return nil, fmt.Errorf("after %d polls: %d created, %d unchanged in the last; want %d and %d", polls, last.Created, last.Unchanged, records, records)
	}
	if err := checkMirrored(w.nx, w.cd); err != nil {
		return nil, err
	}
	return res, nil
}

// leakBase is the checkpoint growth is measured from: after 100 polls
// (after 10 in a short run), once caches and pools have warmed.
func (r *pollsResult) leakBase() checkpoint {
	for _, c := range r.Points {
		if c.Polls == 100 {
			return c
		}
	}
	return r.Points[min(1, len(r.Points)-1)]
}

// warmRSS is the highest RSS up to poll 250 (up to the base of a short
// run): the level later polls are held to. RSS moves by a MiB either way
// with the GC's timing; a leak shows as a climb past it.
func (r *pollsResult) warmRSS() int64 {
	base := r.leakBase()
	var m int64
	for _, c := range r.Points {
		if c.Polls <= max(250, base.Polls) {
			m = max(m, c.VmRSS)
		}
	}
	return m
}

// warmHeap is the highest live heap up to poll 250, for the same reason:
// the heap after a GC flips between two levels about 128 KiB apart (a
// buffer held or not at that moment), so a single poll's is no base.
func (r *pollsResult) warmHeap() int64 {
	base := r.leakBase()
	var m int64
	for _, c := range r.Points {
		if c.Polls <= max(250, base.Polls) {
			m = max(m, int64(c.HeapLive))
		}
	}
	return m
}

func (r *pollsResult) rows() []row {
	base, last := r.leakBase(), r.Points[len(r.Points)-1]
	heapGrowth := int64(last.HeapLive) - r.warmHeap()
	warm := r.warmRSS()
	rss, heap := "", ""
	for _, c := range r.Points {
		rss += fmt.Sprintf(" %d: %s;", c.Polls, mib(c.VmRSS))
		heap += fmt.Sprintf(" %s;", kib(int64(c.HeapLive)))
	}
	// No growth: RSS no higher than its warm level (+512 KiB), the live
	// heap within 64 KiB of its warm level, goroutines and open files no
	// more than at poll 100.
	ok := last.VmRSS <= warm+512<<10 && heapGrowth <= 64<<10 && last.Goroutines <= base.Goroutines && last.OpenFiles <= base.OpenFiles
	return []row{{
		Figure: fmt.Sprintf("RSS after %d polls over %d mapped records, the daemon's per-poll wiring in a child process (%s). RSS after poll%s live heap after GC%s",
			r.Polls, r.Records, r.Wall.Round(time.Second), rss, heap[:len(heap)-1]),
		Value: fmt.Sprintf("%s; live heap %+d KiB over its highest up to poll %d; %d goroutines (%d), %d open files (%d)",
			mib(last.VmRSS), heapGrowth/1024, max(250, base.Polls), last.Goroutines, base.Goroutines, last.OpenFiles, base.OpenFiles),
		Bound: fmt.Sprintf("%s (highest RSS up to poll %d)", mib(warm), max(250, base.Polls)), Ratio: ratio(float64(last.VmRSS), float64(warm)),
		Goal: "no growth", Verdict: verdict(ok),
	}}
}

func kib(b int64) string { return fmt.Sprintf("%.0f KiB", float64(b)/1024) }
