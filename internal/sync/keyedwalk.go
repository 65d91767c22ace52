package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus"
)

// KeyedPage is one page of a Nexudus listing ordered by UpdatedOn,
// whatever its records (signed files, terms acceptances).
type KeyedPage[R any] struct {
	Records     []R
	TotalItems  int
	TotalPages  int
	HasNextPage bool
	// Skipped counts what the page held besides Records (unsigned or
	// unreadable records): a page of only those is no end.
	Skipped int
}

// KeyedWalk is the one walk over a Nexudus listing by UpdatedOn: the
// engine's polls and backfills, `syncd verify`, and the terms acceptances
// all page through it, so its rules live here once.
//
// Paging by UpdatedOn while records change shifts pages: a record updated
// mid-walk moves to the end, and the records behind it move up a page. So
// the walk pages by key: after each page it asks again from the minute of
// the page's last record, at page 1, and only turns pages (page 2, 3, ...)
// while a page gives no later minute to key on. A record seen again with a
// newer UpdatedOn may have pushed another over a page boundary of the
// query that first listed it, and a drop of TotalItems while turning pages
// may have pulled one back: the walk then holds its result at that query's
// minute (Held), so a caller with a cursor reads it again next time.
type KeyedWalk[R any] struct {
	// From is the first minute to list; zero: from the start.
	From time.Time
	// Fetch lists one page from a minute. Its error stops the walk.
	Fetch func(ctx context.Context, from time.Time, page int) (KeyedPage[R], error)
	// Key is a record's identity and UpdatedOn.
	Key func(R) (id int64, updated time.Time)
	// Visit is handed each page's records that are new, or newer than
	// when first listed, in listing order; its error stops the walk.
	Visit func(ctx context.Context, fresh []R) error
	// Seen holds, per id, the UpdatedOn first handed out and the minute of
	// the query that listed it. Share one between walks of one run (the
	// windows of a backfill) so that a record is handed out once per
	// version; nil: the walk's own.
	Seen *WalkSeen
	// OnHold, when set, is told each hold with its reason (for a log).
	OnHold func(at time.Time, why string)
}

// WalkSeen is what a run's walks remember of the records they listed:
// one map entry a record, as a walk over 100,000 records keeps them all.
type WalkSeen struct{ seen map[int64]seenRecord }

type seenRecord struct {
	updated time.Time // UpdatedOn when last handed out
	from    int64     // the key (a minute, Unix seconds) of the query that first listed it
}

// NewWalkSeen returns an empty record of what was listed.
func NewWalkSeen() *WalkSeen { return &WalkSeen{seen: map[int64]seenRecord{}} }

// Has reports whether id was handed out.
func (s *WalkSeen) Has(id int64) bool { _, ok := s.seen[id]; return ok }

// Len is how many records were handed out.
func (s *WalkSeen) Len() int { return len(s.seen) }

// WalkResult is what a walk leaves behind.
type WalkResult struct {
	// LastMinute is the minute of the newest record handed out, or From.
	LastMinute time.Time
	// HeldBack: records from Held on may have been skipped; a caller
	// with a cursor must read from Held again.
	HeldBack bool
	Held     time.Time
	// Stopped: a turned page brought nothing new (the server is not
	// paging as asked, or a whole page shifted); the walk ended before the
	// listing did, and HeldBack is set.
	Stopped bool
	// Total is the first page's TotalItems: the size of the listing.
	Total int
}

// maxPagesPerStretch bounds page turning inside one minute (a million
// records at the largest page size): a server that ignores the page
// parameter must not keep a walk turning pages forever.
const maxPagesPerStretch = 1000

func minute(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// Run walks the listing to its end, or to the first error.
func (w KeyedWalk[R]) Run(ctx context.Context) (WalkResult, error) {
	seen := w.Seen
	if seen == nil {
		seen = NewWalkSeen()
	}
	from := time.Time{}
	if !w.From.IsZero() {
		from = minute(w.From)
	}
	res := WalkResult{LastMinute: from}
	hold := func(at time.Time, why string) {
		if !res.HeldBack || at.Before(res.Held) {
			if w.OnHold != nil {
				w.OnHold(at, why)
			}
			res.HeldBack, res.Held = true, at
		}
	}
	page, first := 1, true
	stretchStart, turning := time.Time{}, false // the key pages are being turned at
	prevTotal := -1
	// inStretch holds the ids listed since the walk last keyed on a new
	// minute. A turned page is judged by it, not by seen: records an
	// earlier window already saw (a backfill window starting on the
	// minute the previous one ended in) are new to this stretch, and only
	// a page repeating this stretch's own records means the server is not
	// paging.
	inStretch := map[int64]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if page > maxPagesPerStretch {
			return res, fmt.Errorf("list from %s: still more pages after %d at one minute; the listing does not end", minuteOrStart(from), maxPagesPerStretch)
		}
		p, err := w.Fetch(ctx, from, page)
		if err != nil {
			return res, fmt.Errorf("list from %s page %d: %w", minuteOrStart(from), page, err)
		}
		if first {
			res.Total, first = p.TotalItems, false
		}
		if page > 1 && prevTotal >= 0 && p.TotalItems < prevTotal && turning {
			hold(stretchStart, "records left the listing while paging")
		}
		prevTotal = p.TotalItems
		newToStretch := 0
		fresh := make([]R, 0, len(p.Records))
		for _, rec := range p.Records {
			id, t := w.Key(rec)
			if !inStretch[id] {
				inStretch[id] = true
				newToStretch++
			}
			prev, ok := seen.seen[id]
			if ok {
				if !t.After(prev.updated) {
					continue // the same version, seen on an earlier page or window
				}
				hold(time.Unix(prev.from, 0).UTC(), "a record changed while the walk was paging")
			} else {
				prev.from = from.Unix()
			}
			prev.updated = t
			seen.seen[id] = prev
			if m := minute(t); m.After(res.LastMinute) {
				res.LastMinute = m
			}
			fresh = append(fresh, rec)
		}
		if len(fresh) > 0 {
			if err := w.Visit(ctx, fresh); err != nil {
				return res, err
			}
		}
		if !p.HasNextPage || (p.TotalPages > 0 && page >= p.TotalPages) {
			return res, nil
		}
		if len(p.Records)+p.Skipped == 0 {
			// An empty page that says there is more: stop rather than
			// turn pages that hold nothing, and read from here again.
			hold(from, "an empty page said there were more")
			res.Stopped = true
			return res, nil
		}
		if n := len(p.Records); n > 0 {
			if _, t := w.Key(p.Records[n-1]); minute(t).After(from) {
				from, page, stretchStart, turning, prevTotal = minute(t), 1, time.Time{}, false, -1
				clear(inStretch)
				continue
			}
			if page > 1 && newToStretch == 0 {
				hold(stretchStart, "a turned page brought nothing new")
				res.Stopped = true
				return res, nil
			}
		}
		// A full page inside one minute, or a page with no record to take
		// a key from (all unsigned or unreadable): turn the page.
		if !turning {
			stretchStart, turning = from, true
		}
		page++
	}
}

func minuteOrStart(t time.Time) string {
	if t.IsZero() {
		return "the start"
	}
	return nexudus.FormatMinute(t)
}
