package state

import (
	"testing"
	"time"
)

// A failure of the world never parks and never touches the attempts of
// the file's own failures; a changed UpdatedOn starts afresh.
func TestRecordUnavailableNeverParks(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	upd := now.Add(-time.Hour)
	if _, err := s.RecordFailure(7, upd, "HTTP 403", now, 3, func(int) time.Duration { return time.Minute }); err != nil {
		t.Fatal(err)
	}
	var f Failure
	for i := 1; i <= 50; i++ {
		var err error
		f, err = s.RecordUnavailable(7, upd, "HTTP 503", now, func(n int) time.Duration { return time.Duration(n) * time.Second })
		if err != nil {
			t.Fatal(err)
		}
	}
	if f.Parked || f.Attempts != 1 || f.Unavailable != 50 || !f.NextAttempt.Equal(now.Add(50*time.Second)) || f.LastError != "HTTP 503" {
		t.Fatalf("after 50 outages: %+v", f)
	}
	f, err := s.RecordUnavailable(7, upd.Add(time.Minute), "HTTP 503", now, nil)
	if err != nil || f.Attempts != 0 || f.Unavailable != 1 {
		t.Fatalf("changed record: %+v %v", f, err)
	}
	if _, err := s.RecordUnavailable(0, upd, "x", now, nil); err == nil {
		t.Fatal("id 0 accepted")
	}
}

func TestParkingDropsTheIntent(t *testing.T) {
	s := newStore(t)
	now := time.Now()
	if err := s.PutIntent(Intent{NexudusID: 9, Parent: "p", Title: "t", CoreDataID: "abc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordFailure(9, now, "HTTP 400", now, 2, nil); err != nil {
		t.Fatal(err)
	}
	if in, ok, _ := s.Intent(9); !ok || in.CoreDataID != "abc" {
		t.Fatalf("intent %+v %v: dropped before parking", in, ok)
	}
	if f, err := s.RecordFailure(9, now, "HTTP 400", now, 2, nil); err != nil || !f.Parked {
		t.Fatalf("%+v %v", f, err)
	}
	if _, ok, _ := s.Intent(9); ok {
		t.Fatal("a parked file kept its intent")
	}
}

func TestRetryAllNowAndBackfillMark(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for id, max := range map[int64]int{1: 1, 2: 1, 3: 5} {
		if _, err := s.RecordFailure(id, now, "e", now, max, func(int) time.Duration { return time.Hour }); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.RetryAllNow(now, true); err != nil || n != 2 {
		t.Fatalf("retry -parked: %d %v", n, err)
	}
	if n, err := s.RetryAllNow(now, false); err != nil || n != 3 {
		t.Fatalf("retry -all: %d %v", n, err)
	}
	fails, _ := s.Failures()
	for _, f := range fails {
		if f.Parked || f.Attempts != 0 || !f.NextAttempt.Equal(now) {
			t.Fatalf("after retry -all: %+v", f)
		}
	}

	if _, ok, err := s.Backfill(); ok || err != nil {
		t.Fatalf("mark before any backfill: %v %v", ok, err)
	}
	mark := BackfillMark{From: now.Add(-72 * time.Hour), Done: now.Add(-24 * time.Hour), UpdatedAt: now}
	if err := s.SetBackfill(mark); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.Backfill(); !ok || err != nil || !got.From.Equal(mark.From) || !got.Done.Equal(mark.Done) {
		t.Fatalf("mark %+v %v %v", got, ok, err)
	}
	if cursors, err := s.Cursors(); err != nil || len(cursors) != 0 {
		t.Fatalf("the mark shows as a cursor: %v %v", cursors, err)
	}
	if err := s.ClearBackfill(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Backfill(); ok {
		t.Fatal("mark kept after clear")
	}
}
