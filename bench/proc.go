package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/testbin"
)

// binary builds cmd/syncd once per run.
func (h *harness) binary(ctx context.Context) (string, error) {
	if h.bin != "" {
		return h.bin, nil
	}
	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	bin, err := testbin.BuildIn(bctx, h.subdir("bin"))
	if err != nil {
		return "", err
	}
	h.bin = bin
	return bin, nil
}

// daemonConfig is what a measurement sets in a syncd configuration; the
// rest is the default of configs/syncd.example.yaml.
type daemonConfig struct {
	rpm, rph    int    // 0: the defaults; -1: no client-side limit (loopback only)
	concurrency int    // 0: the default
	lookback    string // "": the default
	listen      string // "": no HTTP server
	logLevel    string // "": warn
}

// writeConfig writes a syncd configuration for the simulators into dir.
func writeConfig(dir string, nx *nexudustest.Server, cd *coredatatest.Server, c daemonConfig) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "nexudus:\n  base_url: %s\n  username: %s\n  password: %s\n", nx.URL, nx.Username(), nx.Password())
	for key, v := range map[string]int{"requests_per_minute": c.rpm, "requests_per_hour": c.rph} {
		switch {
		case v < 0:
			fmt.Fprintf(&b, "  %s: 0\n", key)
		case v > 0:
			fmt.Fprintf(&b, "  %s: %d\n", key, v)
		}
	}
	fmt.Fprintf(&b, "coredata:\n  base_url: %s\n  api_user: %s\n  api_key: %s\n  default_parent: %s\n", cd.URL(), cd.APIUser(), cd.APIKey(), parentID)
	fmt.Fprintf(&b, "state:\n  path: %s\n", filepath.Join(dir, "state.db"))
	fmt.Fprintf(&b, "sync:\n  temp_dir: %s\n", dir)
	if c.concurrency > 0 {
		fmt.Fprintf(&b, "  concurrency: %d\n", c.concurrency)
	}
	if c.lookback != "" {
		fmt.Fprintf(&b, "  lookback: %s\n", c.lookback)
	}
	fmt.Fprintf(&b, "http:\n  listen: %q\n", c.listen)
	level := c.logLevel
	if level == "" {
		level = "warn"
	}
	fmt.Fprintf(&b, "log:\n  level: %s\n  format: json\n", level)
	p := filepath.Join(dir, "syncd.yaml")
	return p, os.WriteFile(p, []byte(b.String()), 0o600)
}

// procResult is a finished child process.
type procResult struct {
	Wall     time.Duration
	CPU      time.Duration // user + system, from rusage
	PeakRSS  int64         // VmHWM sampled while it ran
	Output   string
	ExitCode int
}

// runProcess runs bin with args to its end, sampling its peak RSS. Peak
// RSS is read from /proc/<pid>/status (VmHWM) while the process runs:
// rusage's maxrss of a child counts the parent's memory at fork, which
// here is simulators holding up to a gigabyte of files.
func runProcess(ctx context.Context, bin string, args ...string) (*procResult, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var hwm int64
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if v, ok := procStatus(status, "VmHWM"); ok && v > hwm {
				hwm = v
			}
			select {
			case <-done:
				peak <- hwm
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	res := &procResult{Wall: time.Since(start), Output: out.String()}
	close(done)
	res.PeakRSS = <-peak
	if ps := cmd.ProcessState; ps != nil {
		res.CPU = ps.UserTime() + ps.SystemTime()
		res.ExitCode = ps.ExitCode()
	}
	if err != nil {
		return res, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, tail(res.Output, 2000))
	}
	return res, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// procStatus reads a "kB" field of /proc/<pid>/status, in bytes.
func procStatus(path, field string) (int64, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil {
				return kb * 1024, true
			}
		}
	}
	return 0, false
}

// cpuTime is the CPU time all threads of pid have run, and how many times
// they were switched in, from /proc/<pid>/task/*/sched (nanosecond
// precision; /proc/<pid>/stat counts 10 ms ticks). ok is false where the
// kernel does not expose it.
func cpuTime(pid int) (cpu time.Duration, switches int64, ok bool) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, 0, false
	}
	for _, t := range tasks {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/sched", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n") {
			k, v, found := strings.Cut(line, ":")
			if !found {
				continue
			}
			switch strings.TrimSpace(k) {
			case "se.sum_exec_runtime":
				ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err == nil {
					cpu += time.Duration(ms * float64(time.Millisecond))
					ok = true
				}
			case "nr_switches":
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				switches += n
			}
		}
	}
	return cpu, switches, ok
}

// daemon is a running `syncd run` whose JSON log lines are read as they
// come.
type daemon struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
	event chan struct{}
	done  chan error
}

func startDaemon(ctx context.Context, bin, config string) (*daemon, error) {
	d := &daemon{cmd: exec.CommandContext(ctx, bin, "run", "-config", config), event: make(chan struct{}, 1), done: make(chan error, 1)}
	d.cmd.Cancel = func() error { return d.cmd.Process.Signal(syscall.SIGTERM) }
	d.cmd.WaitDelay = 30 * time.Second
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	d.cmd.Stdout = io.Discard
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var m map[string]any
			_ = json.Unmarshal(sc.Bytes(), &m)
			d.mu.Lock()
			d.raw.Write(sc.Bytes())
			d.raw.WriteByte('\n')
			if m != nil {
				d.lines = append(d.lines, m)
			}
			d.mu.Unlock()
			select {
			case d.event <- struct{}{}:
			default:
			}
		}
		d.done <- d.cmd.Wait()
	}()
	return d, nil
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// waitFor waits until a log line with this message has been written n
// times, and returns the last one.
func (d *daemon) waitFor(ctx context.Context, msg string, n int, timeout time.Duration) (map[string]any, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		d.mu.Lock()
		var last map[string]any
		seen := 0
		for _, l := range d.lines {
			if l["msg"] == msg {
				seen++
				last = l
			}
		}
		d.mu.Unlock()
		if seen >= n {
			return last, nil
		}
		select {
		case <-d.event:
		case err := <-d.done:
			d.done <- err
			return nil, fmt.Errorf("syncd exited (%v) before logging %q\n%s", err, msg, tail(d.output(), 2000))
		case <-deadline.C:
			return nil, fmt.Errorf("syncd did not log %q within %s\n%s", msg, timeout, tail(d.output(), 2000))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.raw.String()
}

// stop sends SIGTERM and waits for the exit.
func (d *daemon) stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			return fmt.Errorf("syncd run: %w\n%s", err, tail(d.output(), 2000))
		}
		return nil
	case <-time.After(60 * time.Second):
		_ = d.cmd.Process.Kill()
		return fmt.Errorf("syncd did not stop within 60s of SIGTERM")
	}
}
