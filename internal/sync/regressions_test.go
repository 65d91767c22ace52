package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// cancelOnFirstDownload stops the poll (as SIGTERM does) while the first
// file downloads.
type cancelOnFirstDownload struct {
	syncer.Source
	cancel context.CancelFunc
	n      int
}

func (s *cancelOnFirstDownload) Download(ctx context.Context, f nexudus.File) (*nexudus.Download, error) {
	s.n++
	if s.n == 1 {
		s.cancel() // SIGTERM while the first file is in flight
		time.Sleep(50 * time.Millisecond)
	}
	return s.Source.Download(ctx, f)
}

// A stop during the last (or only) list page leaves records unsent: the
// poll must report it and keep the old cursor, so they are read again.
func TestStopDuringTheLastPageKeepsTheCursor(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	base := h.nx.Now().Truncate(time.Minute).Add(-10 * time.Minute)
	var ids []int64
	for i := 0; i < 3; i++ {
		ids = append(ids, h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "f" + itoa(int64(i)), FileName: "f.pdf",
			Data: []byte("data " + itoa(int64(i))), Signed: true, UpdatedOn: base.Add(time.Duration(i) * 2 * time.Minute)}))
	}
	_ = h.store.SetCursor("all", base.Add(-time.Hour))
	zero := func(o *syncer.Options) { o.Lookback = 0; o.Concurrency = 1 }
	ctx, cancel := context.WithCancel(context.Background())
	opt := h.opt
	zero(&opt)
	e, _ := syncer.New(&cancelOnFirstDownload{Source: h.src, cancel: cancel}, h.sink, h.store, opt)
	rep, err := e.Poll(ctx)
	c, _, _ := h.store.Cursor("all")
	t.Logf("interrupted poll: err=%v %s; cursor=%s", err, rep.Summary(), c)
	h.now = h.now.Add(time.Hour)
	h.poll(zero)
	for _, id := range ids {
		if _, ok, _ := h.store.Mapping(id); !ok {
			t.Errorf("signed file %d never mirrored; cursor %s skipped it", id, c)
		}
	}
}

type alwaysLyingSink struct{ syncer.Sink }

func (s alwaysLyingSink) GetFile(ctx context.Context, id string) (*coredata.File, error) {
	f, err := s.Sink.GetFile(ctx, id)
	if err == nil {
		f.Digest = "00000000000000000000000000000000"
	}
	return f, err
}

// UpdateContent of a lying CoreData reports the same wrong digest.
func (s alwaysLyingSink) UpdateContent(ctx context.Context, id, blob, md5, snap, name string) (coredata.ContentVersion, error) {
	v, err := s.Sink.UpdateContent(ctx, id, blob, md5, snap, name)
	v.Digest = "00000000000000000000000000000000"
	return v, err
}

// A lasting digest mismatch counts its attempts and is parked.
func TestLastingDigestMismatchIsParked(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "A", "a")
	opt := h.opt
	opt.MaxAttempts = 2
	for i := 0; i < 6; i++ {
		e, _ := syncer.New(h.src, alwaysLyingSink{h.sink}, h.store, opt)
		e.Poll(context.Background())
		h.now = h.now.Add(7 * time.Hour)
	}
	en, _ := h.store.Entry(id)
	if en.Status != "parked" {
		t.Errorf("max_attempts=2, after 6 failing polls: status=%s attempts=%d", en.Status, en.Attempts)
	}
}

// A full page of unsigned (or unreadable) records does not end the walk.
func TestPageOfUnsignedRecordsDoesNotEndTheWalk(t *testing.T) {
	h := newHarness(t, nexudustest.Options{IgnoreSignedFilter: true})
	at := h.nx.Now().Truncate(time.Minute).Add(-30 * time.Minute)
	for i := 0; i < 100; i++ {
		h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "u", FileName: "u.pdf",
			Data: []byte("u"), Signed: false, UpdatedOn: at.Add(time.Duration(i) * time.Second)})
	}
	late := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "late", FileName: "l.pdf",
		Data: []byte("late"), Signed: true, UpdatedOn: at.Add(10 * time.Minute)})
	for i := 0; i < 3; i++ {
		h.poll()
		h.now = h.now.Add(10 * time.Minute)
	}
	if _, ok, _ := h.store.Mapping(late); !ok {
		t.Errorf("signed file %d behind a page of unsigned records is never mirrored", late)
	}
}

// `syncd state retry` of a parked file the cursor has passed tries it again.
func TestStateRetryOfAnOldParkedFileTriesItAgain(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	big := h.addSigned(1, "Huge", string(make([]byte, 2048)))
	h.nx.Advance(2 * time.Minute)
	h.addSigned(1, "Small", "small")
	zero := func(o *syncer.Options) { o.Lookback = 0 }
	_ = h.store.SetCursor("all", h.nx.Now().Add(-time.Hour))
	rep := h.poll(zero, func(o *syncer.Options) { o.MaxFileBytes = 1024 })
	t.Logf("poll 1: %s", rep.Summary())
	if err := h.store.RetryNow(big, h.now); err != nil { // syncd state retry <big>
		t.Fatal(err)
	}
	h.now = h.now.Add(time.Hour)
	rep = h.poll(zero) // cap lifted
	t.Logf("poll 2: %s", rep.Summary())
	if _, ok, _ := h.store.Mapping(big); !ok {
		t.Errorf("file %d: state retry cleared the parking but no poll ever tries it again", big)
	}
}

// A record that changed during a page-turning stretch holds the cursor
// back even when it is seen again only after the stretch.
func TestShiftSeenAfterItsStretchStillHoldsTheCursor(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	at := h.nx.Now().Truncate(time.Minute).Add(-20 * time.Minute)
	first := h.addBulk(at, 150)
	for i := 0; i < 120; i++ { // later minutes: the moved record lands beyond page 2
		h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "later", FileName: "l.pdf",
			Data: []byte("later " + itoa(int64(i))), Signed: true, UpdatedOn: at.Add(time.Minute + time.Duration(i)*time.Second)})
	}
	_ = h.store.SetCursor("all", at.Add(-time.Hour))
	src := &shiftingSource{Source: h.src, once: func() {
		h.nx.SetNow(at.Add(10 * time.Minute))
		h.nx.UpdateFile(first, func(f *nexudustest.FileSpec) { f.UpdatedOn = at.Add(10 * time.Minute) })
	}}
	zero := func(o *syncer.Options) { o.Lookback = 0 }
	opt := h.opt
	zero(&opt)
	e, _ := syncer.New(src, h.sink, h.store, opt)
	if _, err := e.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, _, _ := h.store.Cursor("all")
	t.Logf("after poll 1: %d CoreData files, cursor %s", len(h.cd.Files()), c)
	h.now = h.now.Add(time.Hour)
	h.poll(zero)
	h.assertMirrored()
}

// A 404 anywhere in the update path but a confirmed one (the blob slot,
// the storage PUT, the verify read) is an ordinary failure on the same
// CoreData file, never a reason to create a second one.
func TestTransient404DoesNotCreateASecondFile(t *testing.T) {
	for _, route := range []coredatatest.Route{coredatatest.RouteBlob, coredatatest.RouteStorage, coredatatest.RouteGet, coredatatest.RouteUpdateContent} {
		t.Run(string(route), func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			id := h.addSigned(1, "Agreement", "v1")
			h.poll()
			h.now = h.now.Add(10 * time.Minute)
			h.nx.Advance(10 * time.Minute)
			h.nx.SetSignedData(id, "Agreement-signed.pdf", []byte("v2"))
			h.cd.FailNext(route, 404, 1)
			h.poll()
			if n := len(h.cd.Files()); n != 1 {
				t.Fatalf("404 on %s: %d CoreData files for one Nexudus file", route, n)
			}
			h.now = h.now.Add(time.Hour)
			h.poll()
			h.assertMirrored()
		})
	}
}

// A record mirrored from its original DOCX, then signed as a PDF, ends up
// in CoreData under the PDF's name.
func TestContentUpdateCarriesTheNewFilename(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, CoworkerID: 501, CoworkerFullName: "Ada Lovelace",
		Name: "Contract", FileName: "contract.docx", Data: []byte("docx bytes"), Signed: true})
	h.poll()
	h.now = h.now.Add(10 * time.Minute)
	h.nx.Advance(10 * time.Minute)
	h.nx.SetSignedData(id, "contract-signed.pdf", []byte("%PDF signed bytes"))
	if rep := h.poll(); rep.Updated != 1 {
		t.Fatalf("poll: %s", rep.Summary())
	}
	m, _, _ := h.store.Mapping(id)
	f, _ := h.cd.File(m.CoreDataID)
	if f.Filename != "contract-signed.pdf" || m.Filename != f.Filename {
		t.Fatalf("CoreData filename %q, state %q", f.Filename, m.Filename)
	}
	h.assertMirrored()
}
