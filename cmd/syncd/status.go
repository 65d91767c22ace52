package main

import (
	"time"

	syncd "github.com/coworkdocs/syncd/internal/daemon"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// now is the Main's clock, the wall clock unless a test set one.
func (m *Main) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// pollStatus is one poll as the status page shows it.
func pollStatus(start, end time.Time, rep *syncer.Report, err error, stopping bool) syncd.PollStatus {
	p := syncd.PollStatus{Start: start, DurationSeconds: end.Sub(start).Seconds(), Result: "success"}
	switch {
	case err != nil && stopping:
		p.Result = "stopped"
	case err != nil:
		p.Result = "failure"
	}
	if err != nil {
		p.Error = err.Error()
	}
	if rep != nil {
		p.Created, p.Updated, p.Unchanged, p.Skipped = rep.Created, rep.Updated, rep.Unchanged, rep.Skipped
		p.Failed, p.Parked = len(rep.Failed), rep.Parked
	}
	return p
}

// recordStateStatus copies what the status page shows of the state file
// (failing and parked files, an unfinished backfill) while the poll has it
// open: the page itself never opens the file, so it never waits on a poll.
func (m *Main) recordStateStatus(st *state.Store) {
	if fails, err := st.Failures(); err == nil {
		files := make([]syncd.FileStatus, 0, min(len(fails), 100))
		for _, f := range fails {
			if len(files) == cap(files) {
				break
			}
			status := "failed"
			if f.Parked {
				status = "parked"
			}
			files = append(files, syncd.FileStatus{NexudusID: f.NexudusID, Status: status, Attempts: f.Attempts, NextAttempt: f.NextAttempt, LastError: f.LastError})
		}
		m.status.SetFiles(files, len(fails))
	}
	if mark, ok, err := st.Backfill(); err == nil {
		var bf *syncd.BackfillStatus
		if ok {
			bf = &syncd.BackfillStatus{From: mark.From, Done: mark.Done, UpdatedAt: mark.UpdatedAt}
		}
		m.status.SetBackfill(bf)
	}
}
