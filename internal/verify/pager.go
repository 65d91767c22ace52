package verify

import (
	"context"
	"errors"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// pager walks the signed Nexudus files updated since a time with the
// engine's own keyed walk (syncer.KeyedWalk): ordered by UpdatedOn, and
// after each page it asks again from the minute of the page's last record
// (page 1), turning pages only inside one minute. A record updated while
// verify lists moves to the end and is seen again; each record is handed
// out once per UpdatedOn.
type pager struct {
	src  Source
	seen *syncer.WalkSeen
	// total is the first page's TotalItems: the size of the whole listing.
	total int
}

func newPager(src Source) *pager { return &pager{src: src, seen: syncer.NewWalkSeen()} }

// errNotPaging is a listing whose turned page repeats the records before
// it: verify has no cursor to read again from, so it cannot be complete.
var errNotPaging = errors.New("a turned page brought nothing new; the server is not paging as asked")

// walk calls fn for every signed record of q and bad for every record that
// did not decode. It stops at the first listing error or error of fn.
func (p *pager) walk(ctx context.Context, q nexudus.ListQuery, fn func(nexudus.File) error, bad func(nexudus.BadRecord)) error {
	first := true
	res, err := syncer.KeyedWalk[nexudus.File]{
		From: q.UpdatedFrom,
		Seen: p.seen,
		Fetch: func(ctx context.Context, from time.Time, page int) (syncer.KeyedPage[nexudus.File], error) {
			pq := q
			pq.UpdatedFrom = from
			pg, err := p.src.ListPage(ctx, pq, page)
			if err != nil {
				return syncer.KeyedPage[nexudus.File]{}, err
			}
			if first {
				p.total, first = pg.TotalItems, false
			}
			for _, b := range pg.Bad {
				bad(b)
			}
			signed := pg.Records[:0:0]
			for _, f := range pg.Records {
				if f.Signed { // the client drops them already; never trust one filter
					signed = append(signed, f)
				}
			}
			return syncer.KeyedPage[nexudus.File]{Records: signed, TotalItems: pg.TotalItems, TotalPages: pg.TotalPages,
				HasNextPage: pg.HasNextPage, Skipped: pg.Unsigned + len(pg.Bad) + len(pg.Records) - len(signed)}, nil
		},
		Key: func(f nexudus.File) (int64, time.Time) { return f.ID, f.UpdatedOn.Time },
		Visit: func(_ context.Context, fresh []nexudus.File) error {
			for _, f := range fresh {
				if err := fn(f); err != nil {
					return err
				}
			}
			return nil
		},
	}.Run(ctx)
	if err == nil && res.Stopped {
		return errNotPaging
	}
	return err
}
