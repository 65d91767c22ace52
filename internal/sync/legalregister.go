package sync

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// writeRegisters writes the register of every month whose rows changed:
// at most one new version per month and poll. A month whose rows may be
// incomplete (it began before this state file's stream of acceptances: a
// lost state file, a rebuild) is first listed whole from Nexudus by
// CreatedOn, so its bytes depend on Nexudus' data alone and equal what
// CoreData already holds when nothing changed: then nothing is uploaded.
func (e *Engine) writeRegisters(lr *legalRun) error {
	months, err := e.legal.LegalMonths()
	if err != nil {
		return err
	}
	var firstErr error
	for _, m := range months {
		if !m.Dirty {
			continue
		}
		if lr.r.list.Err() != nil || lr.r.out.tripped() {
			break
		}
		if err := e.writeRegister(lr, m); err != nil {
			if lr.deniedBy(err) {
				continue
			}
			e.log.Warn("terms acceptances: write the register; the next poll tries again",
				zap.Int64("business_id", m.Business), zap.String("month", m.Month), zap.Error(err))
			e.legalFileFailed(lr.r, err)
			if firstErr == nil {
				firstErr = fmt.Errorf("register %d %s: %w", m.Business, m.Month, err)
			}
		}
	}
	return firstErr
}

func (e *Engine) writeRegister(lr *legalRun, m state.LegalMonth) error {
	parent, ok := e.opt.ParentFor(m.Business)
	if !ok {
		return nil // its location lost its parent: kept dirty, written once it has one
	}
	start, err := legal.ParseMonth(m.Month)
	if err != nil {
		return err
	}
	if !m.Complete && !e.monthCovered(m.Business, start) {
		if err := e.relistMonth(lr, m.Business, m.Month, start); err != nil {
			return err
		}
	}
	rows, err := e.legal.MonthRows(m.Business, m.Month)
	if err != nil {
		return err
	}
	out := make([]legal.Row, len(rows))
	unknown := 0
	for i, r := range rows {
		out[i] = legal.Row{ID: r.ID, UniqueID: r.UniqueID, CreatedOn: r.CreatedOn, CoworkerID: r.CoworkerID, BusinessID: r.BusinessID,
			LegalContentType: r.LegalContentType, Name: r.Name, TariffUniqueID: r.TariffUniqueID, TextUniqueID: r.TextUniqueID}
		if r.TextUniqueID == "" {
			unknown++
			continue
		}
		text, ok, err := e.legal.LegalFile(legal.TextTag(r.TextUniqueID))
		if err != nil {
			return err
		}
		if !ok {
			unknown++ // filled in by the poll that mirrors its version
			continue
		}
		out[i].TextSHA256, out[i].TextCoreDataID = text.SHA256, text.CoreDataID
	}
	if unknown > 0 {
		lr.r.rep.Legal.UnknownTexts += unknown
		e.log.Warn("terms acceptances: acceptances whose version is not known yet; their rows have empty text columns until it is",
			zap.Int64("business_id", m.Business), zap.String("month", m.Month), zap.Int("rows", unknown))
	}
	data := legal.Register(out)
	title, err := e.titles().Register(legal.RegisterFields{BusinessId: m.Business, Month: m.Month})
	if err != nil {
		return err
	}
	b := blobFile{tag: legal.RegisterTag(m.Business, m.Month), parent: parent, title: title,
		filename: legal.RegisterFilename(m.Business, m.Month), contentType: registerContentType, data: data, sha256: legal.SHA256Hex(data)}
	if e.legalWaits(b.tag, b.md5()) {
		lr.count("register", legalWaiting)
		return nil
	}
	outcome, err := e.mirrorBlob(lr.r.list, lr, b, func(f state.LegalFile) error { return e.legal.PutRegister(m.Business, m.Month, f) })
	lr.count("register", outcome)
	if err != nil {
		e.legalOwnFailure(lr.r, b.tag, b.md5(), err)
	}
	if err == nil && outcome == legalUnchanged {
		// The bytes were already there: only the month's mark is left.
		if known, ok, kerr := e.legal.LegalFile(b.tag); kerr == nil && ok {
			err = e.legal.PutRegister(m.Business, m.Month, known)
		}
	}
	return err
}

// monthCovered reports whether the location's stream of acceptances began
// before the month did: then every acceptance of the month was walked.
func (e *Engine) monthCovered(business int64, start time.Time) bool {
	from, ok, err := e.cursors.Cursor(streamFrom(e.locationOf(business)))
	return err == nil && ok && !from.After(start)
}

// relistMonth lists one location's month whole, by CreatedOn (the filter
// reads the bounds on Nexudus' own clock, as the month is taken from it),
// and makes those rows the month's.
func (e *Engine) relistMonth(lr *legalRun, business int64, month string, start time.Time) error {
	end := start.AddDate(0, 1, 0).Add(-time.Minute) // to_ includes its whole minute
	q := nexudus.ListQuery{Business: business, CreatedFrom: start, CreatedTo: end}
	var rows []state.AcceptanceRow
	lr.acceptSeen = NewWalkSeen() // a re-listing hands out every record again
	_, err := e.listAcceptances(lr, q, func(page []state.AcceptanceRow) error {
		for _, r := range page {
			if r.BusinessID == business && r.Month == month {
				rows = append(rows, r)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	e.log.Info("terms acceptances: listed a month whole to write its register from Nexudus' data alone",
		zap.Int64("business_id", business), zap.String("month", month), zap.Int("acceptances", len(rows)))
	return e.legal.ReplaceMonth(business, month, rows)
}
