package main

import (
	"context"
	"fmt"
	"testing"
)

// hotBench is one Go benchmark of a hot piece, as go test -bench runs it.
type hotBench struct {
	name, what string
	f          func(*testing.B)
	metric     string // a custom metric to show instead of ns/op
	perOp      int    // records an op handles: allocations are shown per record
}

var hotBenches = []hotBench{
	{"BenchmarkSkipDecision", fmt.Sprintf("the engine's skip decision per record: a poll over %s mapped, unchanged records with in-memory APIs (state read, title, walk)", thousands(hotRecords)), benchSkipDecision, "ns/record", hotRecords},
	{"BenchmarkStateRead", fmt.Sprintf("one mapping read from a state file of %s mappings", thousands(stateReadMappings)), benchStateRead, "", 0},
	{"BenchmarkStateWriteFsync", "one mapping written, fsync on commit (as the daemon writes)", benchStateWrite(false), "", 0},
	{"BenchmarkStateWriteNoSync", "one mapping written, no fsync", benchStateWrite(true), "", 0},
	{"BenchmarkListPage", "a Nexudus list page of 100 records through the client and the simulator, per record", benchListPage, "ns/record", pageSize},
	{"BenchmarkDownloadMD5", "a 10 MiB download through the client, md5 while spooling to disk", benchDownloadMD5, "MB/s", 0},
	{"BenchmarkMD5", "md5 of 10 MiB in memory (the floor of the above)", benchMD5, "MB/s", 0},
}

// measureHot runs the Go benchmarks of the hot pieces with
// testing.Benchmark (about a second each, plus their set-up).
func measureHot(context.Context, *harness) ([]row, error) {
	var rows []row
	for _, hb := range hotBenches {
		r := testing.Benchmark(hb.f)
		if r.N == 0 {
			return nil, fmt.Errorf("%s failed", hb.name)
		}
		v := fmt.Sprintf("%s ns/op", thousands(r.NsPerOp()))
		switch hb.metric {
		case "":
		case "MB/s":
			v = fmt.Sprintf("%.0f MB/s", float64(r.Bytes)*float64(r.N)/r.T.Seconds()/1e6)
		default:
			v = fmt.Sprintf("%s %s", thousands(int64(r.Extra[hb.metric])), hb.metric)
		}
		if r.AllocsPerOp() > 0 {
			per, unit := int64(max(hb.perOp, 1)), "op"
			if hb.perOp > 0 {
				unit = "record"
			}
			v += fmt.Sprintf(", %s B and %s allocs/%s", thousands(r.AllocedBytesPerOp()/per), thousands(r.AllocsPerOp()/per), unit)
		}
		rows = append(rows, row{Figure: "`" + hb.name + "`: " + hb.what, Value: v, Bound: "-", Goal: "-", Verdict: info})
	}
	return rows, nil
}
