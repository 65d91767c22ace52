package sync_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// shiftingSource changes a record right after the first page of a walk
// was read: the record moves to the end of the UpdatedOn order and every
// record behind it moves up one place.
type shiftingSource struct {
	syncer.Source
	once  func()
	fired bool
}

func (s *shiftingSource) ListPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.Page, error) {
	p, err := s.Source.ListPage(ctx, q, page)
	if err == nil && !s.fired && page == 1 && p.HasNextPage {
		s.fired = true
		s.once()
	}
	return p, err
}

func TestRecordsShiftingBetweenPagesAreCaughtByTheNextPoll(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	at := h.nx.Now().Truncate(time.Minute)
	first := h.addBulk(at, 150)
	src := &shiftingSource{Source: h.src, once: func() {
		h.nx.Advance(2 * time.Minute)
		later := h.nx.Now()
		h.nx.UpdateFile(first, func(f *nexudustest.FileSpec) { f.UpdatedOn = later })
	}}
	zero := func(o *syncer.Options) { o.Lookback = 0 }
	opt := h.opt
	zero(&opt)
	e, err := syncer.New(src, h.sink, h.store, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(h.cd.Files()) != 149 {
		t.Fatalf("the shift should have hidden one record from this poll, CoreData has %d", len(h.cd.Files()))
	}
	// With no lookback at all, only the held-back cursor can bring the
	// hidden record into the next poll.
	h.now = h.now.Add(time.Hour)
	h.poll(zero)
	h.assertMirrored()
}

func TestPerLocationCursorsAndFilter(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.addSigned(1, "A", "a")
	h.addSigned(2, "B", "b")
	h.addSigned(3, "C", "c")
	rep := h.poll(func(o *syncer.Options) { o.Businesses = []int64{1, 2} })
	if rep.Created != 2 || rep.Skipped != 0 {
		t.Fatalf("poll: %s", rep.Summary())
	}
	for _, key := range []string{"business-1", "business-2"} {
		if _, ok, _ := h.store.Cursor(key); !ok {
			t.Errorf("no cursor %s", key)
		}
	}
	for _, q := range h.nx.ListQueries() {
		if b := q.Get("CoworkerDataFile_Business"); b != "1" && b != "2" {
			t.Errorf("list without a location filter: %v", q)
		}
	}
}

func TestRebuildAfterLosingTheStateUploadsNothing(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	for i := 0; i < 5; i++ {
		h.addSigned(1+int64(i%2), "Contract "+itoa(int64(i)), "body "+itoa(int64(i)))
	}
	h.poll()
	h.store.Close()
	if err := os.Remove(h.path); err != nil {
		t.Fatal(err)
	}
	h.open()
	rep, err := syncer.Rebuild(context.Background(), h.sink, h.store, []string{parentA, parentB, parentA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Parents != 2 || rep.Restored != 5 || rep.Files != 5 || len(rep.Ambiguous) != 0 {
		t.Fatalf("rebuild %+v", rep)
	}
	writes := h.writes()
	r := h.poll()
	if h.writes() != writes || r.Created+r.Updated != 0 {
		t.Fatalf("run after rebuild uploaded: %s", r.Summary())
	}
	h.assertMirrored()
	// A second rebuild finds everything already right.
	rep, err = syncer.Rebuild(context.Background(), h.sink, h.store, []string{parentA, parentB}, nil)
	if err != nil || rep.Kept != 5 || rep.Restored != 0 {
		t.Fatalf("second rebuild %+v %v", rep, err)
	}
}

func TestMetricsCountOutcomes(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	reg := prometheus.NewPedanticRegistry()
	m := syncer.NewMetrics(reg)
	h.addSigned(1, "A", "a")
	h.addSigned(3, "C", "c")
	h.poll(func(o *syncer.Options) { o.Metrics = m })
	want := `
# HELP syncd_files_total Files handled, by outcome (created, updated, unchanged, skipped, failed, parked).
# TYPE syncd_files_total counter
syncd_files_total{outcome="created"} 1
syncd_files_total{outcome="failed"} 0
syncd_files_total{outcome="parked"} 0
syncd_files_total{outcome="skipped"} 1
syncd_files_total{outcome="unchanged"} 0
syncd_files_total{outcome="updated"} 0
# HELP syncd_mapped_files Nexudus files mapped to a CoreData file in the state file.
# TYPE syncd_mapped_files gauge
syncd_mapped_files 1
# HELP syncd_polls_total Polls of Nexudus, by result (success, failure).
# TYPE syncd_polls_total counter
syncd_polls_total{result="failure"} 0
syncd_polls_total{result="success"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "syncd_files_total", "syncd_mapped_files", "syncd_polls_total"); err != nil {
		t.Fatal(err)
	}
	bytes := `
# HELP syncd_bytes_uploaded_total Bytes uploaded to CoreData storage.
# TYPE syncd_bytes_uploaded_total counter
syncd_bytes_uploaded_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(bytes), "syncd_bytes_uploaded_total"); err != nil {
		t.Fatal(err)
	}
}
