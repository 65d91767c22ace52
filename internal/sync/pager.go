package sync

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

func minute(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// maxPagesPerStretch bounds page turning inside one minute (a million
// records at the largest page size): a server that ignores the page
// parameter must not keep a poll turning pages forever.
const maxPagesPerStretch = 1000

// walk is the pager: it lists signed files of q in UpdatedOn order and
// hands each to a bounded pool of workers (workers.go).
//
// Paging by UpdatedOn while records change shifts pages: a record updated
// mid-walk moves to the end, and the records behind it move up a page. So
// walk pages by key: after each page it asks again from the minute of the
// page's last record, at page 1, and only turns pages (page 2, 3, ...)
// while a page gives no later minute to key on. A record seen again with a
// newer UpdatedOn may have pushed another over a page boundary of the query
// that first listed it, and a drop of TotalItems while turning pages may
// have pulled one back: the low-water mark is then held at that query's
// minute so the next poll reads it again.
//
// It returns the low-water mark: the minute the next poll must read from
// again, the last minute seen, held back to the first record not done and
// to any stretch where pages may have shifted. On an error (a listing
// failed, the run stopped) the caller keeps its old cursor: records past
// the failed page, or not yet handed out, were never read.
func (e *Engine) walk(r *run, q nexudus.ListQuery) (walked, error) {
	ctx := r.list
	workers := e.startPool(r)

	from := minute(q.UpdatedFrom)
	page := 1
	stretchStart := time.Time{} // set while turning pages at one key
	prevTotal := -1
	lastMinute := from
	var held time.Time
	stopped := false // the walk ended before the listing did
	// inStretch holds the Ids listed since the walk last keyed on a new
	// minute. A turned page is judged by it, not by r.firstSeen: records an
	// earlier window or query already saw (a backfill window starting on
	// the minute the previous one ended in) are new to this stretch, and
	// only a page repeating this stretch's own records means the server is
	// not paging.
	inStretch := map[int64]bool{}
	var walkErr error
walking:
	for {
		if err := ctx.Err(); err != nil {
			walkErr = err
			break
		}
		if page > maxPagesPerStretch {
			walkErr = fmt.Errorf("list from %s: still more pages after %d at one minute; the listing does not end", nexudus.FormatMinute(from), maxPagesPerStretch)
			break
		}
		pq := q
		pq.UpdatedFrom = from
		p, err := e.src.ListPage(ctx, pq, page)
		if err != nil {
			if classify(err, ctx.Err() != nil) == blameWorld {
				// The client has retried already: Nexudus is down.
				r.out.failed(err, true)
			}
			walkErr = fmt.Errorf("list from %s page %d: %w", nexudus.FormatMinute(from), page, err)
			break
		}
		if page > 1 && prevTotal >= 0 && p.TotalItems < prevTotal {
			e.holdBack(&held, stretchStart, "records left the listing while paging")
		}
		prevTotal = p.TotalItems
		for _, b := range p.Bad {
			e.badRecord(r, b)
		}
		known := e.pageMappings(p.Records)
		newToStretch := 0
		for _, f := range p.Records {
			if !inStretch[f.ID] {
				inStretch[f.ID] = true
				newToStretch++
			}
		}
		for _, f := range p.Records {
			t := f.UpdatedOn.Time
			if prev, ok := r.firstSeen[f.ID]; ok {
				if !t.After(prev) {
					continue // the same version, seen on an earlier page or window
				}
				e.holdBack(&held, r.firstFrom[f.ID], "a record changed while the poll was paging")
			} else {
				r.firstFrom[f.ID] = from
			}
			r.firstSeen[f.ID] = t
			r.seen[f.ID] = true
			e.checkFuture(r, f.ID, t)
			if m := minute(t); m.After(lastMinute) {
				lastMinute = m
			}
			if m, ok := known[f.ID]; ok && e.unchanged(r, f, m) {
				continue
			}
			if err := workers.hand(ctx, f); err != nil {
				// Stopped before this record was handed out: the walk is
				// incomplete, and the caller keeps the old cursor.
				walkErr = err
				break walking
			}
		}
		if !p.HasNextPage || (p.TotalPages > 0 && page >= p.TotalPages) {
			break
		}
		if n := len(p.Records); n > 0 {
			if last := minute(p.Records[n-1].UpdatedOn.Time); last.After(from) {
				from, page, stretchStart, prevTotal = last, 1, time.Time{}, -1
				clear(inStretch)
				continue
			}
			if page > 1 && newToStretch == 0 {
				// A turned page repeating this stretch's records: the
				// server is not paging as asked, or a whole page shifted.
				// Stop here and read this minute again next time; the
				// range is not done.
				e.holdBack(&held, stretchStart, "a turned page brought nothing new")
				stopped = true
				break
			}
		}
		// A full page inside one minute, or a page with no signed record
		// to take a key from (all unsigned or unreadable): turn the page.
		if stretchStart.IsZero() {
			stretchStart = from
		}
		page++
	}
	notDone := workers.drain()

	w := walked{lowWater: lastMinute}
	if q.UpdatedTo.IsZero() && walkErr == nil && lastMinute.Before(minute(r.start)) {
		// An open-ended listing that ended read everything up to the
		// run's start: a quiet tenant's cursor keeps up with the clock.
		w.lowWater = minute(r.start)
	}
	if !held.IsZero() && (held.Before(w.lowWater) || stopped) {
		// A walk that stopped early is held even at its last minute: what
		// lies past it was never read, so a bounded window is not done.
		w.lowWater, w.held = minTime(held, w.lowWater), true
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

// holdBack notes that the next poll must read again from at, the start of
// a page-turning stretch in which a record may have been skipped.
func (e *Engine) holdBack(held *time.Time, at time.Time, why string) {
	if at.IsZero() {
		return
	}
	if held.IsZero() || at.Before(*held) {
		e.log.Info("holding the cursor back", zap.String("reason", why), zap.Time("at", at))
		*held = at
	}
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
