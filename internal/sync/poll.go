package sync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/nexudus"
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

// Poll runs one poll: reconcile open intents, walk every location from its
// cursor minus the lookback, retry failed files whose time has come, and
// move the cursors. A poll error (listing failed) is returned; per-file
// failures are in the report.
func (e *Engine) Poll(ctx context.Context) (*Report, error) {
	start := e.opt.Now()
	rep := &Report{}
	e.reconcileIntents(ctx)
	var errs []error
	seen := map[int64]bool{}
	for _, loc := range e.locations() {
		if err := e.pollLocation(ctx, loc, rep, seen); err != nil {
			errs = append(errs, err)
		}
	}
	return e.finish(ctx, start, seen, rep, errs)
}

// finish ends a poll or a backfill: retry the due failures it did not
// list, refresh the gauges, count the poll.
func (e *Engine) finish(ctx context.Context, start time.Time, seen map[int64]bool, rep *Report, errs []error) (*Report, error) {
	if ctx.Err() == nil {
		e.retryDue(ctx, seen, rep)
	}
	e.refreshGauges()
	err := errors.Join(errs...)
	e.m.poll(err == nil, e.opt.Now().Sub(start), e.opt.Now())
	rep.Sort()
	return rep, err
}

func (e *Engine) pollLocation(ctx context.Context, loc location, rep *Report, seen map[int64]bool) error {
	cursor, hasCursor, err := e.store.Cursor(loc.key)
	if err != nil {
		return fmt.Errorf("read cursor %s: %w", loc.key, err)
	}
	from := e.opt.Now().Add(-e.opt.Lookback)
	if hasCursor {
		from = cursor.Add(-e.opt.Lookback)
	}
	res, err := e.walk(ctx, nexudus.ListQuery{UpdatedFrom: from, Business: loc.business}, rep)
	for id := range res.seen {
		seen[id] = true
	}
	if err != nil {
		return fmt.Errorf("poll %s: %w", loc.key, err)
	}
	return e.advanceCursor(loc.key, cursor, hasCursor, res.lowWater)
}

// advanceCursor moves a cursor forward, never back: a low-water mark below
// the cursor is still covered, because the next poll reads from the
// cursor minus the lookback, which is below anything this poll listed.
func (e *Engine) advanceCursor(key string, old time.Time, hasOld bool, lowWater time.Time) error {
	next := lowWater
	if hasOld && old.After(next) {
		next = old
	}
	if e.opt.DryRun {
		return nil
	}
	if !hasOld || !next.Equal(old) {
		if err := e.store.SetCursor(key, next); err != nil {
			return fmt.Errorf("save cursor %s: %w", key, err)
		}
	}
	e.m.setCursor(next)
	return nil
}

// retryDue retries failed files whose backoff has passed but which this
// poll did not list (they are older than the window, from a backfill or
// a long outage): each costs one Get.
func (e *Engine) retryDue(ctx context.Context, seen map[int64]bool, rep *Report) {
	fails, err := e.store.Failures()
	if err != nil {
		e.log.Error("read failures", zap.Error(err))
		return
	}
	now := e.opt.Now()
	for _, fl := range fails {
		if ctx.Err() != nil {
			return
		}
		if fl.Parked || seen[fl.NexudusID] || now.Before(fl.NextAttempt) {
			continue
		}
		f, err := e.src.Get(ctx, fl.NexudusID)
		switch {
		case errors.Is(err, nexudus.ErrNotFound):
			e.log.Info("failed file no longer exists in Nexudus; forgetting its failure", zap.Int64("nexudus_id", fl.NexudusID))
			if !e.opt.DryRun {
				_ = e.store.ClearFailure(fl.NexudusID)
			}
			continue
		case err != nil:
			// Counted as an attempt, so a record that cannot be fetched
			// backs off and is parked like any failing file.
			log := e.log.With(zap.Int64("nexudus_id", fl.NexudusID))
			e.recordFailure(nexudus.File{ID: fl.NexudusID, UpdatedOn: nexudus.Time{Time: fl.UpdatedOn}}, fmt.Errorf("fetch for retry: %w", err), log, rep)
			continue
		case !f.Signed:
			e.log.Info("failed file is no longer signed; forgetting its failure", zap.Int64("nexudus_id", fl.NexudusID))
			if !e.opt.DryRun {
				_ = e.store.ClearFailure(fl.NexudusID)
			}
			continue
		}
		e.processFile(e.opt.AbortContext, *f, rep)
	}
}

func (e *Engine) refreshGauges() {
	mapped, parked, _, _, err := e.store.Counts()
	if err != nil {
		e.log.Warn("count state", zap.Error(err))
		return
	}
	e.m.setCounts(mapped, parked)
}
