package coredata

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
)

const tenMB = 10 << 20

// uploadGenerated runs RequestBlob, PutBlob and CreateFile for n generated
// bytes: the test never holds the content.
func uploadGenerated(ctx context.Context, c *Client, n int64, title string) error {
	b, err := c.RequestBlob(ctx, "application/pdf", n)
	if err != nil {
		return err
	}
	if err := c.PutBlob(ctx, b, &patternReader{n: n}, n, "application/pdf", title+".pdf"); err != nil {
		return err
	}
	_, err = c.CreateFile(ctx, NewFile{BlobName: b.Name, Filename: title + ".pdf", Title: title, Parent: "bench", Tags: []string{"nexudus"}})
	return err
}

func newBenchClient(tb testing.TB) (*Client, *coredatatest.Server) {
	sim := coredatatest.New(coredatatest.Options{})
	tb.Cleanup(sim.Close)
	c, err := New(Config{BaseURL: sim.URL(), APIUser: sim.APIUser(), APIKey: sim.APIKey()}, sim.Client(), sim.Client(), nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return c, sim
}

// BenchmarkUpload10MB: the three upload steps for a 10 MB file through the
// simulator. B/op (client and simulator together) shows that the bytes
// are streamed, not buffered.
func BenchmarkUpload10MB(b *testing.B) {
	c, sim := newBenchClient(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(tenMB)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := uploadGenerated(ctx, c, tenMB, "bench-"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := len(sim.Files()); got != b.N {
		b.Fatalf("%d files for %d uploads", got, b.N)
	}
	if f := sim.Files()[0]; f.Size != tenMB {
		b.Fatalf("size %d", f.Size)
	}
}

// TestUploadStreams is the assertion behind the benchmark: a 10 MB upload
// allocates far less than its size, so no layer holds the file in memory.
func TestUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 40 MB")
	}
	c, sim := newBenchClient(t)
	ctx := context.Background()
	if err := uploadGenerated(ctx, c, tenMB, "warm-up"); err != nil {
		t.Fatal(err)
	}
	const runs = 3
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		if err := uploadGenerated(ctx, c, tenMB, "run-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perUpload := (after.TotalAlloc - before.TotalAlloc) / runs
	t.Logf("%d bytes allocated per 10 MB upload", perUpload)
	if perUpload >= 1<<20 {
		t.Fatalf("%d bytes allocated per 10 MB upload, want < 1 MiB (the content is being buffered)", perUpload)
	}
	if f := sim.Files(); len(f) != runs+1 || f[runs].Size != tenMB {
		t.Fatalf("files %+v", f)
	}
}
