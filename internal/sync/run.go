package sync

import (
	"context"
	gosync "sync"
	"time"

	"go.uber.org/zap"
)

// run is one poll or one backfill: what it reports, what it has seen, and
// whether it stopped for an outage.
type run struct {
	rep   *Report
	start time.Time
	// list is the context of the listing and of handing out work; an
	// outage cancels it, so the files in flight finish and no new one starts.
	list context.Context
	out  *outage
	// listed holds the parents whose every file this run listed at its
	// start (a state file with no cursor): no per-file lookup is needed.
	listed map[string]bool
	// tags holds the parents the lookup listed, shared by the workers.
	tags tagIndex
	// refusals holds the parents CoreData refused in this run.
	refusals refusals
	// followed are the folders of followed files, read once per run.
	followedOnce gosync.Once
	followed     []string
	followedErr  error

	// Owned by the pager (one goroutine at a time): what was handed out.
	seen     map[int64]bool
	walkSeen *WalkSeen // what the signed-file walks listed, across windows
}

func (e *Engine) newRun(ctx context.Context) (*run, context.CancelFunc) {
	list, cancel := context.WithCancel(ctx)
	r := &run{
		rep: &Report{}, start: e.opt.Now(), list: list,
		listed: map[string]bool{}, seen: map[int64]bool{},
		walkSeen: NewWalkSeen(),
	}
	r.out = newOutage(e.opt.OutageAfter, cancel, e.log, e.m, e.answers)
	return r, cancel
}

// futureLog remembers the records already logged as dated in the future,
// so that each is logged once however many polls list it again.
type futureLog struct {
	mu   gosync.Mutex
	seen map[int64]time.Time
}

// maxFutureLogged bounds futureLog: past it, the memory is dropped and a
// record may be logged once more.
const maxFutureLogged = 10000

// note reports whether the record with this UpdatedOn is new to the log.
func (l *futureLog) note(id int64, t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil || len(l.seen) >= maxFutureLogged {
		l.seen = map[int64]time.Time{}
	}
	if prev, ok := l.seen[id]; ok && prev.Equal(t) {
		return false
	}
	l.seen[id] = t
	return true
}

// checkFuture logs, once per record, a record dated after this run began:
// it is mirrored, but the cursor does not follow it (it never passes the
// run's start), so it cannot hide the records updated in between.
func (e *Engine) checkFuture(r *run, id int64, t time.Time) {
	if !t.After(r.start.Add(time.Minute)) || !e.future.note(id, t) {
		return
	}
	e.log.Warn("record dated in the future: mirrored, but the cursor stays at the poll's start (a tenant writing local time as UTC, or a skewed clock)",
		zap.Int64("nexudus_id", id), zap.Time("updated_on", t), zap.Time("poll_started", r.start))
}

// followedParents reads the folders of followed files once per run.
func (r *run) followedParents(a AuditRecords) ([]string, error) {
	r.followedOnce.Do(func() { r.followed, r.followedErr = a.FollowedParents() })
	return r.followed, r.followedErr
}
