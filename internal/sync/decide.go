package sync

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// PlanKind is what the decision for one record says to do.
type PlanKind string

// The plans for one record (docs/design.md#one-records-decision).
const (
	// PlanSkip: not signed, or its location has no CoreData parent.
	PlanSkip PlanKind = "skip"
	// PlanUnchanged: CoreData holds these bytes under this title.
	PlanUnchanged PlanKind = "unchanged"
	// PlanRetitle: CoreData holds these bytes under another title.
	PlanRetitle PlanKind = "retitle"
	// PlanAdopt: a CoreData file of this record, not in the state file,
	// holds these bytes: it is recorded instead of creating another.
	PlanAdopt PlanKind = "adopt"
	// PlanCreate: CoreData holds no file of this record.
	PlanCreate PlanKind = "create"
	// PlanUpdate: the record's CoreData file holds other bytes.
	PlanUpdate PlanKind = "update"
	// PlanWait: the file is backing off after a failure, or parked.
	PlanWait PlanKind = "wait"
)

// Plan is the decision for one record: what to do, and on which file.
type Plan struct {
	Kind PlanKind
	// Mapping is the record's CoreData file as far as known: from the
	// state file, or found in CoreData (Found). Zero for PlanCreate.
	Mapping state.Mapping
	// Found is a file of this record that the state file did not map,
	// found in CoreData by the lookup before a create.
	Found bool
	// Record says the mapping must be written (a new UpdatedOn, or a
	// file found in CoreData) although CoreData needs nothing.
	Record bool
	// NoParent is a PlanSkip for a location without a CoreData parent.
	NoParent bool
	// Parked is a PlanWait for a parked file (else it is backing off).
	Parked bool
}

// fileRun is one record's run through decide, then apply.
type fileRun struct {
	e   *Engine
	r   *run
	rec nexudus.File
	log *zap.Logger

	parent, title string
	// sp holds the downloaded bytes once the decision needed them.
	sp *spool
}

func (e *Engine) newFileRun(r *run, rec nexudus.File) *fileRun {
	// Lazy: a record skipped as unchanged logs nothing, and must not pay
	// for a logger clone.
	return &fileRun{e: e, r: r, rec: rec, log: e.log.WithLazy(zap.Int64("nexudus_id", rec.ID))}
}

// close drops the downloaded bytes.
func (fr *fileRun) close() { fr.sp.close() }

// decide reads what it needs (the state file, CoreData, the record's
// bytes) and writes nothing anywhere: a dry run and an audit are decide
// without apply.
func (fr *fileRun) decide(ctx context.Context) (Plan, error) {
	e, f := fr.e, fr.rec
	if !f.Signed {
		return Plan{Kind: PlanSkip}, nil
	}
	parent, ok := e.opt.ParentFor(f.BusinessID)
	if !ok {
		return Plan{Kind: PlanSkip, NoParent: true}, nil
	}
	title, err := e.title(f)
	if err != nil {
		return Plan{}, fmt.Errorf("%w: %w", errPermanent, err)
	}
	fr.parent, fr.title = parent, title
	m, mapped, err := e.mappings.Mapping(f.ID)
	if err != nil {
		return Plan{}, err
	}
	// A record without UpdatedOn cannot be proven unchanged: it is
	// downloaded and compared by md5 every time it is listed.
	if mapped && MappingCurrent(m, f) {
		return Plan{Kind: PlanForBytes(m, m.MD5, title, false), Mapping: m}, nil
	}
	if fail, ok, err := e.fails.Failure(f.ID); err != nil {
		return Plan{}, err
	} else if ok && fail.UpdatedOn.Equal(f.UpdatedOn.Time) && (fail.Parked || e.opt.Now().Before(fail.NextAttempt)) {
		return Plan{Kind: PlanWait, Parked: fail.Parked}, nil
	}
	found := false
	if !mapped {
		fm, err := e.findExisting(ctx, fr.r, f.ID, parent)
		if err != nil {
			return Plan{}, err
		}
		if fm == nil {
			return Plan{Kind: PlanCreate}, nil
		}
		m, found = *fm, true
		if MappingCurrent(m, f) {
			// Its version tag proves CoreData holds this very version
			// of the record: nothing to download.
			return Plan{Kind: PlanForBytes(m, m.MD5, title, true), Mapping: m, Found: true, Record: true}, nil
		}
	}
	if err := fr.fetch(ctx); err != nil {
		return Plan{}, err
	}
	kind := PlanForBytes(m, fr.sp.md5, title, found)
	return Plan{Kind: kind, Mapping: m, Found: found, Record: kind != PlanUpdate}, nil
}

// fetch downloads the record's bytes into a spool, once.
func (fr *fileRun) fetch(ctx context.Context) error {
	if fr.sp != nil {
		return nil
	}
	sp, err := fr.e.download(ctx, fr.rec)
	if errors.Is(err, nexudus.ErrTooLarge) {
		return fmt.Errorf("%w: %w", errPermanent, err)
	}
	if err != nil {
		return err
	}
	if fr.rec.SignedFileDataFileName == "" {
		fr.log.Info("record is flagged Signed but has no signed copy: mirroring its original file")
	}
	fr.sp = sp
	return nil
}
