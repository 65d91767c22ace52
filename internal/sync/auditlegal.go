package sync

import (
	"errors"
	"strings"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/state"
)

// auditLegal judges every text and register syncd mirrored, by the same
// rules as a contract (judgeFile), and repairs them as the audit repairs
// contracts: a deleted one is written again at once (the texts listed
// from Nexudus, the register rebuilt from its rows), a re-filed or renamed
// one followed, a removed tag put back; a person's version and duplicates
// are reported (with audit.restore_drift, the bytes go on top again).
func (e *Engine) auditLegal(r *run, log *zap.Logger, opt AuditOptions, ls *auditListing, rep *AuditReport) {
	files, err := e.legal.LegalFiles()
	if err != nil {
		log.Warn("audit: read the terms acceptances' files", zap.Error(err))
		return
	}
	rewrite := false // a text or register to write again at the end
	for _, f := range files {
		if r.list.Err() != nil {
			return
		}
		held, ok := ls.legalHeld(f)
		if !ok {
			rep.ReadByID++
			cf, err := e.sink.GetFile(r.list, f.CoreDataID)
			switch {
			case err == nil:
				held = &Held{ID: cf.ID, Parent: cf.Parent, Title: cf.Title, Digest: cf.Digest, Tagged: containsString(cf.Tags, f.Tag)}
			case errors.Is(err, coredata.ErrNotFound):
			default:
				e.auditFailed(r, log, state.Mapping{CoreDataID: f.CoreDataID}, err)
				continue
			}
		}
		var others []string
		for _, id := range ls.legal[f.Tag] {
			if id != f.CoreDataID {
				others = append(others, id)
			}
		}
		v := judgeFile(fileRef{tag: f.Tag, coreDataID: f.CoreDataID, md5: f.MD5, parent: f.Parent, title: f.Title}, held, others)
		if len(v.Findings) == 0 {
			rep.Counts[AuditOK]++
			continue
		}
		repair := e.repairLegal(r, opt, f, held, v, &rewrite, rep)
		rep.Problems = append(rep.Problems, AuditProblem{Tag: f.Tag, CoreDataID: f.CoreDataID, Status: v.Status(), Reason: v.Reason(), Repair: repair})
		log.Warn("audit: "+string(v.Status()), zap.String("tag", f.Tag), zap.String("coredata_id", f.CoreDataID),
			zap.String("status", string(v.Status())), zap.String("reason", v.Reason()), zap.String("repair", repair))
	}
	if rewrite && e.legalOn() && r.list.Err() == nil {
		lr := e.newLegalRun(r)
		if err := e.walkTexts(lr, true); err != nil {
			log.Warn("audit: list the texts to write a deleted one again; the next audit tries again", zap.Error(err))
		}
		if err := e.writeRegisters(lr); err != nil {
			log.Warn("audit: write a deleted register again; the next audit tries again", zap.Error(err))
		}
		for k, n := range r.rep.Legal.Files {
			if strings.HasSuffix(k, "/"+legalCreated) {
				for range n {
					rep.Repairs[RepairRecreated+"/"+repairSuccess]++
					e.m.auditRepair(RepairRecreated, repairSuccess)
				}
			}
		}
	}
}

// repairLegal repairs one text or register, and says what it did.
func (e *Engine) repairLegal(r *run, opt AuditOptions, f state.LegalFile, held *Held, v AuditVerdict, rewrite *bool, rep *AuditReport) string {
	var said []string
	done := func(action string, err error, what string) {
		result := repairSuccess
		if err != nil {
			result, what = repairFailure, action+" failed: "+err.Error()
		}
		rep.Repairs[action+"/"+result]++
		e.m.auditRepair(action, result)
		said = append(said, what)
	}
	if e.opt.DryRun {
		return "none (dry run)"
	}
	// Writing it again: forgotten, so the next write looks it up (a
	// duplicate made meanwhile is adopted, never a second one made), and
	// its month marked for a register.
	again := func() error {
		if err := e.legal.ForgetLegalFile(f.Tag); err != nil {
			return err
		}
		if b, month, ok := legal.ParseRegisterTag(f.Tag); ok {
			if err := e.legal.MarkMonthDirty(b, month); err != nil {
				return err
			}
		}
		*rewrite = true
		return nil
	}
	switch {
	case v.Has(AuditMissing) && opt.Repair && e.legalOn():
		if err := again(); err != nil {
			done(RepairRecreated, err, "")
		} else {
			said = append(said, "written again from Nexudus' data")
		}
	case v.Has(AuditMissing):
		said = append(said, "reported (audit.repair is off, or legal.enabled)")
	}
	if v.Has(AuditMoved) {
		nf := f
		nf.Parent, nf.Title = held.Parent, held.Title
		done(RepairFollowed, e.legal.PutLegalFile(nf), "followed: later versions go to it where it is now, under its title")
	}
	if v.Has(AuditUntagged) {
		if opt.Repair {
			done(RepairRetagged, e.retagLegal(r, f), "tag put back")
		} else {
			said = append(said, "tag not put back (audit.repair is off)")
		}
	}
	if v.Has(AuditDrift) {
		if opt.RestoreDrift && e.legalOn() {
			nf := f
			nf.MD5 = "" // not what CoreData holds: the next write puts the bytes on top
			err := e.legal.PutLegalFile(nf)
			if b, month, ok := legal.ParseRegisterTag(f.Tag); ok && err == nil {
				err = e.legal.MarkMonthDirty(b, month)
			}
			*rewrite = *rewrite || err == nil
			done(RepairRestored, err, "syncd's bytes uploaded again as a new version")
		} else {
			said = append(said, "reported; the person's version is kept (audit.restore_drift is off)")
		}
	}
	if v.Has(AuditDuplicate) {
		said = append(said, "reported; nothing is deleted")
	}
	return strings.Join(said, "; ")
}

// retagLegal puts a text's or register's tag back, as the union with the
// file's current tags.
func (e *Engine) retagLegal(r *run, f state.LegalFile) error {
	cf, err := e.sink.GetFile(r.list, f.CoreDataID)
	if err != nil {
		return err
	}
	if containsString(cf.Tags, f.Tag) {
		return nil
	}
	md := coredata.Metadata{Title: cf.Title, Filename: cf.Filename, Parent: cf.Parent, Tags: unionTags(cf.Tags, []string{f.Tag})}
	if md.Filename == "" {
		md.Filename = f.Filename
	}
	if md.Parent == "" {
		md.Parent = f.Parent
	}
	return e.sink.UpdateMetadata(r.list, f.CoreDataID, md)
}

// legalHeld is a listed text or register as CoreData shows it.
func (ls *auditListing) legalHeld(f state.LegalFile) (*Held, bool) {
	cf, ok := ls.odd[f.CoreDataID]
	if !ok {
		return nil, false
	}
	return &Held{ID: cf.ID, Parent: cf.Parent, Title: cf.Title, Digest: cf.Digest, Tagged: containsString(cf.Tags, f.Tag)}, true
}
