package main

import (
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

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
	if a, ok := auditStatus(st); ok {
		m.status.SetAudit(a)
	}
	if mark, ok, err := st.Backfill(); err == nil {
		var bf *syncd.BackfillStatus
		if ok {
			bf = &syncd.BackfillStatus{From: mark.From, Done: mark.Done, UpdatedAt: mark.UpdatedAt}
		}
		m.status.SetBackfill(bf)
	}
}

// auditStatus is the last audit as the state file records it, so the page
// shows it after a restart too; false before the first audit.
func auditStatus(st *state.Store) (syncd.AuditStatus, bool) {
	sum, ok, err := st.LastAudit()
	if err != nil || !ok {
		return syncd.AuditStatus{}, false
	}
	a := syncd.AuditStatus{Started: sum.Started, Finished: sum.Finished, DurationSeconds: sum.Finished.Sub(sum.Started).Seconds(),
		Complete: sum.Complete, Error: sum.Error, Repairs: sum.Repairs}
	for _, s := range syncer.AuditStatuses {
		a.Counts = append(a.Counts, syncd.AuditCount{Status: string(s), Files: sum.Counts[string(s)]})
	}
	findings, err := st.AuditFindings()
	if err != nil {
		return a, true
	}
	for id, f := range findings {
		a.Problems = append(a.Problems, syncd.AuditProblem{NexudusID: id, CoreDataID: f.CoreDataID, Status: f.Status, Reason: f.Reason, Repair: f.Repair})
	}
	sort.Slice(a.Problems, func(i, j int) bool { return a.Problems[i].NexudusID < a.Problems[j].NexudusID })
	a.ProblemsTotal = len(a.Problems)
	return a, true
}

// auditFields is the "audit done" log line: counts, not problems (each
// problem has its own line).
func auditFields(rep *syncer.AuditReport) []zap.Field {
	fields := []zap.Field{zap.Bool("complete", rep.Complete), zap.Int("parents", rep.Parents), zap.Int("listed", rep.Listed), zap.Int("read_by_id", rep.ReadByID)}
	for _, s := range syncer.AuditStatuses {
		fields = append(fields, zap.Int(string(s), rep.Counts[s]))
	}
	keys := make([]string, 0, len(rep.Repairs))
	for k := range rep.Repairs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fields = append(fields, zap.Int("repair_"+strings.ReplaceAll(k, "/", "_"), rep.Repairs[k]))
	}
	return fields
}
