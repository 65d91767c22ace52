package sync

import (
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// The audit's repairs: the values of syncd_audit_repairs_total's action.
const (
	RepairRecreated = "recreated"
	RepairFollowed  = "followed"
	RepairRetagged  = "retagged"
	RepairRestored  = "restored"
)

// RepairActions lists every action, for the metric.
var RepairActions = []string{RepairRecreated, RepairFollowed, RepairRetagged, RepairRestored}

// The results of a repair.
const (
	repairSuccess = "success"
	repairFailure = "failure"
)

// repair does what the audit's findings for one file ask, and says what
// it did, for the log line, the state file and the status page.
func (e *Engine) repair(r *run, log *zap.Logger, opt AuditOptions, a *audited, rep *AuditReport) string {
	v := a.verdict
	unlock := e.locks.lock(a.m.NexudusID)
	defer unlock()
	var said []string
	done := func(action string, err error, what string) {
		result := repairSuccess
		if err != nil {
			result = repairFailure
			what = fmt.Sprintf("%s failed: %v", action, err)
			// recreate accounts for its own failures, as a poll's file.
			if action != RepairRecreated && classify(err, r.list.Err() != nil) == blameWorld {
				r.out.failed(err, false)
			}
		}
		rep.Repairs[action+"/"+result]++
		e.m.auditRepair(action, result)
		said = append(said, what)
	}
	if e.opt.DryRun {
		return "none (dry run)"
	}
	switch {
	case v.Has(AuditMissing) && opt.Repair:
		id, skip, err := e.recreate(r, a.m)
		if skip != "" {
			said = append(said, skip)
			break
		}
		done(RepairRecreated, err, "mirrored again as "+id)
	case v.Has(AuditMissing):
		said = append(said, "reported (audit.repair is off)")
	}
	if v.Has(AuditMoved) {
		m := a.m
		m.Parent, m.Title = a.held.Parent, a.held.Title
		err := e.audits.Follow(m, state.Followed{Parent: a.held.Parent, Title: a.held.Title, At: e.opt.Now()})
		done(RepairFollowed, err, "followed: later versions go to it where it is now, under its title")
	}
	if v.Has(AuditUntagged) {
		if opt.Repair {
			done(RepairRetagged, e.retag(r, a.m), "tag put back")
		} else {
			said = append(said, "tag not put back (audit.repair is off)")
		}
	}
	if v.Has(AuditDrift) {
		if opt.RestoreDrift {
			done(RepairRestored, e.restoreDrift(r, a.m), "the signed bytes uploaded again as a new version")
		} else {
			said = append(said, "reported; the person's version is kept (audit.restore_drift is off)")
		}
	}
	if v.Has(AuditDuplicate) {
		said = append(said, "reported; nothing is deleted")
	}
	return strings.Join(said, "; ")
}

// recreate mirrors again the record of a CoreData file a person deleted,
// whatever the record's age: it reads the record by Id, turns the mapping
// into an intent (one transaction, so a crash leaves the create for the
// next poll to take up by Id), and mirrors it as a poll would: the lookup
// before the create, then one new file. skip says why nothing was done
// when that is no failure.
func (e *Engine) recreate(r *run, m state.Mapping) (newID, skip string, err error) {
	ctx := r.list
	rec, err := e.src.Get(ctx, m.NexudusID)
	switch {
	case errors.Is(err, nexudus.ErrNotFound):
		return "", "not mirrored again: the Nexudus record no longer exists (nothing is deleted in CoreData either)", nil
	case err != nil:
		return "", "", fmt.Errorf("read Nexudus record %d: %w", m.NexudusID, err)
	case !rec.Signed:
		return "", "not mirrored again: the Nexudus record is no longer signed", nil
	}
	parent, ok := e.opt.ParentFor(rec.BusinessID)
	if !ok {
		return "", "not mirrored again: its location has no CoreData parent", nil
	}
	in := state.Intent{NexudusID: m.NexudusID, Parent: parent, UpdatedOn: rec.UpdatedOn.Time, StartedAt: e.opt.Now()}
	if err := e.audits.RecreateIntent(in); err != nil {
		return "", "", err
	}
	// processFile takes the record's lock itself; the caller's is held
	// for the whole repair, so work through the unlocked path.
	fr := e.newFileRun(r, *rec)
	defer fr.close()
	plan, err := fr.decide(e.opt.AbortContext)
	if err == nil {
		var outcome Outcome
		outcome, err = fr.apply(e.opt.AbortContext, plan)
		if err == nil {
			r.rep.count(outcome)
			e.m.file(outcome)
		}
	}
	if err != nil {
		// Recorded as any file's failure: the intent stays, and the
		// poll's retries take it up by Id.
		e.failed(e.opt.AbortContext, r, *rec, err, fr.log)
		return "", "", err
	}
	nm, ok, err := e.mappings.Mapping(m.NexudusID)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", errors.New("no mapping was recorded")
	}
	return nm.CoreDataID, "", nil
}

// retag puts the record's tag back on its file, as the union with the
// tags the file has now, and keeps its title, filename and parent.
func (e *Engine) retag(r *run, m state.Mapping) error {
	cf, err := e.sink.GetFile(r.list, m.CoreDataID)
	if err != nil {
		return fmt.Errorf("read %s: %w", m.CoreDataID, err)
	}
	if hasFileTag(cf.Tags, m.NexudusID) {
		return nil // put back since the listing
	}
	md := coredata.Metadata{Title: cf.Title, Filename: cf.Filename, Parent: cf.Parent, Tags: unionTags(cf.Tags, []string{FileTag(m.NexudusID)})}
	if md.Filename == "" {
		md.Filename = m.Filename
	}
	if md.Parent == "" {
		md.Parent = m.Parent
	}
	if err := e.sink.UpdateMetadata(r.list, m.CoreDataID, md); err != nil {
		return fmt.Errorf("put the tag back on %s: %w", m.CoreDataID, err)
	}
	return nil
}

// restoreDrift uploads the record's signed bytes again as a new version
// of its file, on top of the person's. The mapping is untouched until
// CoreData reports the bytes, so a crash or a failure leaves the drift
// for the next audit to find again.
func (e *Engine) restoreDrift(r *run, m state.Mapping) error {
	rec, err := e.src.Get(r.list, m.NexudusID)
	if err != nil {
		return fmt.Errorf("read Nexudus record %d: %w", m.NexudusID, err)
	}
	if !rec.Signed {
		return fmt.Errorf("Nexudus record %d is no longer signed: %w", m.NexudusID, errPermanent)
	}
	fr := e.newFileRun(r, *rec)
	defer fr.close()
	if _, err := fr.decide(e.opt.AbortContext); err != nil {
		return err
	}
	if err := fr.fetch(e.opt.AbortContext); err != nil {
		return err
	}
	_, err = fr.update(e.opt.AbortContext, m, false)
	return err
}
