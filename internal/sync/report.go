package sync

import (
	"fmt"
	"sort"
	gosync "sync"
)

// Report is what one poll (or backfill) did.
type Report struct {
	mu gosync.Mutex

	Created, Updated, Unchanged, Skipped, Parked int
	// Adopted counts files found in CoreData and taken over instead of
	// created (also counted as unchanged or updated).
	Adopted       int
	BytesUploaded int64
	// Failed names every file that failed in this run, by Nexudus Id.
	Failed []FileError
	// Planned is what a dry run would do.
	Planned []Action
	// Legal is the terms acceptances' part (legal.enabled).
	Legal LegalReport
}

// FileError is one file's failure.
type FileError struct {
	NexudusID int64
	Err       string
}

// Action is one planned change of a dry run.
type Action struct {
	NexudusID int64
	Action    PlanKind // create, adopt, update, retitle
	// CoreDataID is the file an adopt, update or retitle acts on.
	CoreDataID string
	Title      string
	Parent     string
	Filename   string
}

func (r *Report) count(outcome Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch outcome {
	case OutcomeCreated:
		r.Created++
	case OutcomeUpdated:
		r.Updated++
	case OutcomeUnchanged:
		r.Unchanged++
	case OutcomeSkipped:
		r.Skipped++
	case OutcomeParked:
		r.Parked++
	}
}

func (r *Report) adopt() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Adopted++
}

func (r *Report) fail(id int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Failed = append(r.Failed, FileError{NexudusID: id, Err: err.Error()})
}

func (r *Report) plan(a Action) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Planned = append(r.Planned, a)
}

func (r *Report) addBytes(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.BytesUploaded += n
}

// Sort orders failures and plans by Nexudus Id for stable output.
func (r *Report) Sort() {
	sort.Slice(r.Failed, func(i, j int) bool { return r.Failed[i].NexudusID < r.Failed[j].NexudusID })
	sort.SliceStable(r.Planned, func(i, j int) bool { return r.Planned[i].NexudusID < r.Planned[j].NexudusID })
}

// Summary is one line for logs and the terminal.
func (r *Report) Summary() string {
	s := fmt.Sprintf("created=%d updated=%d unchanged=%d skipped=%d failed=%d parked=%d adopted=%d bytes_uploaded=%d",
		r.Created, r.Updated, r.Unchanged, r.Skipped, len(r.Failed), r.Parked, r.Adopted, r.BytesUploaded)
	if l := r.Legal; l.Files != nil {
		s += fmt.Sprintf(" legal_acceptances=%d legal_texts=%d legal_registers=%d legal_without_text=%d",
			l.Acceptances, l.written("text"), l.written("register"), l.UnknownTexts)
		if len(l.Denied) > 0 {
			sort.Strings(l.Denied)
			s += fmt.Sprintf(" legal_roles_missing=%v", l.Denied)
		}
	}
	return s
}

// written counts the files of a kind created or given a new version.
func (l LegalReport) written(kind string) int {
	return l.Files[kind+"/"+legalCreated] + l.Files[kind+"/"+legalUpdated]
}
