package sync

import (
	"context"
	"errors"
	"fmt"

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
// with this title (and the intent's title, if the record was renamed since)
// are listed, and one tagged nexudus-file-<id> that no other mapping owns
// is adopted. An untagged file is never adopted: it is a person's.
func (e *Engine) findExisting(ctx context.Context, r *run, id int64, parent, title string) (*state.Mapping, error) {
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
			e.log.Warn("the CoreData file an earlier create made is gone; looking again by title",
				zap.Int64("nexudus_id", id), zap.String("coredata_id", in.CoreDataID))
		default:
			return nil, fmt.Errorf("look up %s, made by an earlier create: %w", in.CoreDataID, err)
		}
	}
	if r.listed[parent] && !hasIntent {
		// This run began by listing every file under parent (a state
		// file with no cursor) and has not tried a create of this record
		// since: a file of this record would be mapped already.
		return nil, nil
	}
	titles := []string{title}
	if hasIntent && in.Title != "" && in.Title != title {
		titles = append(titles, in.Title)
	}
	for _, t := range titles {
		files, err := e.sink.ListFiles(ctx, parent, t)
		if err != nil {
			return nil, fmt.Errorf("look up %q under %s: %w", t, parent, err)
		}
		cf, err := e.pickTagged(id, files)
		if err != nil || cf != nil {
			if cf == nil {
				return nil, err
			}
			m := adoptedMapping(id, cf, parent, "")
			return &m, nil
		}
	}
	return nil, nil
}

// pickTagged returns the oldest file tagged for Nexudus file id that no
// other mapping owns. More than one means a duplicate already exists: it
// is logged for a person to look at, and never made worse.
func (e *Engine) pickTagged(id int64, files []coredata.File) (*coredata.File, error) {
	var pick *coredata.File
	n := 0
	for i := range files {
		cf := &files[i]
		if !hasFileTag(cf.Tags, id) {
			continue
		}
		owner, owned, err := e.mappings.Owner(cf.ID)
		if err != nil {
			return nil, err
		}
		if owned && owner != id {
			continue
		}
		n++
		if pick == nil || (cf.Created != "" && cf.Created < pick.Created) {
			pick = cf
		}
	}
	if n > 1 {
		e.log.Warn("CoreData holds more than one file tagged for this Nexudus file; adopting the oldest",
			zap.Int64("nexudus_id", id), zap.Int("files", n), zap.String("coredata_id", pick.ID))
	}
	return pick, nil
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
// unknown, so the caller downloads the record and compares digests as for
// any mapped file: the same bytes are recorded, others become a new
// version of cf.
func adoptedMapping(id int64, cf *coredata.File, parent, filename string) state.Mapping {
	if cf.Filename != "" {
		filename = cf.Filename
	}
	return state.Mapping{
		NexudusID: id, CoreDataID: cf.ID, MD5: cf.Digest, Size: cf.Size,
		SnapshotID: cf.SnapshotID, Title: cf.Title, Parent: parent, Filename: filename,
	}
}
