package sync

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// walk is the pager of polls and backfills: it lists the signed files of
// q with the one KeyedWalk (keyedwalk.go) and hands each record that
// needs work to a bounded pool of workers (workers.go).
//
// It returns the low-water mark: the minute the next poll must read from
// again, the last minute seen, held back to the first record not done and
// to any stretch where pages may have shifted. On an error (a listing
// failed, the run stopped) the caller keeps its old cursor: records past
// the failed page, or not yet handed out, were never read.
func (e *Engine) walk(r *run, q nexudus.ListQuery) (walked, error) {
	ctx := r.list
	workers := e.startPool(r)
	res, walkErr := KeyedWalk[nexudus.File]{
		From: q.UpdatedFrom,
		Seen: r.walkSeen,
		Fetch: func(ctx context.Context, from time.Time, page int) (KeyedPage[nexudus.File], error) {
			pq := q
			pq.UpdatedFrom = from
			p, err := e.src.ListPage(ctx, pq, page)
			if err != nil {
				if classify(err, ctx.Err() != nil) == blameWorld {
					// The client has retried already: Nexudus is down.
					r.out.failed(err, true)
				}
				return KeyedPage[nexudus.File]{}, err
			}
			for _, b := range p.Bad {
				e.badRecord(r, b)
			}
			return KeyedPage[nexudus.File]{Records: p.Records, TotalItems: p.TotalItems, TotalPages: p.TotalPages,
				HasNextPage: p.HasNextPage, Skipped: p.Unsigned + len(p.Bad)}, nil
		},
		Key: func(f nexudus.File) (int64, time.Time) { return f.ID, f.UpdatedOn.Time },
		Visit: func(ctx context.Context, fresh []nexudus.File) error {
			known := e.pageMappings(fresh)
			for _, f := range fresh {
				r.seen[f.ID] = true
				e.checkFuture(r, f.ID, f.UpdatedOn.Time)
				if m, ok := known[f.ID]; ok && e.unchanged(r, f, m) {
					continue
				}
				if err := workers.hand(ctx, f); err != nil {
					// Stopped before this record was handed out: the walk
					// is incomplete, and the caller keeps the old cursor.
					return err
				}
			}
			return nil
		},
		OnHold: func(at time.Time, why string) {
			e.log.Info("holding the cursor back", zap.String("reason", why), zap.Time("at", at))
		},
	}.Run(ctx)
	notDone := workers.drain()

	w := walked{lowWater: res.LastMinute}
	if q.UpdatedTo.IsZero() && walkErr == nil && res.LastMinute.Before(minute(r.start)) {
		// An open-ended listing that ended read everything up to the
		// run's start: a quiet tenant's cursor keeps up with the clock.
		w.lowWater = minute(r.start)
	}
	if res.HeldBack && (res.Held.Before(w.lowWater) || res.Stopped) {
		// A walk that stopped early is held even at its last minute: what
		// lies past it was never read, so a bounded window is not done.
		w.lowWater, w.held = minTime(res.Held, w.lowWater), true
	}
	for _, m := range notDone {
		w.held = true
		if m.Before(w.lowWater) {
			w.lowWater = m
		}
	}
	return w, walkErr
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// walked is what a walk of one UpdatedOn range left behind.
type walked struct {
	// lowWater is the minute to read from again next time.
	lowWater time.Time
	// held is true when lowWater was held back below the last minute seen:
	// some record of the range is not done yet.
	held bool
}

// pageMappings reads the mappings of a page's signed records in one
// transaction. A failed read only costs the fast path: each record then
// goes to a worker, which reads its own.
func (e *Engine) pageMappings(recs []nexudus.File) map[int64]state.Mapping {
	ids := make([]int64, 0, len(recs))
	for _, f := range recs {
		if f.Signed {
			ids = append(ids, f.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	known, err := e.mappings.MappingsFor(ids)
	if err != nil {
		e.log.Debug("read a page's mappings; each record reads its own", zap.Error(err))
		return nil
	}
	return known
}

// unchanged is the first rule of decide on the pager's own goroutine: a
// record whose mapping is current, in a location with a parent, under the
// same title, needs nothing, and is counted without a worker, a lock or a
// logger. Anything else goes to a worker, which decides in full.
func (e *Engine) unchanged(r *run, f nexudus.File, m state.Mapping) bool {
	if !f.Signed || !MappingCurrent(m, f) {
		return false
	}
	if _, ok := e.opt.ParentFor(f.BusinessID); !ok {
		return false
	}
	if title, err := e.title(f); err != nil || title != m.Title {
		return false
	}
	r.rep.count(OutcomeUnchanged)
	e.m.file(OutcomeUnchanged)
	r.out.ok()
	return true
}
