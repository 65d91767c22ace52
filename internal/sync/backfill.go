package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus"
)

// ProgressFunc is told after each backfill window: windows done, windows
// in all, and the end of the window just finished.
type ProgressFunc func(done, total int, windowEnd time.Time)

// Backfill mirrors every signed file updated since from, walking history
// in windows of the given width so that no single listing runs long. The
// last window is open-ended and moves the cursors like a poll, so the
// daemon started afterwards carries on where the backfill ended.
func (e *Engine) Backfill(ctx context.Context, from time.Time, window time.Duration, progress ProgressFunc) (*Report, error) {
	if window < time.Minute {
		return nil, fmt.Errorf("backfill: window %s is under the one-minute resolution of the range filter", window)
	}
	now := e.opt.Now()
	from = minute(from)
	if !from.Before(now) {
		return nil, fmt.Errorf("backfill: from %s is not in the past", from.Format(time.RFC3339))
	}
	total := int((now.Sub(from) + window - 1) / window)
	start := e.opt.Now()
	rep := &Report{}
	e.reconcileIntents(ctx)
	seen := map[int64]bool{}
	var errs []error
	locs := e.locations()
	done := 0
	for ws := from; ws.Before(now); ws = ws.Add(window) {
		we := ws.Add(window)
		last := !we.Before(now)
		for _, loc := range locs {
			q := nexudus.ListQuery{UpdatedFrom: ws, Business: loc.business}
			if !last {
				// The to-bound covers its whole minute, so ending at the
				// minute before we makes the windows meet without overlap.
				q.UpdatedTo = we.Add(-time.Minute)
			}
			var cursor time.Time
			var hasCursor bool
			if last {
				var err error
				if cursor, hasCursor, err = e.store.Cursor(loc.key); err != nil {
					errs = append(errs, fmt.Errorf("read cursor %s: %w", loc.key, err))
					continue
				}
			}
			res, err := e.walk(ctx, q, rep)
			for id := range res.seen {
				seen[id] = true
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("backfill %s window %s: %w", loc.key, nexudus.FormatMinute(ws), err))
				continue
			}
			if last {
				if err := e.advanceCursor(loc.key, cursor, hasCursor, res.lowWater); err != nil {
					errs = append(errs, err)
				}
			}
		}
		done++
		if progress != nil {
			progress(done, total, we)
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
	}
	return e.finish(ctx, start, seen, rep, errs)
}
