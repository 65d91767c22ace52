package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus"
)

// maxPagesPerMinute bounds page turning inside one minute, so that a
// server that ignores the page parameter cannot keep verify listing
// forever (the engine has the same bound).
const maxPagesPerMinute = 1000

// pager walks the signed Nexudus files updated since a time, as the
// engine does: ordered by UpdatedOn, and after each page it asks again
// from the minute of the page's last record (page 1), turning pages only
// inside one minute. A record updated while verify lists moves to the end
// and is seen again; each record is handed out once per UpdatedOn.
type pager struct {
	src  Source
	seen map[int64]time.Time
	// total is the first page's TotalItems: the size of the whole listing.
	total int
}

func newPager(src Source) *pager { return &pager{src: src, seen: map[int64]time.Time{}} }

// walk calls fn for every signed record of q and bad for every record that
// did not decode. It stops at the first listing error or error of fn.
func (p *pager) walk(ctx context.Context, q nexudus.ListQuery, fn func(nexudus.File) error, bad func(nexudus.BadRecord)) error {
	from := q.UpdatedFrom.UTC().Truncate(time.Minute)
	if q.UpdatedFrom.IsZero() {
		from = time.Time{}
	}
	page, first := 1, true
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if page > maxPagesPerMinute {
			return fmt.Errorf("list from %s: still more pages after %d at one minute; the listing does not end", nexudus.FormatMinute(from), maxPagesPerMinute)
		}
		pq := q
		pq.UpdatedFrom = from
		pg, err := p.src.ListPage(ctx, pq, page)
		if err != nil {
			return fmt.Errorf("list from %s page %d: %w", minuteOrStart(from), page, err)
		}
		if first {
			p.total, first = pg.TotalItems, false
		}
		for _, b := range pg.Bad {
			bad(b)
		}
		fresh := 0
		for _, f := range pg.Records {
			if !f.Signed {
				continue // the client drops them already; never trust one filter
			}
			if prev, ok := p.seen[f.ID]; ok && !f.UpdatedOn.After(prev) {
				continue
			}
			p.seen[f.ID] = f.UpdatedOn.Time
			fresh++
			if err := fn(f); err != nil {
				return err
			}
		}
		if !pg.HasNextPage || (pg.TotalPages > 0 && page >= pg.TotalPages) || len(pg.Records)+pg.Unsigned+len(pg.Bad) == 0 {
			return nil
		}
		if n := len(pg.Records); n > 0 {
			if last := pg.Records[n-1].UpdatedOn.UTC().Truncate(time.Minute); last.After(from) {
				from, page = last, 1
				continue
			}
			if page > 1 && fresh == 0 {
				return fmt.Errorf("list from %s page %d: a turned page brought nothing new; the server is not paging as asked", minuteOrStart(from), page)
			}
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
