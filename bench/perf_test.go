package main

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/testbin"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// buildSyncd builds the binary once per benchmark run.
func buildSyncd(tb testing.TB) string { return testbin.Build(tb) }

// runOnce runs `syncd run -once` with a config for the simulators (rpm 0:
// no client-side limit) and returns its wall time and peak RSS.
func runOnce(b *testing.B, bin string, nx *nexudustest.Server, cd *coredatatest.Server, rpm, concurrency int) (time.Duration, int64) {
	b.Helper()
	c := daemonConfig{rpm: rpm, rph: -1, concurrency: concurrency}
	if rpm == 0 {
		c.rpm = -1
	}
	config, err := writeConfig(b.TempDir(), nx, cd, c)
	if err != nil {
		b.Fatal(err)
	}
	res, err := runProcess(context.Background(), bin, "run", "-once", "-config", config)
	if err != nil {
		b.Fatal(err)
	}
	return res.Wall, res.PeakRSS
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
		b.StartTimer()
		_, rss := runOnce(b, bin, nx, cd, 0, 4)
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
// the bound of BENCHMARKS.md: max((N-1)/rate + perFile*latency,
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
				b.StartTimer()
				wall, _ := runOnce(b, bin, nx, cd, rpm, concurrency)
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
