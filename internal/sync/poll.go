package sync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// location is one cursor: all locations, or one listed in config.
type location struct {
	key      string
	business int64
}

func (e *Engine) locations() []location {
	if len(e.opt.Businesses) == 0 {
		return []location{{key: "all"}}
	}
	out := make([]location, len(e.opt.Businesses))
	for i, b := range e.opt.Businesses {
		out[i] = location{key: "business-" + strconv.FormatInt(b, 10), business: b}
	}
	return out
}

// Poll runs one poll: adopt what CoreData already holds when the state file
// is new, walk every location from its cursor minus the lookback, retry
// failed files whose time has come, and move the cursors. A poll error
// (listing failed, or an outage stopped the poll early) is returned;
// per-file failures are in the report.
func (e *Engine) Poll(ctx context.Context) (*Report, error) {
	r, cancel := e.newRun(ctx)
	defer cancel()
	e.adoptOnFreshState(r)
	var errs []error
	for _, loc := range e.locations() {
		if r.out.tripped() {
			break
		}
		if err := e.pollLocation(r, loc); err != nil {
			errs = append(errs, err)
		}
	}
	if err := e.pollLegal(r); err != nil {
		errs = append(errs, fmt.Errorf("terms acceptances: %w", err))
	}
	return e.finish(ctx, r, errs)
}

// finish ends a poll or a backfill: retry the due failures it did not
// list, refresh the gauges, count the poll.
func (e *Engine) finish(ctx context.Context, r *run, errs []error) (*Report, error) {
	if ctx.Err() == nil && !r.out.tripped() {
		e.retryDue(r, false)
	}
	e.refreshGauges()
	r.out.end()
	if err := r.out.err(); err != nil {
		// The listing errors it caused say the same thing again.
		errs = []error{err}
	}
	if n := r.refusals.count(); n > 0 {
		errs = append(errs, fmt.Errorf("%w: %d parent(s) refused; their files wait for the next poll (see the log line naming each)", errParentRefused, n))
	}
	e.m.setParentsRefused(r.refusals.count())
	err := errors.Join(errs...)
	e.m.poll(err == nil, e.opt.Now().Sub(r.start), e.opt.Now())
	r.rep.Sort()
	return r.rep, err
}

func (e *Engine) pollLocation(r *run, loc location) error {
	cursor, hasCursor, err := e.cursors.Cursor(loc.key)
	if err != nil {
		return fmt.Errorf("read cursor %s: %w", loc.key, err)
	}
	from := r.start.Add(-e.opt.Lookback)
	if hasCursor {
		from = cursor.Add(-e.opt.Lookback)
	}
	w, err := e.walk(r, nexudus.ListQuery{UpdatedFrom: from, Business: loc.business})
	if err != nil {
		return fmt.Errorf("poll %s: %w", loc.key, err)
	}
	return e.advanceCursor(r, loc.key, cursor, hasCursor, w.lowWater)
}

// advanceCursor moves a cursor forward, never back, and never past the
// minute the run started: a record dated in the future must not carry it
// over the records updated before that date. A low-water mark below the
// cursor is still covered, because the next poll reads from the cursor
// minus the lookback, which is below anything this poll listed.
func (e *Engine) advanceCursor(r *run, key string, old time.Time, hasOld bool, lowWater time.Time) error {
	next := lowWater
	if limit := minute(r.start); next.After(limit) {
		next = limit
	}
	if hasOld && old.After(next) {
		next = old
	}
	if e.opt.DryRun {
		return nil
	}
	if !hasOld || !next.Equal(old) {
		if err := e.cursors.SetCursor(key, next); err != nil {
			return fmt.Errorf("save cursor %s: %w", key, err)
		}
	}
	e.m.setCursor(next)
	return nil
}

// adoptOnFreshState maps every tagged file CoreData shows the API user
// when the state file knows nothing yet (no cursor, no mapping, no
// intent): a lost state file, a new volume, a reinstalled host. It lists
// the whole tenant, not only the configured parents, because a person may
// have re-filed a mirrored file in another folder; the per-record lookup
// lists only the record's parent (see docs/design.md#guarantee-1).
func (e *Engine) adoptOnFreshState(r *run) {
	if e.opt.DryRun || len(e.opt.Parents) == 0 {
		return
	}
	for _, loc := range e.locations() {
		if _, ok, err := e.cursors.Cursor(loc.key); err != nil || ok {
			return
		}
	}
	if mapped, _, _, intents, err := e.counts(); err != nil || mapped > 0 || intents > 0 {
		return
	}
	rr, err := Rebuild(r.list, e.sink, e.mappings, []string{WholeTenant}, e.log)
	if err != nil {
		e.log.Warn("new state file: could not list CoreData to adopt files mirrored before; each file is looked up before its create instead", zap.Error(err))
		return
	}
	for _, p := range e.opt.Parents {
		r.listed[p] = true
	}
	e.log.Info("new state file: adopted the files CoreData already holds for Nexudus records (as syncd state rebuild does)",
		zap.Int("parents", rr.Parents), zap.Int("files_seen", rr.Files), zap.Int("adopted", rr.Restored))
}

// retryDue retries the files this run did not list whose retry is due, and
// settles open intents of files it did not list (their record may be gone
// or unsigned). Each costs one Get. With intentsOnly (the audit) it takes
// up only open creates: a repair an outage or a kill interrupted.
func (e *Engine) retryDue(r *run, intentsOnly bool) {
	ids, err := e.dueIDs(r, intentsOnly)
	if err != nil {
		e.log.Error("read failures and intents", zap.Error(err))
		return
	}
	for _, id := range ids {
		if r.list.Err() != nil {
			return
		}
		f, err := e.src.Get(r.list, id)
		switch {
		case errors.Is(err, nexudus.ErrNotFound):
			e.settle(id, "no longer exists in Nexudus")
			continue
		case err != nil:
			e.failed(r.list, r, nexudus.File{ID: id, UpdatedOn: nexudus.Time{Time: e.failedUpdatedOn(id)}}, fmt.Errorf("fetch for retry: %w", err), e.log.With(zap.Int64("nexudus_id", id)))
			continue
		case !f.Signed:
			e.settle(id, "is no longer signed")
			continue
		}
		e.processFile(e.opt.AbortContext, r, *f)
	}
}

// dueIDs lists the files retryDue visits: failures past their backoff and
// intents without a failure record, neither seen in this run; with
// intentsOnly, only those with an open intent.
func (e *Engine) dueIDs(r *run, intentsOnly bool) ([]int64, error) {
	fails, err := e.fails.Failures()
	if err != nil {
		return nil, err
	}
	intents, err := e.intents.Intents()
	if err != nil {
		return nil, err
	}
	open := make(map[int64]bool, len(intents))
	for _, in := range intents {
		open[in.NexudusID] = true
	}
	failing := map[int64]bool{}
	var ids []int64
	for _, fl := range fails {
		failing[fl.NexudusID] = true
		if intentsOnly && !open[fl.NexudusID] {
			continue
		}
		if !fl.Parked && !r.seen[fl.NexudusID] && !r.start.Before(fl.NextAttempt) {
			ids = append(ids, fl.NexudusID)
		}
	}
	for _, in := range intents {
		if !failing[in.NexudusID] && !r.seen[in.NexudusID] && in.StartedAt.Before(r.start) {
			ids = append(ids, in.NexudusID)
		}
	}
	return ids, nil
}

func (e *Engine) failedUpdatedOn(id int64) time.Time {
	if fl, ok, err := e.fails.Failure(id); err == nil && ok {
		return fl.UpdatedOn
	}
	return time.Time{}
}

// settle forgets the failure and the intent of a file that will never be
// mirrored as it is (gone from Nexudus, unsigned, its location without a
// parent): they must not cost a request on every poll.
func (e *Engine) settle(id int64, why string) {
	if e.opt.DryRun {
		return
	}
	e.log.Info("file "+why+"; forgetting its failure and open create", zap.Int64("nexudus_id", id))
	if err := e.fails.ClearFailure(id); err != nil && !errors.Is(err, state.ErrNotFound) {
		e.log.Warn("clear failure", zap.Int64("nexudus_id", id), zap.Error(err))
	}
	if err := e.intents.DeleteIntent(id); err != nil {
		e.log.Warn("drop intent", zap.Int64("nexudus_id", id), zap.Error(err))
	}
}

func (e *Engine) refreshGauges() {
	mapped, parked, _, _, err := e.counts()
	if err != nil {
		e.log.Warn("count state", zap.Error(err))
		return
	}
	e.m.setCounts(mapped, parked)
	if _, ok, err := e.cursors.Backfill(); err == nil {
		e.m.setBackfillUnfinished(ok)
	}
	if sum, ok, err := e.audits.LastAudit(); err == nil && ok && !e.opt.DryRun {
		e.m.auditRestored(sum)
	}
}
