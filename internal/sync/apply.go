package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// apply carries out a plan of decide: the only step that writes, to
// CoreData and to the state file.
func (fr *fileRun) apply(ctx context.Context, p Plan) (Outcome, error) {
	switch p.Kind {
	case PlanSkip:
		if p.NoParent {
			fr.settleNoParent()
		}
		return OutcomeSkipped, nil
	case PlanWait:
		if p.Parked {
			return OutcomeNone, nil
		}
		return OutcomeNone, errBackoff
	case PlanUnchanged, PlanRetitle, PlanAdopt:
		return OutcomeUnchanged, fr.keep(ctx, p)
	case PlanUpdate:
		if p.Found {
			fr.r.rep.adopt()
			fr.log.Info("found this record's file in CoreData; adding the new bytes to it instead of creating one", zap.String("coredata_id", p.Mapping.CoreDataID))
		}
		outcome, err := fr.update(ctx, p.Mapping, p.Found)
		if !errors.Is(err, errCoreDataFileGone) {
			return outcome, err
		}
		// A person deleted the mapped CoreData file. Guarantee 1 asks for
		// one CoreData file per signed Nexudus file, so make it again.
		fr.log.Warn("mapped CoreData file no longer exists; creating it again", zap.String("coredata_id", p.Mapping.CoreDataID))
		if err := fr.e.mappings.Forget(fr.rec.ID); err != nil && !errors.Is(err, state.ErrNotFound) {
			return OutcomeNone, err
		}
		return fr.create(ctx)
	case PlanCreate:
		return fr.create(ctx)
	}
	return OutcomeNone, fmt.Errorf("apply: unknown plan %q", p.Kind)
}

// keep records a file whose bytes CoreData already holds: a new
// UpdatedOn, a file found in CoreData, a new title.
func (fr *fileRun) keep(ctx context.Context, p Plan) error {
	e, m := fr.e, p.Mapping
	if p.Record {
		m.UpdatedOn = fr.rec.UpdatedOn.Time
	}
	if p.Found {
		m.SyncedAt = e.opt.Now()
		fr.r.rep.adopt()
		fr.log.Info("found this record's file in CoreData; adopting it instead of creating one", zap.String("coredata_id", m.CoreDataID))
	}
	if p.Record {
		if err := e.mappings.PutMapping(m); err != nil {
			return err
		}
	}
	// A download taught which version the file holds: its version tag
	// says so from now on (a title change goes in the same write).
	if (p.Record && fr.sp != nil) || m.Title != fr.title {
		return e.stamp(ctx, &m, nil, fr.title, fr.rec, "")
	}
	return nil
}

// settleNoParent drops the failure and the open create of a file whose
// location lost its CoreData parent: they would be retried forever.
func (fr *fileRun) settleNoParent() {
	fr.log.Debug("skipped: location has no CoreData parent", zap.Int64("business_id", fr.rec.BusinessID))
	_, failing, _ := fr.e.fails.Failure(fr.rec.ID)
	_, open, _ := fr.e.intents.Intent(fr.rec.ID)
	if failing || open {
		fr.e.settle(fr.rec.ID, "is in a location without a CoreData parent")
	}
}

// filename is the CoreData filename: the signed copy's when it was
// downloaded (or, before a download, when the record has one).
func (fr *fileRun) filename() string {
	if fr.sp != nil {
		return filenameFor(fr.rec, fr.sp.signedCopy)
	}
	return filenameFor(fr.rec, fr.rec.SignedFileDataFileName != "")
}

// errBackoff is a file whose retry time has not come: not a new failure.
var errBackoff = errors.New("in backoff")

// errCoreDataFileGone is a mapped CoreData file that a person deleted: a
// content update answered 404 and so did a read of the file.
var errCoreDataFileGone = errors.New("mapped CoreData file is gone")

// create is the path for a file CoreData does not hold: intent, blob,
// create, keep the returned id, verify, record.
func (fr *fileRun) create(ctx context.Context) (Outcome, error) {
	e, r, f, log := fr.e, fr.r, fr.rec, fr.log
	if err := r.refusals.refused(fr.parent); err != nil {
		// Not downloaded, not uploaded: the parent refused this run.
		return OutcomeNone, fmt.Errorf("%w %s: %w", errParentRefused, fr.parent, err)
	}
	if err := fr.fetch(ctx); err != nil {
		return OutcomeNone, err
	}
	sp, parent, title, filename := fr.sp, fr.parent, fr.title, fr.filename()
	in := state.Intent{
		NexudusID: f.ID, Parent: parent, Title: title, Filename: filename,
		MD5: sp.md5, Size: sp.size, UpdatedOn: f.UpdatedOn.Time, StartedAt: e.opt.Now(),
	}
	if err := e.intents.PutIntent(in); err != nil {
		return OutcomeNone, err
	}
	blob, err := e.upload(ctx, r, sp, filename)
	if err != nil {
		return OutcomeNone, err
	}
	id, err := e.sink.CreateFile(ctx, coredata.NewFile{
		BlobName: blob.Name, Filename: filename, Title: title, Parent: parent,
		Dynatype: e.opt.Dynatype, Tags: withVersionTag(e.tags(f), VersionTag(f.UpdatedOn.Time, sp.md5)),
	})
	if errors.Is(err, coredata.ErrOutcomeUnknown) {
		// The create may have happened (a proxy's 5xx after CoreData
		// acted, a timeout, a lost connection): find it, never resend.
		return fr.reconcileCreate(ctx, err)
	}
	if err != nil {
		return OutcomeNone, e.checkParentRefusal(r, parent, err)
	}
	if err := e.verifyAndRecord(ctx, f, id, parent, title, filename, sp); err != nil {
		var mm *mismatchError
		if !errors.As(err, &mm) {
			// Not verified: the intent keeps the id the create returned,
			// so the next attempt resumes from this file, not from a
			// lookup by title. Written only now, it costs a commit only
			// when verification fails; a crash before this point leaves
			// the lookup by tag to find the file.
			in.CoreDataID = id
			if perr := e.intents.PutIntent(in); perr != nil {
				log.Warn("keep the created id in the intent", zap.String("coredata_id", id), zap.Error(perr))
			}
		}
		return OutcomeNone, err
	}
	log.Info("created", zap.String("coredata_id", id), zap.Int64("bytes", sp.size))
	return OutcomeCreated, nil
}

// reconcileCreate looks for the file a create with an unknown outcome may
// have made. Found, it is verified and recorded; not found, the create's
// error is returned and the intent stays, so the next attempt looks again
// before it creates anything.
func (fr *fileRun) reconcileCreate(ctx context.Context, createErr error) (Outcome, error) {
	e, r, f, log := fr.e, fr.r, fr.rec, fr.log
	parent, title, filename, sp := fr.parent, fr.title, fr.filename(), fr.sp
	log.Warn("create outcome unknown; looking for the file in CoreData instead of sending it again", zap.Error(createErr))
	found, err := e.findExisting(ctx, r, f.ID, parent)
	if err != nil {
		return OutcomeNone, fmt.Errorf("%w (looking for its file: %w)", createErr, err)
	}
	if found == nil {
		return OutcomeNone, createErr
	}
	if err := e.verifyAndRecord(ctx, f, found.CoreDataID, parent, title, filename, sp); err != nil {
		return OutcomeNone, err
	}
	log.Info("the create had happened: recorded its file", zap.String("coredata_id", found.CoreDataID))
	return OutcomeCreated, nil
}

// update puts new bytes as a new version of the mapped CoreData file. A
// mapping from the state file may be stale (an older backup put back, a
// person's version since), so CoreData's current digest is read first
// unless it was just read (fresh, an adopted file): bytes it already holds
// are recorded, never uploaded again, and the update builds on the
// snapshot CoreData has now.
func (fr *fileRun) update(ctx context.Context, m state.Mapping, fresh bool) (Outcome, error) {
	e, r, f, log := fr.e, fr.r, fr.rec, fr.log
	sp, title, filename := fr.sp, fr.title, fr.filename()
	// cur is CoreData's metadata as last read: the metadata write after
	// the update sends it back with the new version tag.
	var cur *coredata.File
	if !fresh {
		var err error
		cur, err = e.sink.GetFile(ctx, m.CoreDataID)
		if errors.Is(err, coredata.ErrNotFound) {
			// Made again only when a second read agrees: a stray 404
			// must not cost a second file.
			if _, gerr := e.sink.GetFile(ctx, m.CoreDataID); errors.Is(gerr, coredata.ErrNotFound) {
				return OutcomeNone, fmt.Errorf("%w: %w", errCoreDataFileGone, err)
			}
		}
		if err != nil {
			return OutcomeNone, fmt.Errorf("read %s before updating it: %w", m.CoreDataID, err)
		}
		if cur.Digest != m.MD5 && cur.Digest != sp.md5 {
			log.Warn("CoreData file changed since the last sync; adding the new signed version on top", zap.String("coredata_id", m.CoreDataID))
		}
		m.MD5, m.SnapshotID = cur.Digest, cur.SnapshotID
		if cur.Digest == sp.md5 {
			log.Info("CoreData already holds these bytes; recording them", zap.String("coredata_id", m.CoreDataID))
			m.Size, m.UpdatedOn, m.SyncedAt = sp.size, f.UpdatedOn.Time, e.opt.Now()
			if err := e.mappings.PutMapping(m); err != nil {
				return OutcomeNone, err
			}
			return OutcomeUnchanged, e.stamp(ctx, &m, cur, title, f, "")
		}
	}
	blob, err := e.upload(ctx, r, sp, filename)
	if err != nil {
		return OutcomeNone, err
	}
	v, err := e.sink.UpdateContent(ctx, m.CoreDataID, blob.Name, sp.md5, m.SnapshotID, filename)
	if errors.Is(err, coredata.ErrNotFound) {
		// Only a file that CoreData no longer has is made again; a 404
		// that a read does not confirm is an ordinary failure, retried on
		// this same file.
		if _, gerr := e.sink.GetFile(ctx, m.CoreDataID); errors.Is(gerr, coredata.ErrNotFound) {
			return OutcomeNone, fmt.Errorf("%w: %w", errCoreDataFileGone, err)
		}
		return OutcomeNone, err
	}
	if errors.Is(err, coredata.ErrConflict) {
		// Someone made a version in CoreData since it was read. Nexudus
		// is the source of the signed bytes, and versions are kept, so
		// write ours on top of theirs.
		var gerr error
		if cur, gerr = e.sink.GetFile(ctx, m.CoreDataID); gerr != nil {
			return OutcomeNone, fmt.Errorf("%w (refresh snapshot: %w)", err, gerr)
		}
		if cur.Digest != sp.md5 {
			log.Warn("CoreData file changed since the last sync; adding the new signed version on top", zap.String("coredata_id", m.CoreDataID))
			if blob, err = e.upload(ctx, r, sp, filename); err != nil {
				return OutcomeNone, err
			}
			v, err = e.sink.UpdateContent(ctx, m.CoreDataID, blob.Name, sp.md5, cur.SnapshotID, filename)
		} else {
			v, err = coredata.ContentVersion{}, nil
		}
	}
	if err != nil {
		return OutcomeNone, err
	}
	if v.Digest == sp.md5 && v.SnapshotID != "" {
		// CoreData's answer reports the digest of what it stored: that is
		// the check of guarantee 3, without another read.
		m.MD5, m.Size, m.SnapshotID, m.Filename = sp.md5, sp.size, v.SnapshotID, filename
		m.UpdatedOn, m.SyncedAt = f.UpdatedOn.Time, e.opt.Now()
		if err := e.mappings.PutMapping(m); err != nil {
			return OutcomeNone, err
		}
	} else if err := e.verifyAndRecord(ctx, f, m.CoreDataID, m.Parent, m.Title, filename, sp); err != nil {
		return OutcomeNone, err
	}
	nm, _, err := e.mappings.Mapping(f.ID)
	if err != nil {
		return OutcomeNone, err
	}
	if err := e.stamp(ctx, &nm, cur, title, f, filename); err != nil {
		return OutcomeNone, err
	}
	log.Info("updated", zap.String("coredata_id", m.CoreDataID), zap.Int64("bytes", sp.size))
	return OutcomeUpdated, nil
}

// upload asks for a blob and puts the spool there, asking for a fresh blob
// when the presigned URL has expired.
func (e *Engine) upload(ctx context.Context, r *run, sp *spool, filename string) (coredata.Blob, error) {
	ct := contentTypeFor(filename, sp.contentType)
	const tries = 3
	var err error
	for i := 0; i < tries; i++ {
		var blob coredata.Blob
		blob, err = e.sink.RequestBlob(ctx, ct, sp.size)
		if err != nil {
			return coredata.Blob{}, err
		}
		if err = sp.rewind(); err != nil {
			return coredata.Blob{}, fmt.Errorf("spool: %w", err)
		}
		err = e.sink.PutBlob(ctx, blob, sp.file, sp.size, ct, filename)
		if err == nil {
			r.rep.addBytes(sp.size)
			e.m.uploaded(sp.size)
			return blob, nil
		}
		if !errors.Is(err, coredata.ErrURLExpired) {
			return coredata.Blob{}, err
		}
		e.log.Info("presigned URL expired or was refused; requesting a fresh blob", zap.Error(err))
	}
	return coredata.Blob{}, fmt.Errorf("%d presigned URLs expired in a row: %w", tries, err)
}

// verifyAndRecord reads the file back and records the mapping only when
// CoreData reports our md5 (guarantee 3). On a mismatch it returns a
// *mismatchError holding the mapping with CoreData's digest, so the next
// attempt updates the content of this same file instead of creating
// another.
func (e *Engine) verifyAndRecord(ctx context.Context, f nexudus.File, coreID, parent, title, filename string, sp *spool) error {
	cf, err := e.sink.GetFile(ctx, coreID)
	if err != nil {
		return fmt.Errorf("verify %s: %w", coreID, err)
	}
	m := state.Mapping{
		NexudusID: f.ID, CoreDataID: coreID, MD5: sp.md5, Size: sp.size,
		UpdatedOn: f.UpdatedOn.Time, SnapshotID: cf.SnapshotID,
		Title: title, Parent: parent, Filename: filename, SyncedAt: e.opt.Now(),
	}
	if cf.Digest != sp.md5 {
		m.MD5 = cf.Digest
		m.UpdatedOn = time.Time{}
		return &mismatchError{mapping: m, err: fmt.Errorf("verify %s: CoreData reports md5 %s, downloaded bytes have %s: %w", coreID, cf.Digest, sp.md5, errDigestMismatch)}
	}
	return e.mappings.PutMapping(m)
}

// mismatchError carries the mapping of a file CoreData holds with other
// bytes than were sent. It is recorded together with the failure, in one
// transaction: the mapping sends the next attempt to the same CoreData
// file, and the failure keeps counting towards parking.
type mismatchError struct {
	mapping state.Mapping
	err     error
}

func (e *mismatchError) Error() string { return e.err.Error() }
func (e *mismatchError) Unwrap() error { return e.err }

// unionTags is have plus the tags of want it lacks, in that order.
func unionTags(have, want []string) []string {
	out := append([]string(nil), have...)
	seen := make(map[string]bool, len(have))
	for _, t := range have {
		seen[t] = true
	}
	for _, t := range want {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
