package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// lyingSink reports a wrong digest on its first GetFile, as a CoreData
// that stored other bytes than it was sent would.
type lyingSink struct {
	syncer.Sink
	lied bool
}

func (s *lyingSink) GetFile(ctx context.Context, id string) (*coredata.File, error) {
	f, err := s.Sink.GetFile(ctx, id)
	if err == nil && !s.lied {
		s.lied = true
		f.Digest = "00000000000000000000000000000000"
	}
	return f, err
}

// Guarantee 3: recorded as mirrored only once CoreData reports our md5.
func TestDigestMismatchIsNotRecordedAsMirrored(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "A", "a")
	e, err := syncer.New(h.src, &lyingSink{Sink: h.sink}, h.store, h.opt)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.Poll(context.Background())
	if err != nil || len(rep.Failed) != 1 || rep.Created != 0 {
		t.Fatalf("poll: %v %s", err, rep.Summary())
	}
	entry, _ := h.store.Entry(id)
	if entry.Status != "failed" || entry.MD5 == md5hex([]byte("a")) {
		t.Fatalf("a file whose digest CoreData did not confirm is recorded as %+v", entry)
	}
	// The next attempt fixes the same CoreData file instead of creating another.
	h.now = h.now.Add(time.Hour)
	rep = h.poll()
	if len(rep.Failed) != 0 || len(h.cd.Files()) != 1 {
		t.Fatalf("retry: %s, %d CoreData files", rep.Summary(), len(h.cd.Files()))
	}
	h.assertMirrored()
}

// Guarantee 4: nothing is deleted in CoreData.
func TestDeletedOrUnsignedInNexudusStaysInCoreData(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	gone := h.addSigned(1, "Deleted later", "d")
	unsigned := h.addSigned(2, "Unsigned later", "u")
	h.poll()
	h.nx.Advance(time.Minute)
	h.nx.Delete(gone)
	h.nx.SetSigned(unsigned, false)
	rep := h.poll()
	if len(rep.Failed) != 0 {
		t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
	}
	if n := len(h.cd.Files()); n != 2 {
		t.Fatalf("CoreData holds %d files, want both still there", n)
	}
	for _, id := range []int64{gone, unsigned} {
		if _, ok, _ := h.store.Mapping(id); !ok {
			t.Fatalf("mapping of %d dropped", id)
		}
	}
}
