package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// memoryResult is the daemon mirroring large files, then idle.
type memoryResult struct {
	Files, Bytes  int
	PeakRSS       int64
	Allocated     float64 // go_memstats_alloc_bytes_total after the first poll
	Idle          time.Duration
	IdleCPU       time.Duration
	IdleSwitches  int64
	IdleReqs      int // requests either API received while the daemon was idle
	RSSAfterPoll  int64
	RSSAfterIdle  int64
	CPUResolution string
}

// measureMemory starts the syncd daemon (`syncd run`, concurrency 4, its
// /metrics on a loopback port) on n files of size bytes, reads its peak
// RSS (VmHWM) and the bytes it allocated (go_memstats_alloc_bytes_total)
// once the first poll is done, then its CPU time over idle, the
// daemon's sleep between two polls.
func measureMemory(ctx context.Context, h *harness, n, size int, idle time.Duration) (*memoryResult, error) {
	bin, err := h.binary(ctx)
	if err != nil {
		return nil, err
	}
	dir := h.subdir("memory")
	w, err := newWorld(dir, nexudustest.Options{}, coredatatest.Options{}, nexudus.Config{})
	if err != nil {
		return nil, err
	}
	defer w.close()
	now := time.Now()
	w.addHistory(n, now.Add(-time.Hour), now.Add(-time.Minute), size)
	config, err := writeConfig(dir, w.nx, w.cd, daemonConfig{rpm: -1, rph: -1, listen: "127.0.0.1:0", logLevel: "info"})
	if err != nil {
		return nil, err
	}
	d, err := startDaemon(ctx, bin, config)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	serving, err := d.waitFor(ctx, "serving /metrics, /healthz, /readyz", 1, 30*time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := d.waitFor(ctx, "poll done", 1, 10*time.Minute); err != nil {
		return nil, err
	}
	if err := checkMirrored(w.nx, w.cd); err != nil {
		return nil, err
	}
	status := fmt.Sprintf("/proc/%d/status", d.pid())
	res := &memoryResult{Files: n, Bytes: size, Idle: idle}
	res.PeakRSS, _ = procStatus(status, "VmHWM")
	res.RSSAfterPoll, _ = procStatus(status, "VmRSS")
	addr, _ := serving["addr"].(string)
	if res.Allocated, err = scrape(ctx, "http://"+addr+"/metrics", "go_memstats_alloc_bytes_total"); err != nil {
		return nil, err
	}

	w.resetCounts()
	// Let the scrape's goroutines and connections settle first.
	time.Sleep(time.Second)
	cpu0, sw0, ok := cpuTime(d.pid())
	if !ok {
		return nil, fmt.Errorf("no /proc/%d/task/*/sched: cannot read the daemon's CPU time", d.pid())
	}
	select {
	case <-time.After(idle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	cpu1, sw1, _ := cpuTime(d.pid())
	res.IdleCPU, res.IdleSwitches = cpu1-cpu0, sw1-sw0
	res.RSSAfterIdle, _ = procStatus(status, "VmRSS")
	r := w.reqs()
	res.IdleReqs = r.nexudus() + r.coredata()
	if err := d.stop(); err != nil {
		return nil, err
	}
	return res, nil
}

// scrape reads one unlabelled sample from a Prometheus text exposition.
func scrape(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := loopbackClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("scrape %s: no %s", url, name)
}

func (r *memoryResult) rows() []row {
	mb := float64(r.Files) * float64(r.Bytes) / (1 << 20)
	perMB := r.Allocated / mb
	idlePct := 100 * r.IdleCPU.Seconds() / r.Idle.Seconds()
	return []row{
		{
			Figure: fmt.Sprintf("Peak RSS of the daemon mirroring %d files of %s at concurrency 4 (VmHWM)", r.Files, mib(int64(r.Bytes))),
			Value:  mib(r.PeakRSS), Bound: "40 MiB", Ratio: ratio(float64(r.PeakRSS), 40<<20), Goal: "≤ 40 MiB",
			Verdict: verdict(r.PeakRSS <= 40<<20),
		},
		{
			Figure: fmt.Sprintf("Bytes allocated per mirrored MiB (go_memstats_alloc_bytes_total over %.0f MiB, the daemon's start included)", mb),
			Value:  thousands(int64(perMB)) + " B", Bound: "0 (the bytes are streamed)", Goal: "-", Verdict: info,
		},
		{
			Figure: fmt.Sprintf("Idle CPU of the daemon over %s between polls (%d context switches, %d requests to the APIs)", r.Idle, r.IdleSwitches, r.IdleReqs),
			Value:  fmt.Sprintf("%.4f%% (%s)", idlePct, r.IdleCPU.Round(10*time.Microsecond)),
			Bound:  "0.05%", Ratio: ratio(idlePct, 0.05), Goal: "≤ 0.05%", Verdict: verdict(idlePct <= 0.05 && r.IdleReqs == 0),
		},
		{
			Figure: fmt.Sprintf("RSS of the daemon after the poll and after %s idle", r.Idle),
			Value:  mib(r.RSSAfterPoll) + " → " + mib(r.RSSAfterIdle), Bound: "-", Goal: "-", Verdict: info,
		},
	}
}
