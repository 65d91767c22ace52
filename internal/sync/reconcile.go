package sync

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/state"
)

// reconcileIntents looks for the files that interrupted creates may have
// made, before anything new is created. A failure here is logged and left
// for the per-file check, which runs again before that file's create.
func (e *Engine) reconcileIntents(ctx context.Context) {
	if e.opt.DryRun {
		return
	}
	intents, err := e.store.Intents()
	if err != nil {
		e.log.Error("read open intents", zap.Error(err))
		return
	}
	for _, in := range intents {
		if ctx.Err() != nil {
			return
		}
		unlock := e.locks.lock(in.NexudusID)
		adopted, err := e.reconcileFile(ctx, in.NexudusID)
		unlock()
		switch {
		case err != nil:
			e.log.Warn("reconcile open intent", zap.Int64("nexudus_id", in.NexudusID), zap.Error(err))
		case adopted:
			e.log.Info("adopted the CoreData file an interrupted run created", zap.Int64("nexudus_id", in.NexudusID))
		}
	}
}

// reconcileFile adopts the CoreData file that an interrupted create made
// for Nexudus file id, if any: same parent, same title, same digest, not
// tagged for another Nexudus file and not owned by another mapping. It
// reports whether it adopted one; with no open intent it does nothing.
func (e *Engine) reconcileFile(ctx context.Context, id int64) (bool, error) {
	in, ok, err := e.store.Intent(id)
	if err != nil || !ok {
		return false, err
	}
	files, err := e.sink.ListFiles(ctx, in.Parent, in.Title)
	if err != nil {
		return false, fmt.Errorf("reconcile: list %q under %s: %w", in.Title, in.Parent, err)
	}
	match, err := e.pickAdoptable(id, in, files)
	if err != nil || match == nil {
		return false, err
	}
	m := state.Mapping{
		NexudusID: id, CoreDataID: match.ID, MD5: in.MD5, Size: in.Size,
		UpdatedOn: in.UpdatedOn, SnapshotID: match.SnapshotID,
		Title: in.Title, Parent: in.Parent, Filename: in.Filename, SyncedAt: e.opt.Now(),
	}
	if match.Filename != "" {
		m.Filename = match.Filename
	}
	if err := e.store.PutMapping(m); err != nil {
		return false, fmt.Errorf("reconcile: record %s: %w", match.ID, err)
	}
	return true, nil
}

func (e *Engine) pickAdoptable(id int64, in state.Intent, files []coredata.File) (*coredata.File, error) {
	var untagged *coredata.File
	for i := range files {
		cf := &files[i]
		// The parent was the listing's filter; a file in a project may
		// report one of its folders as parent, so it is not checked again.
		if cf.Digest != in.MD5 {
			continue
		}
		tagged, other := false, false
		for _, t := range cf.Tags {
			if tid, ok := ParseFileTag(t); ok {
				if tid == id {
					tagged = true
				} else {
					other = true
				}
			}
		}
		if other {
			continue
		}
		owner, owned, err := e.store.Owner(cf.ID)
		if err != nil {
			return nil, err
		}
		if owned && owner != id {
			continue
		}
		if tagged {
			return cf, nil
		}
		if untagged == nil {
			untagged = cf
		}
	}
	return untagged, nil
}
