package sync_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

const (
	parentA = "313ae0be-71cf-11ee-b1e9-ebd554949e29" // location 1
	parentB = "07dcc00c-897e-11e6-b174-db079186c95c" // location 2
	// location 3 has no parent and there is no default: skipped.
)

// harness is both simulators, real clients and a real state file.
type harness struct {
	t     *testing.T
	nx    *nexudustest.Server
	cd    *coredatatest.Server
	src   *nexudus.Client
	sink  *coredata.Client
	store *state.Store
	path  string
	now   time.Time
	opt   syncer.Options
}

func newHarness(t *testing.T, nxOpts nexudustest.Options) *harness {
	t.Helper()
	return newHarnessWith(t, nxOpts, coredatatest.Options{})
}

func newHarnessWith(t *testing.T, nxOpts nexudustest.Options, cdOpts coredatatest.Options) *harness {
	t.Helper()
	nx := nexudustest.New(nxOpts)
	t.Cleanup(nx.Close)
	cd := coredatatest.New(cdOpts)
	t.Cleanup(cd.Close)
	log := zaptest.NewLogger(t)
	fast := httpx.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond}
	src, err := nexudus.New(nexudus.Config{
		BaseURL: nx.URL, Username: nx.Username(), Password: nx.Password(),
		// No client-side budget in tests: the rate limiters have tests of their own.
		PageSize: 100, RequestsPerMinute: -1, RequestsPerHour: -1, Backoff: fast, MaxRetries: 2,
	}, nx.Client(), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := coredata.New(coredata.Config{
		BaseURL: cd.URL(), APIUser: cd.APIUser(), APIKey: cd.APIKey(), Backoff: fast, MaxRetries: 2,
	}, cd.Client(), cd.Client(), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, nx: nx, cd: cd, src: src, sink: sink, path: filepath.Join(t.TempDir(), "state.db"), now: time.Now()}
	h.open()
	h.opt = syncer.Options{
		ParentFor: func(b int64) (string, bool) {
			switch b {
			case 1:
				return parentA, true
			case 2:
				return parentB, true
			}
			return "", false
		},
		Concurrency: 4,
		Lookback:    24 * time.Hour,
		Logger:      log,
		Now:         func() time.Time { return h.now },
	}
	return h
}

func (h *harness) open() {
	st, err := state.Open(h.path, state.Options{NoSync: true})
	if err != nil {
		h.t.Fatal(err)
	}
	h.store = st
	h.t.Cleanup(func() { st.Close() })
}

// reopen closes and opens the state file, as a restarted process would.
func (h *harness) reopen() {
	h.store.Close()
	h.open()
}

func (h *harness) engine(mods ...func(*syncer.Options)) *syncer.Engine {
	h.t.Helper()
	opt := h.opt
	for _, m := range mods {
		m(&opt)
	}
	e, err := syncer.New(h.src, h.sink, h.store, opt)
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

func (h *harness) poll(mods ...func(*syncer.Options)) *syncer.Report {
	h.t.Helper()
	rep, err := h.engine(mods...).Poll(context.Background())
	if err != nil {
		h.t.Fatalf("poll: %v", err)
	}
	return rep
}

func (h *harness) addSigned(business int64, name string, body string) int64 {
	return h.nx.AddFile(nexudustest.FileSpec{
		BusinessID: business, CoworkerID: 500 + business, CoworkerFullName: "Ada Lovelace",
		Name: name, FileName: name + ".pdf", Data: []byte("original " + body),
		SignedFileName: name + "-signed.pdf", SignedData: []byte(body), Signed: true,
	})
}

// addBulk adds n signed files 10ms apart from at (so within one minute
// for n up to 6000) and returns the first one's Id.
func (h *harness) addBulk(at time.Time, n int) int64 {
	var first int64
	for i := 0; i < n; i++ {
		id := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "bulk", FileName: "b.pdf",
			Data: []byte(fmt.Sprint("bulk ", i)), Signed: true, UpdatedOn: at.Add(time.Duration(i) * 10 * time.Millisecond)})
		if i == 0 {
			first = id
		}
	}
	return first
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// expectedBytes is what CoreData must hold for a Nexudus file.
func expectedBytes(f nexudustest.FileSpec) []byte {
	if f.SignedFileName != "" {
		return f.SignedData
	}
	return f.Data
}

// assertMirrored checks guarantee 1 and 3: exactly one CoreData file per
// signed Nexudus file with a parent, holding the newest signed bytes, and
// no other file at all; and no open intent.
func (h *harness) assertMirrored() {
	h.t.Helper()
	byTag := map[string][]coredatatest.FileInfo{}
	for _, f := range h.cd.Files() {
		for _, tag := range f.Tags {
			if _, ok := syncer.ParseFileTag(tag); ok {
				byTag[tag] = append(byTag[tag], f)
			}
		}
	}
	want := 0
	for _, nf := range h.nx.Files() {
		if !nf.Signed {
			continue
		}
		if _, ok := h.opt.ParentFor(nf.BusinessID); !ok {
			continue
		}
		want++
		got := byTag[syncer.FileTag(nf.ID)]
		if len(got) != 1 {
			h.t.Errorf("nexudus file %d: %d CoreData files, want exactly 1", nf.ID, len(got))
			continue
		}
		if d := md5hex(expectedBytes(nf)); got[0].Digest != d {
			h.t.Errorf("nexudus file %d: CoreData digest %s, want %s", nf.ID, got[0].Digest, d)
		}
		m, ok, err := h.store.Mapping(nf.ID)
		if err != nil || !ok || m.CoreDataID != got[0].ID {
			h.t.Errorf("nexudus file %d: mapping %+v %v %v, want CoreData id %s", nf.ID, m, ok, err, got[0].ID)
		}
	}
	if n := len(h.cd.Files()); n != want {
		h.t.Errorf("CoreData holds %d files, want %d", n, want)
	}
	intents, err := h.store.Intents()
	if err != nil || len(intents) != 0 {
		h.t.Errorf("open intents left: %+v %v", intents, err)
	}
}

func (h *harness) writes() int {
	return h.cd.Count(coredatatest.RouteBlob) + h.cd.Count(coredatatest.RouteStorage) +
		h.cd.Count(coredatatest.RouteCreate) + h.cd.Count(coredatatest.RouteUpdateContent) +
		h.cd.Count(coredatatest.RouteUpdateMetadata)
}

func (h *harness) downloads() int {
	return h.nx.Count(nexudustest.RouteDownload) + h.nx.Count(nexudustest.RouteSignedDownload)
}

func ids(fs []syncer.FileError) string {
	return fmt.Sprint(fs)
}
