package sync

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

const (
	textContentType     = "text/markdown; charset=utf-8"
	registerContentType = "text/csv; charset=utf-8"
)

// walkTexts walks the versions of legal texts by UpdatedOn from their
// cursor minus the lookback (from the start when there is none, or with
// fromStart: a tenant has few versions) and mirrors each version of a
// location with a parent as one file. A version whose Content changed
// becomes a new version of its file, and the registers citing it are
// written again.
func (e *Engine) walkTexts(lr *legalRun, fromStart bool) error {
	r := lr.r
	cursor, has, err := e.cursors.Cursor(textsCursor)
	if err != nil {
		return err
	}
	from := time.Time{}
	if has && !fromStart {
		from = cursor.Add(-e.opt.Lookback)
	}
	if !has || fromStart {
		lr.textsFromStart = true
	}
	src := e.opt.Legal.Source
	res, err := KeyedWalk[nexudus.LegalText]{
		From: from,
		Fetch: func(ctx context.Context, from time.Time, page int) (KeyedPage[nexudus.LegalText], error) {
			p, err := src.ListTextsPage(ctx, nexudus.ListQuery{UpdatedFrom: from}, page)
			if err != nil {
				e.legalListFailed(r, err)
				return KeyedPage[nexudus.LegalText]{}, err
			}
			for _, b := range p.Bad {
				e.log.Error("terms acceptances: unreadable text version in a Nexudus list page; the next poll reads it again", zap.Int64("text_id", b.ID), zap.Error(b.Err))
			}
			return KeyedPage[nexudus.LegalText]{Records: p.Records, TotalItems: p.TotalItems, TotalPages: p.TotalPages, HasNextPage: p.HasNextPage, Skipped: len(p.Bad)}, nil
		},
		Key: func(t nexudus.LegalText) (int64, time.Time) { return t.ID, t.UpdatedOn.Time },
		Visit: func(ctx context.Context, fresh []nexudus.LegalText) error {
			for _, t := range fresh {
				e.mirrorText(ctx, lr, t)
			}
			return nil
		},
	}.Run(r.list)
	if err != nil {
		if lr.deniedBy(err) {
			return nil
		}
		return err
	}
	return e.saveCursor(r, textsCursor, legalLowWater(r, res))
}

// mirrorText mirrors one version; its failure is logged and counted, and
// the next poll tries again (the version is listed again from the cursor
// minus the lookback, or by the full listing a citing acceptance asks for).
func (e *Engine) mirrorText(ctx context.Context, lr *legalRun, t nexudus.LegalText) {
	parent, ok := e.opt.ParentFor(t.BusinessID)
	if t.UniqueID == "" || !ok {
		return
	}
	log := e.log.With(zap.Int64("text_id", t.ID), zap.String("text_unique_id", t.UniqueID))
	data, valid := legal.TextBytes(t.Content)
	if !valid {
		log.Warn("terms acceptances: the text's Content is not valid UTF-8; invalid bytes are mirrored as U+FFFD")
	}
	fields := legal.TextFields{UniqueId: t.UniqueID, BusinessId: t.BusinessID, Name: t.Name, Author: t.Author, LegalContentType: string(t.LegalContentType), CreatedOn: t.CreatedOn.Time}
	title, err := e.titles().Text(fields)
	if err != nil {
		log.Error("terms acceptances: legal.text_title", zap.Error(err))
		lr.count("text", legalFailed)
		return
	}
	tag := legal.TextTag(t.UniqueID)
	b := blobFile{tag: tag, parent: parent, title: title, filename: legal.TextFilename(fields), contentType: textContentType,
		data: data, sha256: legal.SHA256Hex(data), source: state.LegalFile{SourceID: t.ID, UpdatedOn: t.UpdatedOn.Time}}
	if e.legalWaits(tag, b.md5()) {
		lr.count("text", legalWaiting)
		return
	}
	// Recorded with the marks of the registers citing it, in one
	// transaction: they then show its digest and file.
	outcome, err := e.mirrorBlob(ctx, lr, b, func(f state.LegalFile) error { return e.legal.PutLegalText(f, t.UniqueID) })
	lr.count("text", outcome)
	if err != nil {
		log.Warn("terms acceptances: mirror the text; a later poll tries again", zap.Error(err))
		e.legalFileFailed(lr.r, err)
		e.legalOwnFailure(lr.r, tag, b.md5(), err)
		return
	}
	lr.texts[t.UniqueID] = true
	delete(lr.unknown, t.UniqueID)
}

func (lr *legalRun) count(kind, outcome string) {
	lr.r.rep.Legal.Files[kind+"/"+outcome]++
	lr.e.m.legalFile(kind, outcome)
}

// legalListFailed counts a failed listing toward an outage, as the
// contracts' walk does.
func (e *Engine) legalListFailed(r *run, err error) {
	if classify(err, r.list.Err() != nil) == blameWorld {
		r.out.failed(err, true)
	}
}

// legalFileFailed counts a failed text or register toward an outage when
// the world is at fault; its own failures are retried next poll.
func (e *Engine) legalFileFailed(r *run, err error) {
	if classify(err, r.list.Err() != nil) == blameWorld {
		r.out.failed(err, false)
	}
}
