// Command bench measures syncd against the limits the APIs set, at the
// scale of a large operator (100,000 contracts), and prints one table:
// each figure, its floor or bound, their ratio, the goal and the result.
//
//	go run ./bench           # every measurement, under 10 minutes on 2 cores
//	go run ./bench -smoke    # the same code at small sizes, in seconds
//
// Everything runs on loopback against the simulators of both APIs
// (nexudustest, coredatatest), which count every request they receive:
// request figures are counted, never assumed. Figures of the process
// (wall time, peak RSS, idle CPU, a poll at 100,000 mappings, state
// rebuild) come from the syncd binary, built first and run as a child
// process so that the harness' own memory and CPU do not count; the leak
// check and the daemon's audit run the engine in a child process of this
// program. BENCHMARKS.md
// holds a run's output and explains each figure.
//
// The Go benchmarks of the hot pieces run with
//
//	go test -run '^$' -bench 'Skip|State|MD5|ListPage' ./bench/
//
// and go test ./bench/ runs the smoke sizes as a test that asserts
// correctness (every file mirrored, no duplicate, sane counts), never
// timings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

func main() {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	smoke := flag.Bool("smoke", false, "run every measurement at small sizes (seconds): a check that the harness works, not figures")
	flag.BoolVar(smoke, "short", false, "same as -smoke")
	only := flag.String("only", "", "comma-separated measurements to run ("+strings.Join(measurementNames(), ",")+"); default all")
	keep := flag.Bool("keep", false, "keep the work directory (state files, configs, logs)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sz := fullSizes
	if *smoke {
		sz = smokeSizes
	}
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	if err := run(ctx, os.Stdout, os.Stderr, sz, names, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run runs the named measurements (all when names is empty) and writes
// the table and the machine to out; progress goes to log.
func run(ctx context.Context, out, log io.Writer, sz sizes, names []string, keep bool) error {
	dir, err := os.MkdirTemp("", "syncd-bench-*")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(log, "bench: work directory", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	h := &harness{dir: dir, sz: sz, log: log}
	start, load0 := time.Now(), loadavg()
	var rows []row
	for _, m := range measurements {
		if len(names) > 0 && !contains(names, m.name) {
			continue
		}
		t := time.Now()
		fmt.Fprintf(log, "bench: %s ...\n", m.name)
		rs, err := m.run(ctx, h)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		fmt.Fprintf(log, "bench: %s done in %s\n", m.name, time.Since(t).Round(100*time.Millisecond))
		rows = append(rows, rs...)
	}
	fmt.Fprintf(out, "Command: `go run ./bench%s` (%s sizes), %s in all.\n\n", flagsOf(sz, names), sz.name, time.Since(start).Round(time.Second))
	fmt.Fprintf(out, "Machine: %s; load average %s at the start, %s at the end (other work on the machine shows here: timings suffer, counts do not).\n\n", machine(), load0, loadavg())
	writeTable(out, rows)
	misses := 0
	for _, r := range rows {
		if r.Verdict == miss {
			misses++
		}
	}
	fmt.Fprintf(out, "\n%d figures, %d with a goal missed.\n", len(rows), misses)
	return nil
}

func flagsOf(sz sizes, names []string) string {
	s := ""
	if sz.name == smokeSizes.name {
		s += " -smoke"
	}
	if len(names) > 0 {
		s += " -only " + strings.Join(names, ",")
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}

// machine names the CPU, the cores and the Go version.
func machine() string {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (nproc), %s %s/%s", model, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// loadavg is the 1-minute load average.
func loadavg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(raw)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// harness is what every measurement shares.
type harness struct {
	dir string
	sz  sizes
	log io.Writer
	bin string // the syncd binary, built on first use
}

// errSkipped marks a measurement left out of a run.
var errSkipped = errors.New("skipped")

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "bench:   "+format+"\n", args...)
}

// subdir makes a directory of the work directory for one measurement.
func (h *harness) subdir(name string) string {
	d := h.dir + "/" + name
	if err := os.MkdirAll(d, 0o700); err != nil {
		panic(err) // the work directory was just made by us
	}
	return d
}
