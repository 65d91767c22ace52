package sync

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// errDigestMismatch is CoreData reporting other bytes than syncd sent.
var errDigestMismatch = errors.New("digest mismatch")

// errPermanent marks failures that retrying cannot fix (a file over the
// size cap): the file is parked at once, with the reason.
var errPermanent = errors.New("permanent")

// errUnreadable is a list record that did not decode.
var errUnreadable = errors.New("unreadable Nexudus record")

// processFile mirrors one signed record and reports whether the cursor may
// pass it: true once it is committed or skipped, or its failure is
// recorded (a recorded failure is retried by Id when due, even once the
// record is outside the poll window); false when nothing was recorded
// (shutdown, dry run, a state file that cannot be written).
func (e *Engine) processFile(ctx context.Context, r *run, f nexudus.File) (done bool) {
	unlock := e.locks.lock(f.ID)
	defer unlock()
	if r.out.tripped() {
		return false // handed out just before an outage stopped the run
	}
	fr := e.newFileRun(r, f)
	defer fr.close()
	plan, err := fr.decide(ctx)
	outcome := OutcomeNone
	if err == nil {
		if e.opt.DryRun {
			outcome = fr.report(plan)
		} else {
			outcome, err = fr.apply(ctx, plan)
		}
	}
	if err == nil {
		r.rep.count(outcome)
		e.m.file(outcome)
		r.out.ok()
		return true
	}
	if errors.Is(err, errBackoff) {
		return true
	}
	if errors.Is(err, errParentRefused) {
		// The parent's fault, said once per run: nothing is counted or
		// recorded, and the cursor holds before this record.
		return false
	}
	return e.failed(ctx, r, f, err, fr.log)
}

// report is a dry run's apply: the plan goes into the report, nothing is
// written anywhere.
func (fr *fileRun) report(p Plan) Outcome {
	a := Action{NexudusID: fr.rec.ID, Action: p.Kind, Title: fr.title, Parent: p.Mapping.Parent,
		Filename: p.Mapping.Filename, CoreDataID: p.Mapping.CoreDataID}
	switch p.Kind {
	case PlanSkip:
		return OutcomeSkipped
	case PlanWait:
		return OutcomeNone
	case PlanUnchanged:
		return OutcomeUnchanged
	case PlanCreate:
		a.Parent, a.Filename = fr.parent, fr.filename()
	case PlanUpdate:
		a.Filename = fr.filename()
	case PlanAdopt:
		a.Title = p.Mapping.Title
	}
	fr.r.rep.plan(a)
	if p.Kind == PlanAdopt && p.Mapping.Title != fr.title {
		a.Action, a.Title = PlanRetitle, fr.title
		fr.r.rep.plan(a)
	}
	if p.Kind == PlanRetitle || p.Kind == PlanAdopt {
		return OutcomeUnchanged
	}
	return OutcomeNone
}

// failed accounts for one file's failure according to whose fault it is
// (see classify) and reports whether it was recorded.
func (e *Engine) failed(ctx context.Context, r *run, f nexudus.File, err error, log *zap.Logger) bool {
	stopping := ctx.Err() != nil || e.opt.AbortContext.Err() != nil
	b := classify(err, stopping)
	if b == blameShutdown {
		log.Info("abandoned on shutdown; not counted as a failure", zap.Error(err))
		return false
	}
	r.rep.fail(f.ID, err)
	e.m.file(OutcomeFailed)
	if b == blameFile {
		r.out.ok() // the API answered: it is up
		return e.recordFailure(r, f, err, log)
	}
	quiet := r.out.tripped()
	r.out.failed(err, false)
	if e.opt.DryRun {
		return false
	}
	fail, serr := e.fails.unavailable(f.ID, f.UpdatedOn.Time, err.Error(), e.opt.Now())
	if serr != nil {
		log.Error("file failed, and recording the retry failed too", zap.Error(err), zap.NamedError("state_error", serr))
		return false
	}
	if !quiet {
		log.Warn("file not mirrored: "+causeOf(err)+" unavailable; not counted against the file, retried after a pause",
			zap.Error(err), zap.Time("next_attempt", fail.NextAttempt))
	}
	return true
}

// recordFailure counts a failure of the file itself, schedules the retry
// and parks the file after max_attempts (or at once for a permanent
// failure).
func (e *Engine) recordFailure(r *run, f nexudus.File, err error, log *zap.Logger) bool {
	if e.opt.DryRun {
		log.Warn("file failed (dry run: not recorded)", zap.Error(err))
		return false
	}
	var (
		fail state.Failure
		serr error
		mm   *mismatchError
	)
	if errors.As(err, &mm) {
		fail, serr = e.fails.mismatched(mm.mapping, f.UpdatedOn.Time, err.Error(), e.opt.Now())
	} else {
		fail, serr = e.fails.fileFailed(f.ID, f.UpdatedOn.Time, err.Error(), e.opt.Now(), errors.Is(err, errPermanent))
	}
	if serr != nil {
		log.Error("file failed, and recording the failure failed too", zap.Error(err), zap.NamedError("state_error", serr))
		return false
	}
	if fail.Parked {
		r.rep.count(OutcomeParked)
		e.m.file(OutcomeParked)
		log.Error("file parked: it is retried when it changes in Nexudus or after syncd state retry",
			zap.Error(err), zap.Int("attempts", fail.Attempts))
		return true
	}
	log.Warn("file failed; will retry", zap.Error(err), zap.Int("attempts", fail.Attempts), zap.Time("next_attempt", fail.NextAttempt))
	return true
}

// badRecord reports a list record that did not decode, by its Id, with
// the same backoff and parking as any failing file; it holds nothing else
// back.
func (e *Engine) badRecord(r *run, b nexudus.BadRecord) {
	log := e.log.With(zap.Int64("nexudus_id", b.ID))
	if b.ID == 0 {
		r.rep.fail(0, b.Err)
		e.m.file(OutcomeFailed)
		log.Error("unreadable record in a Nexudus list page", zap.Error(b.Err))
		return
	}
	unlock := e.locks.lock(b.ID)
	defer unlock()
	if fail, ok, err := e.fails.Failure(b.ID); err == nil && ok && (fail.Parked || e.opt.Now().Before(fail.NextAttempt)) {
		return
	}
	r.rep.fail(b.ID, b.Err)
	e.m.file(OutcomeFailed)
	e.recordFailure(r, nexudus.File{ID: b.ID}, fmt.Errorf("%w: %w", errUnreadable, b.Err), log)
}
