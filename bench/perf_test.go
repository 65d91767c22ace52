package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/testbin"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// buildSyncd builds the binary once per benchmark run.
func buildSyncd(b *testing.B) string { return testbin.Build(b) }

func writeConfig(b *testing.B, nx *nexudustest.Server, cd *coredatatest.Server, rpm, concurrency int) string {
	b.Helper()
	dir := b.TempDir()
	p := filepath.Join(dir, "syncd.yaml")
	cfg := fmt.Sprintf(`nexudus:
  base_url: %s
  username: %s
  password: %s
  requests_per_minute: %d
  requests_per_hour: 0
coredata:
  base_url: %s
  api_user: %s
  api_key: %s
  default_parent: 313ae0be-71cf-11ee-b1e9-ebd554949e29
state:
  path: %s
sync:
  concurrency: %d
  temp_dir: %s
http:
  listen: ""
log:
  level: warn
`, nx.URL, nx.Username(), nx.Password(), rpm, cd.URL(), cd.APIUser(), cd.APIKey(), filepath.Join(dir, "state.db"), concurrency, dir)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// runOnce runs `syncd run -once` and returns its wall time and peak RSS.
//
// The peak is read from /proc/<pid>/status (VmHWM) while the process runs:
// rusage's maxrss of a child counts the parent's memory at fork, which
// here is a simulator holding a gigabyte of files.
func runOnce(b *testing.B, bin, config string) (time.Duration, int64) {
	b.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, "run", "-once", "-config", config)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var hwm int64
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if v, ok := readHWM(status); ok && v > hwm {
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
	wall := time.Since(start)
	close(done)
	hwm := <-peak
	if err != nil {
		b.Fatalf("syncd run -once: %v\n%s", err, out.String())
	}
	return wall, hwm
}

// readHWM reads VmHWM (peak resident set) in bytes.
func readHWM(path string) (int64, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb); err == nil {
				return kb * 1024, true
			}
		}
	}
	return 0, false
}

// BenchmarkPeakRSS100x10MB mirrors 100 files of 10 MB at concurrency 4;
// the budget is a peak RSS under 64 MiB.
func BenchmarkPeakRSS100x10MB(b *testing.B) {
	bin := buildSyncd(b)
	var peak int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		nx := nexudustest.New(nexudustest.Options{ChunkedDownloads: i%2 == 1})
		cd := coredatatest.New(coredatatest.Options{})
		for j := 0; j < 100; j++ {
			data := bytes.Repeat([]byte{byte(j)}, 10<<20)
			nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: fmt.Sprint("big ", j), FileName: "big.pdf", Data: data, Signed: true})
		}
		config := writeConfig(b, nx, cd, 0, 4)
		b.StartTimer()
		_, rss := runOnce(b, bin, config)
		b.StopTimer()
		if n := len(cd.Files()); n != 100 {
			b.Fatalf("mirrored %d files", n)
		}
		peak = max(peak, rss)
		nx.Close()
		cd.Close()
		runtime.GC()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	if peak > 64<<20 {
		b.Errorf("peak RSS %.1f MiB is over the 64 MiB budget", float64(peak)/(1<<20))
	}
}

// BenchmarkWallTimeVsBound mirrors N small files through simulators that
// answer every request after a fixed latency and reports wall time over
// the bound of SPEC.md: max((N-1)/rate + perFile*latency,
// allRequests*latency/concurrency). The budget is a ratio of 1.2.
func BenchmarkWallTimeVsBound(b *testing.B) {
	const (
		n           = 120
		latency     = 25 * time.Millisecond
		concurrency = 4
	)
	for _, rpm := range []int{0, 120} {
		b.Run(fmt.Sprintf("rate=%d/min", rpm), func(b *testing.B) {
			if rpm != 0 && testing.Short() {
				b.Skip("the rate-limited case takes a minute")
			}
			bin := buildSyncd(b)
			var worst float64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				nx := nexudustest.New(nexudustest.Options{Latency: latency})
				cd := coredatatest.New(coredatatest.Options{APILatency: latency, StorageLatency: latency})
				for j := 0; j < n; j++ {
					nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: fmt.Sprint("c", j), FileName: "c.pdf", Data: []byte(fmt.Sprint("contract ", j)), Signed: true})
				}
				config := writeConfig(b, nx, cd, rpm, concurrency)
				b.StartTimer()
				wall, _ := runOnce(b, bin, config)
				b.StopTimer()
				all := 0
				for _, c := range nx.Counts() {
					all += c
				}
				for _, c := range cd.Counts() {
					all += c
				}
				perFile := 5 // one download, then blob URL, PUT, create, verify
				bound := time.Duration(all) * latency / concurrency
				if rpm > 0 {
					rated := time.Duration(float64(n-1)/(float64(rpm)/60)*float64(time.Second)) + time.Duration(perFile)*latency
					bound = max(bound, rated)
				}
				worst = max(worst, float64(wall)/float64(bound))
				nx.Close()
				cd.Close()
			}
			b.ReportMetric(worst, "wall/bound")
			if worst > 1.2 {
				b.Errorf("wall time %.2fx the bound, budget 1.2x", worst)
			}
		})
	}
}
