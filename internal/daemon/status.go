package daemon

import (
	"regexp"
	gosync "sync"
	"time"
)

// Status is what the status page and /status.json show. It holds ids,
// counts, times and error texts with quoted values blanked: never a
// title, a person's name or a file name, because the port has no
// authentication and those are personal data.
type Status struct {
	Version     string          `json:"version"`
	StartedAt   time.Time       `json:"started_at"`
	GeneratedAt time.Time       `json:"generated_at"`
	Polls       []PollStatus    `json:"polls"` // newest first
	Files       []FileStatus    `json:"files"` // failing or parked, by Nexudus Id
	FilesTotal  int             `json:"files_total"`
	Backfill    *BackfillStatus `json:"backfill"` // unfinished backfill, if any
	// AuditSchedule is audit.schedule; "" when the audit is off.
	AuditSchedule string       `json:"audit_schedule"`
	Audit         *AuditStatus `json:"audit"` // the last audit, nil before the first
}

// AuditStatus is the last audit, as the state file records it.
type AuditStatus struct {
	Started         time.Time `json:"started"`
	Finished        time.Time `json:"finished"`
	DurationSeconds float64   `json:"duration_seconds"`
	// Complete: every mapping was checked; else Error says what stopped it.
	Complete bool           `json:"complete"`
	Error    string         `json:"error,omitempty"`
	Counts   []AuditCount   `json:"counts"`            // every status, in SPEC's order
	Repairs  map[string]int `json:"repairs,omitempty"` // "<action>/<result>"
	Problems []AuditProblem `json:"problems"`          // by Nexudus Id
	// ProblemsTotal counts every problem; Problems holds the first few.
	ProblemsTotal int `json:"problems_total"`
}

// AuditCount is how many mapped files the last audit found in one status.
type AuditCount struct {
	Status string `json:"status"`
	Files  int    `json:"files"`
}

// AuditProblem is one mapped file that the last audit did not find ok.
type AuditProblem struct {
	NexudusID  int64  `json:"nexudus_id"`
	CoreDataID string `json:"coredata_id"`
	Status     string `json:"status"`
	Reason     string `json:"reason"`
	Repair     string `json:"repair"`
}

// PollStatus is one finished poll.
type PollStatus struct {
	Start           time.Time `json:"start"`
	DurationSeconds float64   `json:"duration_seconds"`
	Result          string    `json:"result"` // success, failure, stopped
	Created         int       `json:"created"`
	Updated         int       `json:"updated"`
	Unchanged       int       `json:"unchanged"`
	Skipped         int       `json:"skipped"`
	Failed          int       `json:"failed"`
	Parked          int       `json:"parked"`
	Error           string    `json:"error,omitempty"`
}

// FileStatus is one file that is failing or parked.
type FileStatus struct {
	NexudusID   int64     `json:"nexudus_id"`
	Status      string    `json:"status"` // failed, parked
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error"`
}

// BackfillStatus is the mark of a backfill that has not finished.
type BackfillStatus struct {
	From      time.Time `json:"from"`
	Done      time.Time `json:"done"`
	UpdatedAt time.Time `json:"updated_at"`
}

// keptPolls and keptFiles bound what the page holds: it is for a person
// to read, and the state file (`syncd state ls`) has the rest.
const (
	keptPolls = 10
	keptFiles = 100
)

// StatusBook collects the status as the daemon runs; the page reads a
// snapshot. Everything is copied in and out under the lock.
type StatusBook struct {
	mu gosync.Mutex
	s  Status
}

// NewStatusBook starts a book for this process.
func NewStatusBook(version string, now time.Time) *StatusBook {
	return &StatusBook{s: Status{Version: version, StartedAt: now}}
}

// RecordPoll adds a finished poll, keeping the last few.
func (b *StatusBook) RecordPoll(p PollStatus) {
	p.Error = Impersonal(p.Error)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.Polls = append([]PollStatus{p}, b.s.Polls...)
	if len(b.s.Polls) > keptPolls {
		b.s.Polls = b.s.Polls[:keptPolls]
	}
}

// SetFiles replaces the failing and parked files (the first few of them)
// and their total.
func (b *StatusBook) SetFiles(files []FileStatus, total int) {
	if len(files) > keptFiles {
		files = files[:keptFiles]
	}
	out := make([]FileStatus, len(files))
	for i, f := range files {
		f.LastError = Impersonal(f.LastError)
		out[i] = f
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.Files, b.s.FilesTotal = out, total
}

// SetBackfill sets the unfinished backfill, nil when there is none.
func (b *StatusBook) SetBackfill(bf *BackfillStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if bf != nil {
		c := *bf
		bf = &c
	}
	b.s.Backfill = bf
}

// SetAuditSchedule records audit.schedule ("" when the audit is off).
func (b *StatusBook) SetAuditSchedule(spec string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.AuditSchedule = spec
}

// SetAudit replaces the last audit (the first few of its problems).
func (b *StatusBook) SetAudit(a AuditStatus) {
	a.Error = Impersonal(a.Error)
	a.Counts = append([]AuditCount(nil), a.Counts...)
	repairs := make(map[string]int, len(a.Repairs))
	for k, n := range a.Repairs {
		repairs[k] = n
	}
	a.Repairs = repairs
	a.ProblemsTotal = max(a.ProblemsTotal, len(a.Problems))
	problems := make([]AuditProblem, 0, min(len(a.Problems), keptFiles))
	for _, p := range a.Problems[:cap(problems)] {
		p.Reason, p.Repair = Impersonal(p.Reason), Impersonal(p.Repair)
		problems = append(problems, p)
	}
	a.Problems = problems
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.Audit = &a
}

// Snapshot copies the status out.
func (b *StatusBook) Snapshot(now time.Time) Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.s
	s.GeneratedAt = now
	s.Polls = append([]PollStatus(nil), b.s.Polls...)
	s.Files = append([]FileStatus(nil), b.s.Files...)
	if b.s.Backfill != nil {
		c := *b.s.Backfill
		s.Backfill = &c
	}
	if b.s.Audit != nil {
		// SetAudit made its slices and map; nothing writes to them after.
		c := *b.s.Audit
		s.Audit = &c
	}
	return s
}

// quoted matches what errors quote: titles, file names, API messages that
// may repeat them (`coredata: create file "Ada Lovelace - Contract"`).
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|“[^”]*”`)

// maxErrorText bounds an error text on the page.
const maxErrorText = 300

// Impersonal blanks quoted values in an error text and bounds its length,
// so the page shows what went wrong without the personal data an error
// may quote.
func Impersonal(s string) string {
	s = quoted.ReplaceAllString(s, `"…"`)
	if r := []rune(s); len(r) > maxErrorText {
		s = string(r[:maxErrorText]) + "…"
	}
	return s
}
