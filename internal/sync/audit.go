package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/state"
)

// AuditOptions are the audit: keys of the configuration.
type AuditOptions struct {
	// Repair mirrors again a file a person deleted and puts a removed tag
	// back (audit.repair).
	Repair bool
	// RestoreDrift uploads the signed bytes again over a person's version
	// (audit.restore_drift); else drift is reported.
	RestoreDrift bool
}

// AuditProblem is one mapped file that is not ok.
type AuditProblem struct {
	NexudusID int64 `json:"nexudus_id"`
	// Tag names a text or register (terms acceptances); NexudusID is 0.
	Tag        string      `json:"tag,omitempty"`
	CoreDataID string      `json:"coredata_id"`
	Status     AuditStatus `json:"status"`
	Reason     string      `json:"reason"`
	Repair     string      `json:"repair"`
}

// AuditReport is what one audit found and did.
type AuditReport struct {
	Started, Finished time.Time
	// Complete: every mapping was checked (no outage, no shutdown).
	Complete bool
	Counts   map[AuditStatus]int
	Problems []AuditProblem // by Nexudus id
	// Repairs counts "<action>/<result>" (recreated/success, ...).
	Repairs map[string]int
	// Parents and Listed count the CoreData parents and files listed;
	// ReadByID the mapped files not under them, read one by one.
	Parents, Listed, ReadByID int
}

// audited is one mapping judged, with what its repairs need.
type audited struct {
	m       state.Mapping
	held    *Held
	verdict AuditVerdict
	repair  string
}

// Audit checks every mapping of the state file against what CoreData
// holds (docs/design.md#the-audit) and repairs what people broke: it lists
// the configured parents and the folders of followed files, reads by id
// only a mapped file not found there, and asks Nexudus nothing unless it
// repairs. It never runs beside a poll: the caller (the scheduler) holds
// them apart, as it holds polls apart.
func (e *Engine) Audit(ctx context.Context, opt AuditOptions) (*AuditReport, error) {
	r, cancel := e.newRun(ctx)
	defer cancel()
	rep := &AuditReport{Started: r.start, Counts: map[AuditStatus]int{}, Repairs: map[string]int{}}
	for _, s := range AuditStatuses {
		rep.Counts[s] = 0
	}
	log := e.log.With(zap.String("run", "audit"))

	ls, err := e.auditList(r)
	if err != nil {
		return e.endAudit(r, rep, nil, nil, fmt.Errorf("audit: %w", err))
	}
	rep.Parents = len(ls.listed)
	rep.Listed = ls.count()

	var problems []audited
	var judged []int64
	var unlisted []state.Mapping
	configured := e.configuredParents()
	var quietFollow []audited
	err = e.audits.EachMapping(1000, func(m state.Mapping) error {
		held, renamed, ok := ls.held(m.CoreDataID, m.NexudusID, m.Title)
		if !ok || renamed {
			// Not listed (deleted, or outside every listed parent), or
			// renamed: read by id for what CoreData holds now.
			unlisted = append(unlisted, m)
			return nil
		}
		a := e.judge(m, held, ls)
		judged = append(judged, m.NexudusID)
		if len(a.verdict.Findings) > 0 {
			problems = append(problems, a)
		} else if !configured[held.Parent] {
			quietFollow = append(quietFollow, a)
		}
		return nil
	})
	if err != nil {
		return e.endAudit(r, rep, nil, nil, fmt.Errorf("audit: read the state file: %w", err))
	}
	for _, m := range unlisted {
		if r.list.Err() != nil {
			break
		}
		rep.ReadByID++
		cf, err := e.sink.GetFile(r.list, m.CoreDataID)
		var held *Held
		switch {
		case err == nil:
			held = &Held{ID: cf.ID, Parent: cf.Parent, Title: cf.Title, Digest: cf.Digest, Tagged: hasFileTag(cf.Tags, m.NexudusID)}
		case errors.Is(err, coredata.ErrNotFound):
		default:
			e.auditFailed(r, log, m, err)
			continue
		}
		a := e.judge(m, held, ls)
		judged = append(judged, m.NexudusID)
		if len(a.verdict.Findings) > 0 {
			problems = append(problems, a)
		} else if held != nil && !configured[held.Parent] {
			quietFollow = append(quietFollow, a)
		}
	}
	for _, a := range quietFollow {
		// Under a parent syncd does not list (a file `state rebuild`
		// found anywhere): remembered, so the lookups list its folder.
		if err := e.audits.Follow(a.m, state.Followed{Parent: a.held.Parent, Title: a.held.Title, At: e.opt.Now()}); err != nil {
			log.Warn("remember a file outside the configured parents", zap.Int64("nexudus_id", a.m.NexudusID), zap.Error(err))
		}
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].m.NexudusID < problems[j].m.NexudusID })
	e.preloadLookups(r, ls)
	for i := range problems {
		a := &problems[i]
		if r.list.Err() == nil {
			a.repair = e.repair(r, log, opt, a, rep)
		} else {
			a.repair = "not tried: the audit stopped before its repairs"
		}
		e.logProblem(log, a)
	}
	e.auditLegal(r, log, opt, ls, rep)
	if r.list.Err() == nil && !r.out.tripped() {
		// Creates an earlier audit's repair left open (an outage, a
		// kill): the next audit, not only the next poll, takes them up.
		e.retryDue(r, true)
	}
	return e.endAudit(r, rep, problems, judged, nil)
}

// judge judges one mapping against what CoreData holds.
func (e *Engine) judge(m state.Mapping, held *Held, ls *auditListing) audited {
	return audited{m: m, held: held, verdict: JudgeMapped(m, held, ls.others(m.NexudusID, m.CoreDataID))}
}

// configuredParents is the set of e.opt.Parents.
func (e *Engine) configuredParents() map[string]bool {
	set := make(map[string]bool, len(e.opt.Parents))
	for _, p := range e.opt.Parents {
		set[p] = true
	}
	return set
}

// auditList lists the configured parents and the folders of followed
// files, each once, and each file once (a project lists the files of its
// folders too).
func (e *Engine) auditList(r *run) (*auditListing, error) {
	parents := append([]string(nil), e.opt.Parents...)
	followed, err := e.audits.FollowedParents()
	if err != nil {
		return nil, fmt.Errorf("read the followed files: %w", err)
	}
	parents = append(parents, followed...)
	mapped, _, _, _, err := e.counts()
	if err != nil {
		return nil, fmt.Errorf("count the mappings: %w", err)
	}
	ls := newAuditListing(mapped)
	seen := map[string]bool{}
	for _, p := range parents {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		ls.listed = append(ls.listed, p)
		err := e.sink.EachFile(r.list, p, "", func(f coredata.File) error {
			ls.add(f, p)
			return nil
		})
		if err != nil {
			if reason, ok := parentRefusal(err); ok {
				// A parent that cannot be listed proves nothing about its
				// files: none of them may be judged missing.
				return nil, fmt.Errorf("CoreData refuses to list parent %s (%s): %w", p, reason, err)
			}
			return nil, fmt.Errorf("list parent %s: %w", p, err)
		}
	}
	return ls, nil
}

// preloadLookups gives the repairs' lookups the audit's own listing: the
// create of a deleted file then costs no listing of its own (guarantee 1
// is kept by the listing the audit just made, which every tagged file of
// the record would be in).
func (e *Engine) preloadLookups(r *run, ls *auditListing) {
	for _, p := range ls.listed {
		r.tags.preload(p, ls.tagged)
	}
}

// auditFailed accounts for a mapped file the audit could not check: a
// failure of the world counts toward an outage, which stops the audit;
// nothing is recorded against the file.
func (e *Engine) auditFailed(r *run, log *zap.Logger, m state.Mapping, err error) {
	if classify(err, r.list.Err() != nil) == blameShutdown {
		return
	}
	log.Warn("audit: could not read a mapped CoreData file; the next audit checks it again",
		zap.Int64("nexudus_id", m.NexudusID), zap.String("coredata_id", m.CoreDataID), zap.Error(err))
	r.out.failed(err, false)
}

func (e *Engine) logProblem(log *zap.Logger, a *audited) {
	log.Warn("audit: "+string(a.verdict.Status()),
		zap.Int64("nexudus_id", a.m.NexudusID), zap.String("coredata_id", a.m.CoreDataID),
		zap.String("status", string(a.verdict.Status())), zap.String("reason", a.verdict.Reason()),
		zap.String("repair", a.repair))
}

// endAudit records the audit's result in the state file and the metrics.
func (e *Engine) endAudit(r *run, rep *AuditReport, problems []audited, judged []int64, err error) (*AuditReport, error) {
	r.out.end()
	rep.Finished = e.opt.Now()
	if err == nil {
		err = r.out.err()
	}
	if err == nil && r.list.Err() != nil {
		err = fmt.Errorf("audit: stopped before the end: %w", r.list.Err())
	}
	rep.Complete = err == nil
	findings := map[int64]state.AuditFinding{}
	for _, a := range problems {
		st := a.verdict.Status()
		rep.Problems = append(rep.Problems, AuditProblem{NexudusID: a.m.NexudusID, CoreDataID: a.m.CoreDataID, Status: st, Reason: a.verdict.Reason(), Repair: a.repair})
		findings[a.m.NexudusID] = state.AuditFinding{Status: string(st), CoreDataID: a.m.CoreDataID, Reason: a.verdict.Reason(), Repair: a.repair, CheckedAt: rep.Finished}
	}
	slices.Sort(judged)
	for _, id := range judged {
		if _, bad := findings[id]; !bad {
			rep.Counts[AuditOK]++
		}
	}
	for _, p := range rep.Problems {
		rep.Counts[p.Status]++
	}
	if judged != nil && !e.opt.DryRun {
		sum := state.AuditSummary{Started: rep.Started, Finished: rep.Finished, Complete: rep.Complete, Counts: map[string]int{}, Repairs: rep.Repairs}
		for s, n := range rep.Counts {
			sum.Counts[string(s)] = n
		}
		if err != nil {
			sum.Error = err.Error()
		}
		var checked func(int64) bool
		if !rep.Complete {
			checked = func(id int64) bool { _, ok := slices.BinarySearch(judged, id); return ok }
		}
		if serr := e.audits.PutAuditResult(sum, findings, checked); serr != nil {
			err = errors.Join(err, fmt.Errorf("audit: record the result: %w", serr))
			rep.Complete = false
		}
	}
	if judged != nil {
		e.m.auditDone(rep, rep.Complete)
	}
	e.refreshGauges()
	return rep, err
}
