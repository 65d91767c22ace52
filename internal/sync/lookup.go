package sync

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/state"
)

// findExisting looks in CoreData for the file of Nexudus file id before
// anything is created for it (guarantee 1), whatever state file syncd was
// given: a forgotten mapping, an older backup, a lost or new state file, a
// create whose answer was lost. It returns the mapping to adopt, or nil
// when CoreData has no file of this record.
//
// The id a create returned, kept in the intent, is asked first: a verify
// read that failed must resume from that file. Else the files under parent
// are listed (once per run, shared by the workers) and one tagged
// nexudus-file-<id> that no other mapping owns is adopted. The tag, not
// the title, is what is matched: a person may have renamed the file, and
// CoreData may store a title otherwise than it was sent (normalised
// Unicode, white space, a length cap). An untagged file is never adopted:
// it is a person's.
func (e *Engine) findExisting(ctx context.Context, r *run, id int64, parent string) (*state.Mapping, error) {
	in, hasIntent, err := e.intents.Intent(id)
	if err != nil {
		return nil, err
	}
	if hasIntent && in.CoreDataID != "" {
		cf, err := e.sink.GetFile(ctx, in.CoreDataID)
		switch {
		case err == nil:
			m := adoptedMapping(id, cf, parent, in.Filename)
			return &m, nil
		case errors.Is(err, coredata.ErrNotFound):
			e.log.Warn("the CoreData file an earlier create made is gone; looking again by tag",
				zap.Int64("nexudus_id", id), zap.String("coredata_id", in.CoreDataID))
		default:
			return nil, fmt.Errorf("look up %s, made by an earlier create: %w", in.CoreDataID, err)
		}
	}
	if r.listed[parent] && !hasIntent {
		// This run began by listing every file CoreData shows (a state
		// file with no cursor) and has not tried a create of this record
		// since: a file of this record would be mapped already.
		return nil, nil
	}
	// An open intent means a create may have been sent after this run
	// listed the parent: list it again rather than miss that file. An
	// intent the audit wrote (Unsent) has had no create yet.
	if err := r.refusals.refused(parent); err != nil {
		return nil, fmt.Errorf("%w %s: %w", errParentRefused, parent, err)
	}
	fresh := hasIntent && !in.Unsent
	cands, err := r.tags.lookup(ctx, e.sink, parent, id, fresh)
	if err != nil {
		return nil, e.checkParentRefusal(r, parent, fmt.Errorf("look up nexudus-file-%d: %w", id, err))
	}
	// A person may have re-filed a mirrored file outside the configured
	// parents; the audit followed it there. Those folders are listed
	// too, so that a forgotten mapping or an older backup does not make
	// a second file (docs/design.md#followed-files).
	followed, err := r.followedParents(e.audits)
	if err != nil {
		return nil, err
	}
	for _, p := range followed {
		if p == parent {
			continue
		}
		more, err := r.tags.lookup(ctx, e.sink, p, id, fresh)
		if err != nil {
			return nil, fmt.Errorf("look up nexudus-file-%d in followed folder %s: %w", id, p, err)
		}
		cands = appendNewTagged(cands, more)
	}
	cf, err := e.pickTagged(ctx, id, cands)
	if err != nil || cf == nil {
		return nil, err
	}
	m := adoptedMapping(id, cf, parent, "")
	return &m, nil
}

// pickTagged reads the oldest file tagged for Nexudus file id that no
// other mapping owns and that still exists. More than one means a
// duplicate already exists: it is logged for a person to look at, and
// never made worse.
func (e *Engine) pickTagged(ctx context.Context, id int64, cands []tagged) (*coredata.File, error) {
	free := make([]tagged, 0, len(cands))
	for _, c := range cands {
		owner, owned, err := e.mappings.Owner(c.id)
		if err != nil {
			return nil, err
		}
		if owned && owner != id {
			continue
		}
		free = append(free, c)
	}
	sort.SliceStable(free, func(i, j int) bool {
		a, b := free[i].created, free[j].created
		return a != "" && (b == "" || a < b)
	})
	if len(free) > 1 {
		e.log.Warn("CoreData holds more than one file tagged for this Nexudus file; adopting the oldest",
			zap.Int64("nexudus_id", id), zap.Int("files", len(free)), zap.String("coredata_id", free[0].id))
	}
	for _, c := range free {
		cf, err := e.sink.GetFile(ctx, c.id)
		if errors.Is(err, coredata.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("read %s, tagged for this record: %w", c.id, err)
		}
		if !hasFileTag(cf.Tags, id) {
			continue // its tag was removed since the listing
		}
		return cf, nil
	}
	return nil, nil
}

// appendNewTagged appends the files of more that cands lacks.
func appendNewTagged(cands, more []tagged) []tagged {
	for _, m := range more {
		dup := false
		for _, c := range cands {
			dup = dup || c.id == m.id
		}
		if !dup {
			cands = append(cands, m)
		}
	}
	return cands
}

func hasFileTag(tags []string, id int64) bool {
	for _, t := range tags {
		if tid, ok := ParseFileTag(t); ok && tid == id {
			return true
		}
	}
	return false
}

// adoptedMapping maps id to cf as CoreData holds it now. Its UpdatedOn is
// the one cf's version tag proves (versiontag.go): a record still at that
// UpdatedOn is unchanged, and costs no download. Without such a tag (a
// file mirrored before syncd wrote them, a person's version on top) the
// UpdatedOn is unknown, so the caller downloads the record and compares
// digests as for any mapped file: the same bytes are recorded, others
// become a new version of cf.
func adoptedMapping(id int64, cf *coredata.File, parent, filename string) state.Mapping {
	if cf.Filename != "" {
		filename = cf.Filename
	}
	if cf.Parent != "" {
		parent = cf.Parent // where it is: a person may have re-filed it
	}
	updatedOn, _ := provenUpdatedOn(cf)
	return state.Mapping{
		NexudusID: id, CoreDataID: cf.ID, MD5: cf.Digest, Size: cf.Size, UpdatedOn: updatedOn,
		SnapshotID: cf.SnapshotID, Title: cf.Title, Parent: parent, Filename: filename,
	}
}
