package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// The bodies of the Go benchmarks of the hot pieces. hot_test.go runs them
// under go test -bench; the harness runs them with testing.Benchmark, so
// that one command gives every figure.

// hotRecords is how many mapped records the skip benchmark polls over.
const hotRecords = 10_000

// benchSkipDecision is the per-record skip path: a poll over records that
// are all mapped and unchanged, through the engine's public API, with an
// in-memory Nexudus and CoreData so that only the engine counts (the
// decision, its state read, the title it renders, the walk). It reports
// ns/record.
func benchSkipDecision(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := state.Open(filepath.Join(dir, "state.db"), state.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Now().Truncate(time.Minute)
	src := newMemSource(hotRecords, pageSize, now.Add(-time.Duration(hotRecords)*time.Minute-time.Hour), time.Minute)
	sink := newMemSink()
	e, err := syncer.New(src, sink, st, syncer.Options{
		ParentFor: func(int64) (string, bool) { return parentID, true },
		Lookback:  time.Duration(hotRecords)*time.Minute + 2*time.Hour, Tags: []string{"nexudus"},
		TempDir: dir, Logger: zap.NewNop(),
	})
	if err != nil {
		b.Fatal(err)
	}
	if rep, err := poll(ctx, e); err != nil || rep.Created != hotRecords {
		b.Fatalf("first poll: %v %v", err, rep)
	}
	calls := sink.Calls()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := poll(ctx, e)
		if err != nil || rep.Unchanged != hotRecords {
			b.Fatalf("poll: %v %v", err, rep)
		}
	}
	b.StopTimer()
	if sink.Calls() != calls {
		b.Fatalf("polls of unchanged records called CoreData %d times", sink.Calls()-calls)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/hotRecords, "ns/record")
}

// stateWith opens a state file holding n mappings.
func stateWith(b *testing.B, n int, opts state.Options) *state.Store {
	st, err := state.Open(filepath.Join(b.TempDir(), "state.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	for i := 1; i <= n; i++ {
		if err := st.PutMapping(mappingOf(int64(i))); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

func mappingOf(id int64) state.Mapping {
	sum := md5.Sum([]byte{byte(id), byte(id >> 8), byte(id >> 16)})
	return state.Mapping{
		NexudusID: id, CoreDataID: "0000" + hex.EncodeToString(sum[:])[:28] + "-c",
		MD5: hex.EncodeToString(sum[:]), Size: 180_000, UpdatedOn: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(id) * time.Minute),
		SnapshotID: "snap-" + hex.EncodeToString(sum[:8]), Title: "Member 17 - Contract 1234", Parent: parentID,
		Filename: "contract-1234-signed.pdf", SyncedAt: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
	}
}

// stateReadMappings is the size of the store the read benchmark reads.
const stateReadMappings = 20_000

// benchStateRead is one Mapping lookup (what the skip path does per
// record) in a store of 20,000 mappings.
func benchStateRead(b *testing.B) {
	st := stateWith(b, stateReadMappings, state.Options{NoSync: true})
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok, err := st.Mapping(1 + r.Int64N(stateReadMappings)); err != nil || !ok {
			b.Fatal(err, ok)
		}
	}
}

// benchStateWrite is one PutMapping, committed as the daemon commits
// (fsync) or without fsync.
func benchStateWrite(noSync bool) func(b *testing.B) {
	return func(b *testing.B) {
		st := stateWith(b, 0, state.Options{NoSync: noSync})
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := st.PutMapping(mappingOf(int64(i + 1))); err != nil {
				b.Fatal(err)
			}
		}
	}
}

const md5Bytes = 10 << 20

// benchMD5 is the floor of hashing: md5 over 10 MB in memory.
func benchMD5(b *testing.B) {
	data := payload(1, md5Bytes)
	b.SetBytes(md5Bytes)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		md5.Sum(data)
	}
}

// benchDownloadMD5 is a 10 MB download through the Nexudus client, hashed
// while it is spooled to a file, as the engine does.
func benchDownloadMD5(b *testing.B) {
	sim := nexudustest.New(nexudustest.Options{})
	defer sim.Close()
	f := contract(1, time.Now(), md5Bytes)
	f.ID = sim.AddFile(f)
	c, err := nexudus.New(nexudus.Config{BaseURL: sim.URL, Username: sim.Username(), Password: sim.Password(),
		RequestsPerMinute: -1, RequestsPerHour: -1}, sim.Client(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	rec := nexudus.File{ID: f.ID, SignedFileDataFileName: f.SignedFileName}
	spool := filepath.Join(b.TempDir(), "spool")
	ctx := context.Background()
	want := md5.Sum(f.SignedData)
	b.SetBytes(md5Bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := c.Download(ctx, rec)
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(spool)
		if err != nil {
			b.Fatal(err)
		}
		h := md5.New()
		_, err = io.Copy(io.MultiWriter(out, h), d.Body)
		d.Body.Close()
		out.Close()
		if err != nil {
			b.Fatal(err)
		}
		if [16]byte(h.Sum(nil)) != want {
			b.Fatal("md5 differs")
		}
	}
}

// benchListPage is one Nexudus list page of 100 records through the
// client and the simulator: HTTP, JSON on both sides. It reports
// ns/record.
func benchListPage(b *testing.B) {
	sim := nexudustest.New(nexudustest.Options{})
	defer sim.Close()
	now := time.Now()
	for i, at := range spread(pageSize, now.Add(-time.Hour), now) {
		sim.AddFile(contract(i, at, 64))
	}
	c, err := nexudus.New(nexudus.Config{BaseURL: sim.URL, Username: sim.Username(), Password: sim.Password(),
		RequestsPerMinute: -1, RequestsPerHour: -1}, sim.Client(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	q := nexudus.ListQuery{UpdatedFrom: now.Add(-2 * time.Hour)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := c.ListPage(ctx, q, 1)
		if err != nil || len(p.Records) != pageSize {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/pageSize, "ns/record")
}
