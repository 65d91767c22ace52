package sync

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// walkAcceptances walks one location's acceptances by UpdatedOn from its
// cursor minus the lookback, as contracts are walked, and records each as
// its register's row, page by page in one transaction each. A row's
// month is marked for its register in the same transaction.
func (e *Engine) walkAcceptances(lr *legalRun, loc location) error {
	r := lr.r
	key := acceptanceCursor(loc)
	cursor, has, err := e.cursors.Cursor(key)
	if err != nil {
		return err
	}
	// The cursor is the last minute listed, on Nexudus' own clock, so a
	// poll reads from it with an overlap of five minutes (the default poll
	// interval: minute resolution, a commit's delay, a record shown a
	// little late costs no more pages at a busy tenant's rate); the whole lookback is read
	// again once a day (and on the first poll), for what a shifted page
	// or a late record hid. Every poll re-reading the lookback would cost
	// a busy tenant three requests per new acceptance (BENCHMARKS.md).
	from := r.start.Add(-e.opt.Lookback)
	wide := !has
	lookbackKey := "legal-lookback-" + loc.key
	if has {
		from = cursor.Add(-legalOverlap)
		last, ok, err := e.cursors.Cursor(lookbackKey)
		if err != nil {
			return err
		}
		if !ok || r.start.Sub(last) >= legalLookbackEvery {
			from, wide = cursor.Add(-e.opt.Lookback), true
		}
	}
	if bf := lr.backfillFrom; !bf.IsZero() && bf.Before(from) {
		from = bf
	}
	if err := e.markStreamFrom(loc, from); err != nil {
		return err
	}
	res, err := e.listAcceptances(lr, nexudus.ListQuery{UpdatedFrom: from, Business: loc.business}, func(rows []state.AcceptanceRow) error {
		n, err := e.legal.PutAcceptances(rows)
		r.rep.Legal.Acceptances += n
		e.m.legalAcceptances(n)
		return err
	})
	if err != nil {
		if lr.deniedBy(err) {
			return nil
		}
		return err
	}
	low := res.LastMinute // Nexudus' clock: never caught up with syncd's
	if res.HeldBack {
		low = minTime(low, res.Held)
	}
	if err := e.saveCursor(r, key, low); err != nil {
		return err
	}
	if wide && !e.opt.DryRun {
		return e.cursors.SetCursor(lookbackKey, r.start)
	}
	return nil
}

// The acceptances' overlap and how often their whole lookback is read.
const (
	legalOverlap       = 5 * time.Minute
	legalLookbackEvery = 24 * time.Hour
)

// markStreamFrom keeps the earliest minute a location's acceptances were
// ever read from: every month that begins after it has all its rows.
func (e *Engine) markStreamFrom(loc location, from time.Time) error {
	key := streamFrom(loc)
	old, has, err := e.cursors.Cursor(key)
	if err != nil || (has && !from.Before(old)) || e.opt.DryRun {
		return err
	}
	return e.cursors.SetCursor(key, minute(from))
}

// listAcceptances walks acceptances of q and hands each page's rows (of
// locations with a parent) to put.
func (e *Engine) listAcceptances(lr *legalRun, q nexudus.ListQuery, put func([]state.AcceptanceRow) error) (WalkResult, error) {
	r := lr.r
	src := e.opt.Legal.Source
	return KeyedWalk[nexudus.Acceptance]{
		From: q.UpdatedFrom,
		Seen: lr.acceptSeen,
		Fetch: func(ctx context.Context, from time.Time, page int) (KeyedPage[nexudus.Acceptance], error) {
			pq := q
			pq.UpdatedFrom = from
			p, err := src.ListAcceptancesPage(ctx, pq, page)
			if err != nil {
				e.legalListFailed(r, err)
				return KeyedPage[nexudus.Acceptance]{}, err
			}
			for _, b := range p.Bad {
				e.log.Error("terms acceptances: unreadable acceptance in a Nexudus list page; the next poll reads it again", zap.Int64("acceptance_id", b.ID), zap.Error(b.Err))
			}
			return KeyedPage[nexudus.Acceptance]{Records: p.Records, TotalItems: p.TotalItems, TotalPages: p.TotalPages, HasNextPage: p.HasNextPage, Skipped: len(p.Bad)}, nil
		},
		Key: func(a nexudus.Acceptance) (int64, time.Time) { return a.ID, a.UpdatedOn.Time },
		Visit: func(_ context.Context, fresh []nexudus.Acceptance) error {
			rows := make([]state.AcceptanceRow, 0, len(fresh))
			for _, a := range fresh {
				if _, ok := e.opt.ParentFor(a.BusinessID); !ok {
					continue
				}
				rows = append(rows, acceptanceRow(a))
				if a.TextUniqueID != "" && !lr.texts[a.TextUniqueID] {
					if _, known, err := e.legal.LegalFile(legal.TextTag(a.TextUniqueID)); err == nil && !known {
						lr.unknown[a.TextUniqueID] = true
					}
				}
			}
			if len(rows) == 0 {
				return nil
			}
			return put(rows)
		},
	}.Run(r.list)
}

func acceptanceRow(a nexudus.Acceptance) state.AcceptanceRow {
	return state.AcceptanceRow{
		ID: a.ID, UniqueID: a.UniqueID, CreatedOn: a.CreatedOn.Time, UpdatedOn: a.UpdatedOn.Time,
		CoworkerID: a.CoworkerID, BusinessID: a.BusinessID, LegalContentType: string(a.LegalContentType),
		Name: a.Name, TariffUniqueID: a.TariffUniqueID, TextUniqueID: a.TextUniqueID,
		Month: legal.Month(a.CreatedOn.Time),
	}
}
