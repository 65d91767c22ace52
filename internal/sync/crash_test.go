package sync_test

import (
	"context"
	"errors"
	"io"
	gosync "sync"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// errCrashed stands for the process dying: from that instant nothing more
// reaches the state file or CoreData.
var errCrashed = errors.New("crashed")

// crash is shared by the sink and store wrappers below.
type crash struct {
	mu      gosync.Mutex
	at      string // step after which the process "dies"
	crashed bool
}

func (c *crash) step(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crashed {
		return errCrashed
	}
	if name == c.at {
		c.crashed = true
		return errCrashed
	}
	return nil
}

func (c *crash) dead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashed
}

// crashingSink performs each call, then dies when the step is reached: the
// effect happened in CoreData, the process never learnt of it.
type crashingSink struct {
	syncer.Sink
	c *crash
}

func (s crashingSink) RequestBlob(ctx context.Context, ct string, n int64) (coredata.Blob, error) {
	if s.c.dead() {
		return coredata.Blob{}, errCrashed
	}
	b, err := s.Sink.RequestBlob(ctx, ct, n)
	if err == nil {
		err = s.c.step("blob")
	}
	return b, err
}

func (s crashingSink) PutBlob(ctx context.Context, b coredata.Blob, body io.Reader, n int64, ct, name string) error {
	if s.c.dead() {
		return errCrashed
	}
	err := s.Sink.PutBlob(ctx, b, body, n, ct, name)
	if err == nil {
		err = s.c.step("put")
	}
	return err
}

func (s crashingSink) CreateFile(ctx context.Context, f coredata.NewFile) (string, error) {
	if s.c.dead() {
		return "", errCrashed
	}
	id, err := s.Sink.CreateFile(ctx, f)
	if err == nil {
		err = s.c.step("create")
	}
	return id, err
}

func (s crashingSink) UpdateContent(ctx context.Context, id, blob, md5, snap, name string) (coredata.ContentVersion, error) {
	if s.c.dead() {
		return coredata.ContentVersion{}, errCrashed
	}
	v, err := s.Sink.UpdateContent(ctx, id, blob, md5, snap, name)
	if err == nil {
		err = s.c.step("update")
	}
	return v, err
}

func (s crashingSink) GetFile(ctx context.Context, id string) (*coredata.File, error) {
	if s.c.dead() {
		return nil, errCrashed
	}
	f, err := s.Sink.GetFile(ctx, id)
	if err == nil {
		err = s.c.step("verify")
	}
	return f, err
}

// crashingStore refuses every write once dead, and dies before writing
// the mapping at step "record" or the intent at step "intent".
type crashingStore struct {
	syncer.Store
	c *crash
}

func (s crashingStore) PutIntent(in state.Intent) error {
	if err := s.c.step("intent"); err != nil {
		return err
	}
	return s.Store.PutIntent(in)
}

func (s crashingStore) PutMapping(m state.Mapping) error {
	if err := s.c.step("record"); err != nil {
		return err
	}
	return s.Store.PutMapping(m)
}

func (s crashingStore) RecordFailure(id int64, u time.Time, msg string, now time.Time, max int, b func(int) time.Duration) (state.Failure, error) {
	if s.c.dead() {
		return state.Failure{}, errCrashed
	}
	return s.Store.RecordFailure(id, u, msg, now, max, b)
}

func (s crashingStore) RecordUnavailable(id int64, u time.Time, msg string, now time.Time, b func(int) time.Duration) (state.Failure, error) {
	if s.c.dead() {
		return state.Failure{}, errCrashed
	}
	return s.Store.RecordUnavailable(id, u, msg, now, b)
}

func (s crashingStore) PutMappingWithFailure(m state.Mapping, u time.Time, msg string, now time.Time, max int, b func(int) time.Duration) (state.Failure, error) {
	if s.c.dead() {
		return state.Failure{}, errCrashed
	}
	return s.Store.PutMappingWithFailure(m, u, msg, now, max, b)
}

func (s crashingStore) SetCursor(key string, t time.Time) error {
	if s.c.dead() {
		return errCrashed
	}
	return s.Store.SetCursor(key, t)
}

func TestCrashAfterEachStepLeavesExactlyOneFile(t *testing.T) {
	steps := []string{"intent", "blob", "put", "create", "verify", "record"}
	for _, flow := range []string{"create", "update"} {
		for _, step := range append(steps, "update") {
			if flow == "create" && step == "update" || flow == "update" && (step == "intent" || step == "create") {
				continue
			}
			t.Run(flow+"/after-"+step, func(t *testing.T) {
				h := newHarness(t, nexudustest.Options{})
				a := h.addSigned(1, "Agreement", "a v1")
				h.addSigned(2, "Lease", "b v1")
				if flow == "update" {
					h.poll()
					h.nx.Advance(time.Minute)
					h.nx.SetSignedData(a, "Agreement-signed.pdf", []byte("a v2"))
				}
				c := &crash{at: step}
				e, err := syncer.New(h.src, crashingSink{h.sink, c}, crashingStore{h.store, c}, h.opt)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = e.Poll(context.Background())
				if !c.dead() {
					t.Fatalf("the crash at %s never happened", step)
				}
				// The restarted process: a new engine on the same state file.
				h.reopen()
				rep := h.poll()
				if len(rep.Failed) != 0 {
					t.Fatalf("run after the crash: %s %v", rep.Summary(), ids(rep.Failed))
				}
				h.assertMirrored()
				// And a third run changes nothing.
				writes := h.writes()
				h.poll()
				if h.writes() != writes {
					t.Fatalf("third run wrote to CoreData")
				}
			})
		}
	}
}
