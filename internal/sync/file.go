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
	// Lazy: a record skipped as unchanged logs nothing, and must not pay
	// for a logger clone.
	log := e.log.WithLazy(zap.Int64("nexudus_id", f.ID))
	if r.out.tripped() {
		return false // handed out just before an outage stopped the run
	}
	outcome, err := e.mirror(ctx, r, f, log)
	if err == nil {
		if outcome != "" {
			r.rep.count(outcome)
			e.m.file(outcome)
		}
		r.out.ok()
		return true
	}
	if errors.Is(err, errBackoff) {
		return true
	}
	return e.failed(ctx, r, f, err, log)
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
	fail, serr := e.store.RecordUnavailable(f.ID, f.UpdatedOn.Time, err.Error(), e.opt.Now(), e.opt.UnavailableBackoff)
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
	max := e.opt.MaxAttempts
	if errors.Is(err, errPermanent) {
		max = 1
	}
	var (
		fail state.Failure
		serr error
		mm   *mismatchError
	)
	if errors.As(err, &mm) {
		fail, serr = e.store.PutMappingWithFailure(mm.mapping, f.UpdatedOn.Time, err.Error(), e.opt.Now(), max, e.opt.Backoff)
	} else {
		fail, serr = e.store.RecordFailure(f.ID, f.UpdatedOn.Time, err.Error(), e.opt.Now(), max, e.opt.Backoff)
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
	if fail, ok, err := e.store.Failure(b.ID); err == nil && ok && (fail.Parked || e.opt.Now().Before(fail.NextAttempt)) {
		return
	}
	r.rep.fail(b.ID, b.Err)
	e.m.file(OutcomeFailed)
	e.recordFailure(r, nexudus.File{ID: b.ID}, fmt.Errorf("%w: %w", errUnreadable, b.Err), log)
}

// mirror is the decision of SPEC.md for one record. It returns the outcome
// to count ("" for nothing to count: a parked file, or a dry run's plan).
func (e *Engine) mirror(ctx context.Context, r *run, f nexudus.File, log *zap.Logger) (string, error) {
	if !f.Signed {
		return OutcomeSkipped, nil
	}
	parent, ok := e.opt.ParentFor(f.BusinessID)
	if !ok {
		log.Debug("skipped: location has no CoreData parent", zap.Int64("business_id", f.BusinessID))
		// A failure or an open create recorded before the location lost
		// its parent would otherwise be fetched for retry forever.
		_, failing, _ := e.store.Failure(f.ID)
		_, open, _ := e.store.Intent(f.ID)
		if failing || open {
			e.settle(f.ID, "is in a location without a CoreData parent")
		}
		return OutcomeSkipped, nil
	}
	title, err := e.title(f)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errPermanent, err)
	}
	m, mapped, err := e.store.Mapping(f.ID)
	if err != nil {
		return "", err
	}
	// A record without UpdatedOn cannot be proven unchanged: it is
	// downloaded and compared by md5 every time it is listed.
	if mapped && !f.UpdatedOn.IsZero() && m.UpdatedOn.Equal(f.UpdatedOn.Time) {
		if m.Title == title {
			return OutcomeUnchanged, nil // the common case: no tags to build
		}
		if err := e.retitle(ctx, r, &m, title, e.tags(f)); err != nil {
			return "", err
		}
		return OutcomeUnchanged, nil
	}
	if fail, ok, err := e.store.Failure(f.ID); err != nil {
		return "", err
	} else if ok && fail.UpdatedOn.Equal(f.UpdatedOn.Time) {
		if fail.Parked {
			return "", nil
		}
		if e.opt.Now().Before(fail.NextAttempt) {
			return "", errBackoff
		}
	}
	adopted := false
	if !mapped {
		found, err := e.findExisting(ctx, r, f.ID, parent, title)
		if err != nil {
			return "", err
		}
		if found != nil {
			m, mapped, adopted = *found, true, true
			log.Info("found this record's file in CoreData; adopting it instead of creating one", zap.String("coredata_id", m.CoreDataID))
		}
	}
	if !mapped && e.opt.DryRun {
		r.rep.plan(Action{NexudusID: f.ID, Action: "create", Title: title, Parent: parent, Filename: filenameFor(f, f.SignedFileDataFileName != "")})
		return "", nil
	}

	sp, err := e.download(ctx, f)
	if err != nil {
		if errors.Is(err, nexudus.ErrTooLarge) {
			return "", fmt.Errorf("%w: %w", errPermanent, err)
		}
		return "", err
	}
	defer sp.close()
	if f.SignedFileDataFileName == "" {
		log.Info("record is flagged Signed but has no signed copy: mirroring its original file")
	}
	filename := filenameFor(f, sp.signedCopy)

	if mapped && m.MD5 == sp.md5 {
		if e.opt.DryRun {
			if adopted {
				r.rep.plan(Action{NexudusID: f.ID, Action: "adopt", Title: m.Title, Parent: m.Parent, Filename: m.Filename, CoreDataID: m.CoreDataID})
			}
			if m.Title != title {
				r.rep.plan(Action{NexudusID: f.ID, Action: "retitle", Title: title, Parent: m.Parent, Filename: m.Filename, CoreDataID: m.CoreDataID})
			}
			return OutcomeUnchanged, nil
		}
		m.UpdatedOn = f.UpdatedOn.Time
		if adopted {
			m.SyncedAt = e.opt.Now()
			r.rep.adopt()
		}
		if err := e.retitle(ctx, r, &m, title, e.tags(f)); err != nil {
			return "", err
		}
		return OutcomeUnchanged, e.store.PutMapping(m)
	}
	if e.opt.DryRun {
		r.rep.plan(Action{NexudusID: f.ID, Action: "update", Title: title, Parent: m.Parent, Filename: filename, CoreDataID: m.CoreDataID})
		return "", nil
	}
	if mapped {
		if adopted {
			r.rep.adopt()
		}
		outcome, err := e.update(ctx, r, f, m, sp, title, filename, adopted, log)
		if !errors.Is(err, errCoreDataFileGone) {
			return outcome, err
		}
		// A person deleted the mapped CoreData file. Guarantee 1 asks for
		// one CoreData file per signed Nexudus file, so make it again.
		log.Warn("mapped CoreData file no longer exists; creating it again", zap.String("coredata_id", m.CoreDataID))
		if err := e.store.Forget(f.ID); err != nil && !errors.Is(err, state.ErrNotFound) {
			return "", err
		}
	}
	return e.create(ctx, r, f, parent, sp, title, filename, log)
}

// errBackoff is a file whose retry time has not come: not a new failure.
var errBackoff = errors.New("in backoff")

// errCoreDataFileGone is a mapped CoreData file that a person deleted: a
// content update answered 404 and so did a read of the file.
var errCoreDataFileGone = errors.New("mapped CoreData file is gone")

// create is the path for a file CoreData does not hold: intent, blob,
// create, keep the returned id, verify, record.
func (e *Engine) create(ctx context.Context, r *run, f nexudus.File, parent string, sp *spool, title, filename string, log *zap.Logger) (string, error) {
	in := state.Intent{
		NexudusID: f.ID, Parent: parent, Title: title, Filename: filename,
		MD5: sp.md5, Size: sp.size, UpdatedOn: f.UpdatedOn.Time, StartedAt: e.opt.Now(),
	}
	if err := e.store.PutIntent(in); err != nil {
		return "", err
	}
	blob, err := e.upload(ctx, r, sp, filename)
	if err != nil {
		return "", err
	}
	id, err := e.sink.CreateFile(ctx, coredata.NewFile{
		BlobName: blob.Name, Filename: filename, Title: title, Parent: parent,
		Dynatype: e.opt.Dynatype, Tags: e.tags(f),
	})
	if errors.Is(err, coredata.ErrOutcomeUnknown) {
		// The create may have happened (a proxy's 5xx after CoreData
		// acted, a timeout, a lost connection): find it, never resend.
		return e.reconcileCreate(ctx, r, f, parent, sp, title, filename, err, log)
	}
	if err != nil {
		return "", err
	}
	in.CoreDataID = id
	if err := e.store.PutIntent(in); err != nil {
		return "", err
	}
	if err := e.verifyAndRecord(ctx, f, id, parent, title, filename, sp); err != nil {
		return "", err
	}
	log.Info("created", zap.String("coredata_id", id), zap.Int64("bytes", sp.size))
	return OutcomeCreated, nil
}

// reconcileCreate looks for the file a create with an unknown outcome may
// have made. Found, it is verified and recorded; not found, the create's
// error is returned and the intent stays, so the next attempt looks again
// before it creates anything.
func (e *Engine) reconcileCreate(ctx context.Context, r *run, f nexudus.File, parent string, sp *spool, title, filename string, createErr error, log *zap.Logger) (string, error) {
	log.Warn("create outcome unknown; looking for the file in CoreData instead of sending it again", zap.Error(createErr))
	found, err := e.findExisting(ctx, r, f.ID, parent, title)
	if err != nil {
		return "", fmt.Errorf("%w (looking for its file: %w)", createErr, err)
	}
	if found == nil {
		return "", createErr
	}
	if err := e.verifyAndRecord(ctx, f, found.CoreDataID, parent, title, filename, sp); err != nil {
		return "", err
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
func (e *Engine) update(ctx context.Context, r *run, f nexudus.File, m state.Mapping, sp *spool, title, filename string, fresh bool, log *zap.Logger) (string, error) {
	if !fresh {
		cur, err := e.sink.GetFile(ctx, m.CoreDataID)
		if errors.Is(err, coredata.ErrNotFound) {
			// Made again only when a second read agrees: a stray 404
			// must not cost a second file.
			if _, gerr := e.sink.GetFile(ctx, m.CoreDataID); errors.Is(gerr, coredata.ErrNotFound) {
				return "", fmt.Errorf("%w: %w", errCoreDataFileGone, err)
			}
		}
		if err != nil {
			return "", fmt.Errorf("read %s before updating it: %w", m.CoreDataID, err)
		}
		if cur.Digest != m.MD5 && cur.Digest != sp.md5 {
			log.Warn("CoreData file changed since the last sync; adding the new signed version on top", zap.String("coredata_id", m.CoreDataID))
		}
		m.MD5, m.SnapshotID = cur.Digest, cur.SnapshotID
		if cur.Digest == sp.md5 {
			log.Info("CoreData already holds these bytes; recording them", zap.String("coredata_id", m.CoreDataID))
			m.Size, m.UpdatedOn, m.SyncedAt = sp.size, f.UpdatedOn.Time, e.opt.Now()
			if err := e.retitle(ctx, r, &m, title, e.tags(f)); err != nil {
				return "", err
			}
			return OutcomeUnchanged, e.store.PutMapping(m)
		}
	}
	blob, err := e.upload(ctx, r, sp, filename)
	if err != nil {
		return "", err
	}
	v, err := e.sink.UpdateContent(ctx, m.CoreDataID, blob.Name, sp.md5, m.SnapshotID, filename)
	if errors.Is(err, coredata.ErrNotFound) {
		// Only a file that CoreData no longer has is made again; a 404
		// that a read does not confirm is an ordinary failure, retried on
		// this same file.
		if _, gerr := e.sink.GetFile(ctx, m.CoreDataID); errors.Is(gerr, coredata.ErrNotFound) {
			return "", fmt.Errorf("%w: %w", errCoreDataFileGone, err)
		}
		return "", err
	}
	if errors.Is(err, coredata.ErrConflict) {
		// Someone made a version in CoreData since it was read. Nexudus
		// is the source of the signed bytes, and versions are kept, so
		// write ours on top of theirs.
		cur, gerr := e.sink.GetFile(ctx, m.CoreDataID)
		if gerr != nil {
			return "", fmt.Errorf("%w (refresh snapshot: %w)", err, gerr)
		}
		if cur.Digest != sp.md5 {
			log.Warn("CoreData file changed since the last sync; adding the new signed version on top", zap.String("coredata_id", m.CoreDataID))
			if blob, err = e.upload(ctx, r, sp, filename); err != nil {
				return "", err
			}
			v, err = e.sink.UpdateContent(ctx, m.CoreDataID, blob.Name, sp.md5, cur.SnapshotID, filename)
		} else {
			v, err = coredata.ContentVersion{}, nil
		}
	}
	if err != nil {
		return "", err
	}
	if v.Digest == sp.md5 && v.SnapshotID != "" {
		// CoreData's answer reports the digest of what it stored: that is
		// the check of guarantee 3, without another read.
		m.MD5, m.Size, m.SnapshotID, m.Filename = sp.md5, sp.size, v.SnapshotID, filename
		m.UpdatedOn, m.SyncedAt = f.UpdatedOn.Time, e.opt.Now()
		if err := e.store.PutMapping(m); err != nil {
			return "", err
		}
	} else if err := e.verifyAndRecord(ctx, f, m.CoreDataID, m.Parent, m.Title, filename, sp); err != nil {
		return "", err
	}
	nm, _, err := e.store.Mapping(f.ID)
	if err != nil {
		return "", err
	}
	if err := e.retitle(ctx, r, &nm, title, e.tags(f)); err != nil {
		return "", err
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
	return e.store.PutMapping(m)
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

// retitle follows a title change in Nexudus (or in the template).
func (e *Engine) retitle(ctx context.Context, r *run, m *state.Mapping, title string, tags []string) error {
	if m.Title == title {
		return nil
	}
	if e.opt.DryRun {
		r.rep.plan(Action{NexudusID: m.NexudusID, Action: "retitle", Title: title, Parent: m.Parent, Filename: m.Filename, CoreDataID: m.CoreDataID})
		return nil
	}
	if err := e.sink.UpdateMetadata(ctx, m.CoreDataID, coredata.Metadata{Title: title, Filename: m.Filename, Parent: m.Parent, Dynatype: e.opt.Dynatype, Tags: tags}); err != nil {
		return fmt.Errorf("update title of %s: %w", m.CoreDataID, err)
	}
	m.Title = title
	return e.store.PutMapping(*m)
}
