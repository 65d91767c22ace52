package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// Event sequences that broke the contract, each written as a test before
// its fix. The README's Reliability table names each under its guarantee.

// The daemon runs, so its cursor is at now. An operator then runs a
// backfill, and 250 records share the minute where two windows meet (a
// bulk import). Window 2 starts on that minute and its first pages hold
// only records window 1 already saw: the walk must page on through them to
// the rest of the window, not stop and record the window as done.
func TestBackfillPagesThroughABoundaryMinuteWindowOneAlreadyRead(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.poll() // the daemon's cursor is at now
	week := 7 * 24 * time.Hour
	from := h.now.Add(-30 * 24 * time.Hour).UTC().Truncate(time.Minute)
	boundary := from.Add(week)
	h.addBulk(boundary, 250)
	later := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "Later in window 2", FileName: "l.pdf",
		Data: []byte("later"), Signed: true, UpdatedOn: boundary.Add(2 * 24 * time.Hour)})
	if _, err := h.engine().Backfill(context.Background(), from, week, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := h.store.Mapping(later); !ok {
		t.Fatalf("file %d, two days into window 2, was never mirrored", later)
	}
	h.assertMirrored()
}
