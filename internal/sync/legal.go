package sync

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// Terms acceptances (SPEC "Terms acceptances", docs/design.md#guarantee-9):
// with LegalOptions.Source set, every poll also walks the acceptances
// (CoworkerLegalContentAudits) and the versions of the texts accepted
// (LegalContentAudits) by UpdatedOn, mirrors each version as one file and
// each location's month of acceptances as one register. They run after the
// contracts, in the same run: the same rate budget, outage streaks and
// shutdown, and a missing role never holds a contract back.

// LegalSource is the Nexudus side of terms acceptances.
type LegalSource interface {
	ListAcceptancesPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.AcceptancePage, error)
	ListTextsPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.TextPage, error)
}

// LegalOptions turn terms acceptances on (legal.enabled).
type LegalOptions struct {
	// Source lists acceptances and texts; nil: terms acceptances are off.
	Source LegalSource
	// Titles are legal.text_title and legal.register_title; nil: the
	// defaults.
	Titles *legal.Titles
}

// LegalRecords is the state of terms acceptances.
type LegalRecords interface {
	LegalFile(tag string) (state.LegalFile, bool, error)
	LegalFiles() ([]state.LegalFile, error)
	PutLegalFile(f state.LegalFile) error
	PutLegalText(f state.LegalFile, textUniqueID string) error
	PutRegister(business int64, month string, f state.LegalFile) error
	ForgetLegalFile(tag string) error
	PutLegalIntent(in state.LegalIntent) error
	LegalIntent(tag string) (state.LegalIntent, bool, error)
	PutAcceptances(rows []state.AcceptanceRow) (int, error)
	ReplaceMonth(business int64, month string, rows []state.AcceptanceRow) error
	MonthRows(business int64, month string) ([]state.AcceptanceRow, error)
	LegalMonths() ([]state.LegalMonth, error)
	MarkMonthsDirty(textUniqueID string) (int, error)
	MarkMonthDirty(business int64, month string) error
	LegalFailure(tag string) (state.LegalFailure, bool, error)
	RecordLegalFailure(tag, md5, msg string, now time.Time, maxAttempts int, backoff func(int) time.Duration) (state.LegalFailure, error)
}

// The roles a 403 names (the documents' names).
const (
	roleAcceptances = nexudus.RoleAcceptances
	roleTexts       = nexudus.RoleTexts
)

// LegalReport is what a poll did with terms acceptances.
type LegalReport struct {
	Acceptances  int            // acceptances listed that were new or changed
	Files        map[string]int // "<text|register>/<outcome>"
	UnknownTexts int            // register rows whose version is not known yet
	Denied       []string       // roles the API user lacks
}

// legalRun is one poll's pass over terms acceptances.
type legalRun struct {
	e *Engine
	r *run
	// listings are the parents' legal files, listed once per run.
	listings map[string]map[string][]tagged
	// texts are the versions mirrored or seen in this run, by UniqueId.
	texts          map[string]bool
	unknown        map[string]bool // versions cited but not known
	textsFromStart bool
	denied         map[string]bool
	acceptSeen     *WalkSeen
	backfillFrom   time.Time // a backfill's start; zero in a poll
}

func (e *Engine) newLegalRun(r *run) *legalRun {
	if r.rep.Legal.Files == nil {
		r.rep.Legal.Files = map[string]int{}
	}
	return &legalRun{e: e, r: r, listings: map[string]map[string][]tagged{}, texts: map[string]bool{},
		unknown: map[string]bool{}, denied: map[string]bool{}, acceptSeen: NewWalkSeen()}
}

func (e *Engine) legalOn() bool { return e.opt.Legal.Source != nil }

func (e *Engine) titles() *legal.Titles {
	if e.opt.Legal.Titles != nil {
		return e.opt.Legal.Titles
	}
	t, err := legal.ParseTitles(legal.DefaultTextTitle, legal.DefaultRegisterTitle)
	if err != nil {
		panic("sync: the default legal titles do not parse: " + err.Error())
	}
	return t
}

// pollLegal is the terms acceptances' part of a poll. Its errors are the
// poll's; a missing role is logged once and reported, not an error.
func (e *Engine) pollLegal(r *run) error { return e.pollLegalFrom(r, time.Time{}) }

// pollLegalFrom is pollLegal, walking the acceptances from backfillFrom
// when that is earlier than their cursor (a backfill), and every text.
func (e *Engine) pollLegalFrom(r *run, backfillFrom time.Time) error {
	if !e.legalOn() || r.out.tripped() || r.list.Err() != nil {
		return nil
	}
	if e.opt.DryRun {
		// A dry run writes nothing anywhere; terms acceptances have no
		// plan to show yet beyond what a real poll would list.
		e.log.Info("dry run: terms acceptances are not listed or written")
		return nil
	}
	lr := e.newLegalRun(r)
	lr.backfillFrom = backfillFrom
	var errs []error
	// Texts first: an acceptance of a version published since the last
	// poll then finds its text.
	if err := e.walkTexts(lr, !backfillFrom.IsZero()); err != nil {
		errs = append(errs, err)
	}
	for _, loc := range e.locations() {
		if r.out.tripped() || r.list.Err() != nil {
			break
		}
		if err := e.walkAcceptances(lr, loc); err != nil {
			errs = append(errs, err)
		}
	}
	if len(lr.unknown) > 0 && !lr.textsFromStart && !lr.denied[roleTexts] && r.list.Err() == nil {
		// A version older than the texts' cursor: list them all, once.
		if err := e.walkTexts(lr, true); err != nil {
			errs = append(errs, err)
		}
	}
	if r.list.Err() == nil && !r.out.tripped() {
		if err := e.writeRegisters(lr); err != nil {
			errs = append(errs, err)
		}
	}
	for role := range lr.denied {
		r.rep.Legal.Denied = append(r.rep.Legal.Denied, role)
	}
	e.m.legalDenied(lr.denied)
	e.m.legalUnknown(r.rep.Legal.UnknownTexts)
	return errors.Join(errs...)
}

// denied handles a 403 naming a role: one error line per poll and role,
// and the metric; the caller goes on with what it may still do.
func (lr *legalRun) deniedBy(err error) bool {
	var re *nexudus.RoleError
	if !errors.As(err, &re) {
		return false
	}
	if !lr.denied[re.Role] {
		lr.denied[re.Role] = true
		lr.e.log.Error("terms acceptances: the Nexudus API user lacks the role "+re.Role+"; give it the role (contracts are mirrored meanwhile)",
			zap.String("role", re.Role), zap.Error(err))
	}
	return true
}

// legalCursorKeys are the cursors of terms acceptances: a location's
// acceptances, the first minute its stream ever read (months from then on
// are complete without a re-listing), and the texts.
func acceptanceCursor(loc location) string { return "legal-" + loc.key }
func streamFrom(loc location) string       { return "legal-from-" + loc.key }

const textsCursor = "legal-texts"

// locationOf is the cursor location a business is walked in.
func (e *Engine) locationOf(business int64) location {
	if len(e.opt.Businesses) == 0 {
		return location{key: "all"}
	}
	return location{key: "business-" + strconv.FormatInt(business, 10), business: business}
}

// legalLowWater is where an open-ended walk that ended leaves its cursor:
// held back where pages may have shifted, else caught up with the run's
// start (a quiet tenant's cursor keeps up with the clock).
func legalLowWater(r *run, res WalkResult) time.Time {
	if res.HeldBack {
		return minTime(res.LastMinute, res.Held)
	}
	if res.LastMinute.Before(minute(r.start)) {
		return minute(r.start)
	}
	return res.LastMinute
}

// saveCursor moves a terms-acceptance cursor forward, never back, never
// past the minute the run started (the contracts' rule).
func (e *Engine) saveCursor(r *run, key string, lowWater time.Time) error {
	old, hasOld, err := e.cursors.Cursor(key)
	if err != nil {
		return err
	}
	next := lowWater
	if limit := minute(r.start); next.After(limit) {
		next = limit
	}
	if hasOld && old.After(next) {
		next = old
	}
	if e.opt.DryRun || (hasOld && next.Equal(old)) {
		return nil
	}
	return e.cursors.SetCursor(key, next)
}
