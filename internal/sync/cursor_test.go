package sync_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// A record dated hours ahead (local time written with a literal Z) is
// mirrored, logged once, and does not carry the cursor past the records
// updated before its date, even with no lookback at all.
func TestFutureRecordCannotHideLaterRecords(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "Ahead", FileName: "ahead.pdf", Data: []byte("ahead"),
		Signed: true, UpdatedOn: h.now.Add(5 * time.Hour)})
	core, logs := observer.New(zapcore.WarnLevel)
	e := h.engine(func(o *syncer.Options) { o.Lookback = 0; o.Logger = zap.New(core) })
	for i := 0; i < 3; i++ {
		if i == 1 {
			// Ten minutes later, a record updated now.
			h.now = h.now.Add(10 * time.Minute)
			h.nx.Advance(10 * time.Minute)
			h.addSigned(1, "Meanwhile", "meanwhile")
		}
		if _, err := e.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		cursor, _, _ := h.store.Cursor("all")
		if cursor.After(h.now) {
			t.Fatalf("poll %d: cursor %s past the poll's start %s", i, cursor, h.now)
		}
	}
	h.assertMirrored()
	if n := logs.FilterMessageSnippet("dated in the future").Len(); n != 1 {
		t.Fatalf("%d log lines for the future record over 3 polls, want 1", n)
	}
}

// A quiet tenant's cursor follows the clock: with nothing new, the cursor
// still moves to the poll's start.
func TestCursorFollowsTheClockWhenNothingChanges(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.addSigned(1, "A", "a")
	h.poll()
	h.now = h.now.Add(6 * time.Hour)
	h.poll()
	cursor, _, _ := h.store.Cursor("all")
	if want := h.now.UTC().Truncate(time.Minute); !cursor.Equal(want) {
		t.Fatalf("cursor %s, want the poll's start minute %s", cursor, want)
	}
}

func listFroms(h *harness) []string {
	var out []string
	for _, r := range h.nx.Requests() {
		if r.Route == nexudustest.RouteList {
			out = append(out, r.Query.Get("from_CoworkerDataFile_UpdatedOn")+".."+r.Query.Get("to_CoworkerDataFile_UpdatedOn"))
		}
	}
	return out
}

// A backfill never moves the cursor past a window whose listing failed,
// and run again with the same from it resumes at that window.
func TestBackfillStopsAtAFailedWindowAndResumes(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	from := h.now.Add(-60 * 24 * time.Hour).UTC().Truncate(time.Minute)
	week := 7 * 24 * time.Hour
	for _, d := range []int{50, 30, 10} {
		h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "Day " + itoa(int64(d)), FileName: "d.pdf",
			Data: []byte("day " + itoa(int64(d))), Signed: true, UpdatedOn: h.now.Add(-time.Duration(d) * 24 * time.Hour)})
	}
	failing := from.Add(3 * week) // the fourth window
	h.nx.FailWhen(func(r nexudustest.Route, req nexudustest.Request) bool {
		return r == nexudustest.RouteList && req.Query.Get("from_CoworkerDataFile_UpdatedOn") == nexudus.FormatMinute(failing)
	}, 1000, nexudustest.Fault{Status: 503})
	rep, err := h.engine().Backfill(context.Background(), from, week, nil)
	if err == nil {
		t.Fatal("backfill with a failed window returned no error")
	}
	if rep.Created != 1 {
		t.Fatalf("backfill: %s, want only the file before the failed window", rep.Summary())
	}
	if _, ok, _ := h.store.Cursor("all"); ok {
		t.Fatal("the cursor moved although a window's listing failed")
	}
	mark, ok, _ := h.store.Backfill()
	if !ok || !mark.Done.Equal(failing) {
		t.Fatalf("backfill mark %+v %v, want done up to %s", mark, ok, failing)
	}
	// Windows meet on their boundary minute: each to-bound is the next from.
	froms := listFroms(h)
	if froms[0] != nexudus.FormatMinute(from)+".."+nexudus.FormatMinute(from.Add(week)) ||
		froms[1] != nexudus.FormatMinute(from.Add(week))+".."+nexudus.FormatMinute(from.Add(2*week)) {
		t.Fatalf("window queries %v", froms[:2])
	}

	h.nx.ClearFaults()
	before := len(froms)
	rep, err = h.engine().Backfill(context.Background(), from, week, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first := listFroms(h)[before]; first != nexudus.FormatMinute(failing)+".."+nexudus.FormatMinute(failing.Add(week)) {
		t.Fatalf("resumed with %s, want the failed window", first)
	}
	if rep.Created != 2 {
		t.Fatalf("resumed backfill: %s", rep.Summary())
	}
	if _, ok, _ := h.store.Backfill(); ok {
		t.Fatal("the mark of a finished backfill was kept")
	}
	if c, ok, _ := h.store.Cursor("all"); !ok || c.After(h.now) {
		t.Fatalf("cursor %s %v after the backfill", c, ok)
	}
	h.assertMirrored()
}

// A backfill stopped by a signal resumes from its last completed window.
func TestBackfillInterruptedResumesFromItsLastWindow(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	from := h.now.Add(-60 * 24 * time.Hour).UTC().Truncate(time.Minute)
	week := 7 * 24 * time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	_, err := h.engine().Backfill(ctx, from, week, func(done, _ int, _ time.Time) {
		if done == 3 {
			cancel()
		}
	})
	if err == nil {
		t.Fatal("an interrupted backfill returned no error")
	}
	mark, ok, _ := h.store.Backfill()
	if !ok || !mark.Done.Equal(from.Add(3*week)) {
		t.Fatalf("mark %+v %v", mark, ok)
	}
	var progress [][2]int
	before := len(listFroms(h))
	if _, err := h.engine().Backfill(context.Background(), from, week, func(done, total int, _ time.Time) {
		progress = append(progress, [2]int{done, total})
	}); err != nil {
		t.Fatal(err)
	}
	if first := listFroms(h)[before]; first[:16] != nexudus.FormatMinute(from.Add(3*week)) {
		t.Fatalf("resumed at %s, want the fourth window", first)
	}
	if progress[0] != [2]int{4, 9} || progress[len(progress)-1] != [2]int{9, 9} {
		t.Fatalf("progress %v, want 4/9 .. 9/9", progress)
	}
}
