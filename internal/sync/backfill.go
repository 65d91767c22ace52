package sync

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// ProgressFunc is told after each backfill window: windows done, windows
// in all, and the end of the window just finished.
type ProgressFunc func(done, total int, windowEnd time.Time)

// Backfill mirrors every signed file updated since from, walking history
// in windows of the given width so that no single listing runs long. The
// last window is open-ended and moves the cursors like a poll, so the
// daemon started afterwards carries on where the backfill ended.
//
// Windows overlap on their boundary minute: the API does not say whether
// its to-bound includes its whole minute. After each window the state file
// records how far the backfill got, so a backfill stopped by a crash, a
// signal or an outage resumes there when run again with the same from. A
// window whose listing failed ends the backfill: nothing after it is
// recorded as done, and the cursors are not moved.
func (e *Engine) Backfill(ctx context.Context, from time.Time, window time.Duration, progress ProgressFunc) (*Report, error) {
	if window < time.Minute {
		return nil, fmt.Errorf("backfill: window %s is under the one-minute resolution of the range filter", window)
	}
	now := e.opt.Now()
	from = minute(from)
	if !from.Before(now) {
		return nil, fmt.Errorf("backfill: from %s is not in the past", from.Format(time.RFC3339))
	}
	resume, err := e.backfillResume(from, now)
	if err != nil {
		return nil, err
	}
	r, cancel := e.newRun(ctx)
	defer cancel()
	e.adoptOnFreshState(r)

	done := int(resume.Sub(from) / window)
	total := done + int((now.Sub(resume)+window-1)/window)
	safe := resume // every record updated before safe is done
	held := false  // a window left a record not done: safe stays put
	finished := false
	var errs []error
	for ws := resume; ; ws = ws.Add(window) {
		we := ws.Add(window)
		last := !we.Before(now)
		w, err := e.backfillWindow(r, ws, we, last, held, safe)
		if err != nil {
			errs = append(errs, err)
			break
		}
		if !held && !last {
			if w.held {
				safe, held = w.lowWater, true
			} else {
				safe = we
			}
			e.saveBackfill(from, safe)
		}
		done++
		if progress != nil {
			progress(done, total, we)
		}
		if last {
			finished = true
			break
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("backfill stopped at %s; run it again with the same -backfill-from to resume: %w", nexudus.FormatMinute(safe), err))
			break
		}
	}
	if finished {
		// Terms acceptances since from, in one walk: their records are
		// small, and a month's register needs them all.
		if err := e.pollLegalFrom(r, from); err != nil {
			errs = append(errs, fmt.Errorf("terms acceptances: %w", err))
		}
	}
	if finished && !held && !e.opt.DryRun {
		if err := e.cursors.ClearBackfill(); err != nil {
			errs = append(errs, fmt.Errorf("backfill: clear progress: %w", err))
		}
	} else if finished {
		e.log.Warn("backfill done, but files from this time on are not all mirrored; running it again with the same -backfill-from resumes there",
			zap.Time("resume_from", safe))
	}
	return e.finish(ctx, r, errs)
}

// backfillWindow walks [ws, we] in every location. The last window is
// open-ended and moves the cursors, never past a record not done (safe,
// when an earlier window held one back).
func (e *Engine) backfillWindow(r *run, ws, we time.Time, last, held bool, safe time.Time) (walked, error) {
	out := walked{lowWater: we}
	for _, loc := range e.locations() {
		if r.out.tripped() {
			return out, r.out.err()
		}
		q := nexudus.ListQuery{UpdatedFrom: ws, Business: loc.business}
		if !last {
			q.UpdatedTo = we
		}
		var cursor time.Time
		var hasCursor bool
		if last {
			var err error
			if cursor, hasCursor, err = e.cursors.Cursor(loc.key); err != nil {
				return out, fmt.Errorf("read cursor %s: %w", loc.key, err)
			}
		}
		w, err := e.walk(r, q)
		if err != nil {
			return out, fmt.Errorf("backfill %s window from %s: %w", loc.key, nexudus.FormatMinute(ws), err)
		}
		if w.held {
			out.held = true
			if w.lowWater.Before(out.lowWater) {
				out.lowWater = w.lowWater
			}
		}
		if last {
			to := w.lowWater
			if held && safe.Before(to) {
				to = safe
			}
			if err := e.advanceCursor(r, loc.key, cursor, hasCursor, to); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// backfillResume is where a backfill from `from` starts: where an earlier
// backfill from the same time stopped, else from itself.
func (e *Engine) backfillResume(from, now time.Time) (time.Time, error) {
	if e.opt.DryRun {
		return from, nil
	}
	mark, ok, err := e.cursors.Backfill()
	if err != nil {
		return time.Time{}, fmt.Errorf("backfill: read progress: %w", err)
	}
	switch {
	case !ok:
		return from, nil
	case !mark.From.Equal(from):
		// This backfill's mark replaces the earlier one. Said loudly: when
		// this one starts after where the earlier one got, the time in
		// between is mirrored by neither.
		msg := "abandoning an unfinished backfill from another time; this one starts from its own beginning and its mark replaces the earlier one"
		if from.After(mark.Done) {
			msg += "; files updated between the earlier one's progress and this from are NOT covered: run -backfill-from at or before earlier_done to cover them"
		}
		e.log.Warn(msg, zap.Time("earlier_from", mark.From), zap.Time("earlier_done", mark.Done), zap.Time("from", from))
		return from, nil
	case mark.Done.After(from) && mark.Done.Before(now):
		e.log.Info("resuming the backfill where it stopped", zap.Time("from", from), zap.Time("resume_from", mark.Done))
		return minute(mark.Done), nil
	}
	return from, nil
}

func (e *Engine) saveBackfill(from, done time.Time) {
	if e.opt.DryRun {
		return
	}
	if err := e.cursors.SetBackfill(state.BackfillMark{From: from, Done: done, UpdatedAt: e.opt.Now()}); err != nil {
		// Losing the mark costs a longer backfill next time, nothing else.
		e.log.Warn("backfill: save progress", zap.Error(err))
	}
}
