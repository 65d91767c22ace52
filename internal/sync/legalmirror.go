package sync

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/state"
)

// blobFile is a text or register to mirror: bytes syncd made, under the
// one CoreData file that carries tag.
type blobFile struct {
	tag, parent, title, filename, contentType string
	data                                      []byte
	sha256                                    string
	// source is the Nexudus record behind a text (its Id and UpdatedOn).
	source state.LegalFile
}

func (b blobFile) md5() string {
	sum := md5.Sum(b.data)
	return hex.EncodeToString(sum[:])
}

// Outcomes of mirroring one text or register (syncd_legal_files_total).
const (
	legalCreated   = "created"
	legalUpdated   = "updated"
	legalUnchanged = "unchanged"
	legalAdopted   = "adopted"
	legalFailed    = "failed"
	// legalWaiting: its own earlier failure is backing off, or parked
	// until its bytes change.
	legalWaiting = "waiting"
)

// legalWaits reports whether a text's or register's own earlier failure
// keeps it from being tried now (guarantee 5): parked for these bytes, or
// inside its backoff. New bytes are tried at once.
func (e *Engine) legalWaits(tag, md5 string) bool {
	f, ok, err := e.legal.LegalFailure(tag)
	if err != nil || !ok || f.MD5 != md5 {
		return false
	}
	return f.Parked || e.opt.Now().Before(f.NextAttempt)
}

// legalOwnFailure counts a failure of the file itself toward its backoff
// and parking; the world's failures (an outage, a shutdown) count nothing.
func (e *Engine) legalOwnFailure(r *run, tag, md5 string, err error) {
	if classify(err, r.list.Err() != nil) != blameFile {
		return
	}
	f, serr := e.legal.RecordLegalFailure(tag, md5, err.Error(), e.opt.Now(), e.opt.MaxAttempts, e.opt.Backoff)
	if serr != nil {
		e.log.Warn("terms acceptances: record the failure", zap.String("tag", tag), zap.Error(serr))
		return
	}
	if f.Parked {
		e.log.Error("terms acceptances: parked after its own failures; it is tried again when its bytes change",
			zap.String("tag", tag), zap.Int("attempts", f.Attempts), zap.Error(err))
	}
}

// mirrorBlob makes the one CoreData file tagged b.tag hold b's bytes, under
// the rules of contracts: bytes CoreData holds are never uploaded again
// (guarantee 2); before a create an intent is written and the parent is
// looked up by the tag, a file found is adopted (guarantee 1); a create
// whose outcome is unknown is looked up, never sent again; the file is
// recorded only once CoreData reports the md5 (guarantee 3). record writes
// the state (PutLegalFile, or PutRegister with its month).
func (e *Engine) mirrorBlob(ctx context.Context, lr *legalRun, b blobFile, record func(state.LegalFile) error) (string, error) {
	sum := b.md5()
	known, ok, err := e.legal.LegalFile(b.tag)
	if err != nil {
		return legalFailed, err
	}
	if ok && known.MD5 == sum {
		return legalUnchanged, nil
	}
	adopted := false
	if !ok {
		found, err := e.findLegal(ctx, lr, b.tag, b.parent)
		if err != nil {
			return legalFailed, err
		}
		if found != nil {
			known, ok, adopted = e.legalFileOf(b, found), true, true
			if found.Digest == sum {
				e.log.Info("found this text or register in CoreData; adopting it", zap.String("tag", b.tag), zap.String("coredata_id", found.ID))
				return legalAdopted, record(e.filled(known, b, sum))
			}
		}
	}
	if !ok {
		return e.createBlob(ctx, lr, b, sum, record)
	}
	outcome, err := e.updateBlob(ctx, lr, known, b, sum, record)
	if errors.Is(err, errCoreDataFileGone) {
		e.log.Warn("the CoreData file of this text or register no longer exists; creating it again", zap.String("tag", b.tag), zap.String("coredata_id", known.CoreDataID))
		if err := e.legal.ForgetLegalFile(b.tag); err != nil {
			return legalFailed, err
		}
		lr.dropFound(b.parent, b.tag)
		return e.createBlob(ctx, lr, b, sum, record)
	}
	if adopted && err == nil {
		outcome = legalUpdated
	}
	return outcome, err
}

func (e *Engine) createBlob(ctx context.Context, lr *legalRun, b blobFile, sum string, record func(state.LegalFile) error) (string, error) {
	in := state.LegalIntent{Tag: b.tag, Parent: b.parent, StartedAt: e.opt.Now()}
	if err := e.legal.PutLegalIntent(in); err != nil {
		return legalFailed, err
	}
	blob, err := e.uploadBytes(ctx, lr.r, b)
	if err != nil {
		return legalFailed, err
	}
	tags := unionTags([]string{"nexudus", b.tag}, e.opt.Tags)
	id, err := e.sink.CreateFile(ctx, coredata.NewFile{BlobName: blob.Name, Filename: b.filename, Title: b.title, Parent: b.parent, Tags: tags})
	if errors.Is(err, coredata.ErrOutcomeUnknown) {
		e.log.Warn("create outcome unknown; looking for the text or register in CoreData instead of sending it again", zap.String("tag", b.tag), zap.Error(err))
		lr.dropListing(b.parent)
		found, ferr := e.findLegal(ctx, lr, b.tag, b.parent)
		if ferr != nil || found == nil {
			return legalFailed, errors.Join(err, ferr)
		}
		id = found.ID
	} else if err != nil {
		return legalFailed, e.checkParentRefusal(lr.r, b.parent, err)
	}
	if err := e.verifyBlob(ctx, id, b, sum, record); err != nil {
		in.CoreDataID = id // the next attempt resumes from this file
		if perr := e.legal.PutLegalIntent(in); perr != nil {
			e.log.Warn("keep the created id in the intent", zap.String("tag", b.tag), zap.Error(perr))
		}
		return legalFailed, err
	}
	lr.noteFound(b.parent, b.tag, id)
	e.log.Info("created", zap.String("tag", b.tag), zap.String("coredata_id", id), zap.Int("bytes", len(b.data)))
	return legalCreated, nil
}

// updateBlob puts the bytes as a new version of the known file, unless
// CoreData already holds them.
func (e *Engine) updateBlob(ctx context.Context, lr *legalRun, known state.LegalFile, b blobFile, sum string, record func(state.LegalFile) error) (string, error) {
	cur, err := e.sink.GetFile(ctx, known.CoreDataID)
	if errors.Is(err, coredata.ErrNotFound) {
		if _, gerr := e.sink.GetFile(ctx, known.CoreDataID); errors.Is(gerr, coredata.ErrNotFound) {
			return legalFailed, fmt.Errorf("%w: %w", errCoreDataFileGone, err)
		}
	}
	if err != nil {
		return legalFailed, fmt.Errorf("read %s before updating it: %w", known.CoreDataID, err)
	}
	if cur.Digest == sum {
		known.SnapshotID = cur.SnapshotID
		return legalUnchanged, record(e.filled(known, b, sum))
	}
	blob, err := e.uploadBytes(ctx, lr.r, b)
	if err != nil {
		return legalFailed, err
	}
	v, err := e.sink.UpdateContent(ctx, known.CoreDataID, blob.Name, sum, cur.SnapshotID, b.filename)
	if errors.Is(err, coredata.ErrConflict) {
		// A version made in CoreData since the read: ours goes on top.
		if cur, err = e.sink.GetFile(ctx, known.CoreDataID); err == nil && cur.Digest != sum {
			if blob, err = e.uploadBytes(ctx, lr.r, b); err == nil {
				v, err = e.sink.UpdateContent(ctx, known.CoreDataID, blob.Name, sum, cur.SnapshotID, b.filename)
			}
		}
	}
	if err != nil {
		return legalFailed, err
	}
	if v.Digest == sum && v.SnapshotID != "" {
		known.SnapshotID = v.SnapshotID
		return legalUpdated, record(e.filled(known, b, sum))
	}
	if err := e.verifyBlob(ctx, known.CoreDataID, b, sum, record); err != nil {
		return legalFailed, err
	}
	return legalUpdated, nil
}

// verifyBlob records the file once CoreData reports the bytes' md5.
func (e *Engine) verifyBlob(ctx context.Context, id string, b blobFile, sum string, record func(state.LegalFile) error) error {
	cf, err := e.sink.GetFile(ctx, id)
	if err != nil {
		return fmt.Errorf("verify %s: %w", id, err)
	}
	if cf.Digest != sum {
		return fmt.Errorf("verify %s: CoreData reports md5 %s, the %s has %s: %w", id, cf.Digest, b.tag, sum, errDigestMismatch)
	}
	f := e.legalFileOf(b, cf)
	f.SnapshotID = cf.SnapshotID
	return record(e.filled(f, b, sum))
}

func (e *Engine) legalFileOf(b blobFile, cf *coredata.File) state.LegalFile {
	parent := cf.Parent
	if parent == "" {
		parent = b.parent
	}
	return state.LegalFile{Tag: b.tag, CoreDataID: cf.ID, MD5: cf.Digest, SnapshotID: cf.SnapshotID, Parent: parent, Title: cf.Title, Filename: cf.Filename}
}

// filled is the state of a file that holds b's bytes.
func (e *Engine) filled(f state.LegalFile, b blobFile, sum string) state.LegalFile {
	f.MD5, f.SHA256, f.SyncedAt = sum, b.sha256, e.opt.Now()
	f.SourceID, f.UpdatedOn = b.source.SourceID, b.source.UpdatedOn
	if f.Title == "" {
		f.Title = b.title
	}
	if f.Filename == "" {
		f.Filename = b.filename
	}
	return f
}

// uploadBytes asks for a blob and puts the bytes there, asking again when
// the presigned URL has expired.
func (e *Engine) uploadBytes(ctx context.Context, r *run, b blobFile) (coredata.Blob, error) {
	size := int64(len(b.data))
	const tries = 3
	var err error
	for i := 0; i < tries; i++ {
		var blob coredata.Blob
		if blob, err = e.sink.RequestBlob(ctx, b.contentType, size); err != nil {
			return coredata.Blob{}, err
		}
		if err = e.sink.PutBlob(ctx, blob, bytes.NewReader(b.data), size, b.contentType, b.filename); err == nil {
			r.rep.addBytes(size)
			e.m.uploaded(size)
			return blob, nil
		}
		if !errors.Is(err, coredata.ErrURLExpired) {
			return coredata.Blob{}, err
		}
	}
	return coredata.Blob{}, fmt.Errorf("%d presigned URLs expired in a row: %w", tries, err)
}

// findLegal looks for the file tagged tag: the id an earlier create
// returned (kept in its intent), else the parent's files with the tag, the
// oldest first (a second one is logged, never added to).
func (e *Engine) findLegal(ctx context.Context, lr *legalRun, tag, parent string) (*coredata.File, error) {
	if in, ok, err := e.legal.LegalIntent(tag); err != nil {
		return nil, err
	} else if ok && in.CoreDataID != "" {
		cf, err := e.sink.GetFile(ctx, in.CoreDataID)
		if err == nil {
			return cf, nil
		}
		if !errors.Is(err, coredata.ErrNotFound) {
			return nil, fmt.Errorf("read %s, created for %s: %w", in.CoreDataID, tag, err)
		}
	}
	cands, err := lr.tagged(ctx, parent, tag)
	if err != nil {
		return nil, err
	}
	if len(cands) > 1 {
		e.log.Warn("CoreData holds more than one file with this tag; adopting the oldest", zap.String("tag", tag), zap.Int("files", len(cands)))
	}
	for _, c := range cands {
		cf, err := e.sink.GetFile(ctx, c.id)
		if errors.Is(err, coredata.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s, tagged %s: %w", c.id, tag, err)
		}
		return cf, nil
	}
	return nil, nil
}

// tagged lists (once per run) the files under parent that carry a
// nexudus-legal-* tag.
func (lr *legalRun) tagged(ctx context.Context, parent, tag string) ([]tagged, error) {
	byTag, ok := lr.listings[parent]
	if !ok {
		files, err := lr.e.sink.ListFiles(ctx, parent, "")
		if err != nil {
			return nil, fmt.Errorf("list files under %s: %w", parent, err)
		}
		byTag = map[string][]tagged{}
		for _, f := range files {
			for _, t := range f.Tags {
				if isLegalTag(t) {
					byTag[t] = append(byTag[t], tagged{id: f.ID, created: f.Created})
				}
			}
		}
		for _, fs := range byTag {
			sort.SliceStable(fs, func(i, j int) bool { return fs[i].created < fs[j].created })
		}
		lr.listings[parent] = byTag
	}
	return byTag[tag], nil
}

func (lr *legalRun) dropListing(parent string) { delete(lr.listings, parent) }

func (lr *legalRun) dropFound(parent, tag string) {
	if byTag, ok := lr.listings[parent]; ok {
		delete(byTag, tag)
	}
}

func (lr *legalRun) noteFound(parent, tag, id string) {
	if byTag, ok := lr.listings[parent]; ok {
		byTag[tag] = []tagged{{id: id}}
	}
}

func isLegalTag(t string) bool {
	if _, ok := legal.ParseTextTag(t); ok {
		return true
	}
	_, _, ok := legal.ParseRegisterTag(t)
	return ok
}
