package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// parentID is the CoreData folder every simulated location mirrors into.
const parentID = "313ae0be-71cf-11ee-b1e9-ebd554949e29"

// pageSize is the Nexudus page size syncd asks for by default.
const pageSize = nexudus.DefaultPageSize

// contract is the i-th signed contract of a simulated tenant: an original
// and a signed copy of about size bytes, distinct for every i, titled as
// the default template renders it.
func contract(i int, updated time.Time, size int) nexudustest.FileSpec {
	return nexudustest.FileSpec{
		BusinessID:       1,
		CoworkerID:       int64(1000 + i%997),
		CoworkerFullName: "Member " + strconv.Itoa(i%997),
		Name:             "Contract " + strconv.Itoa(i),
		FileName:         "contract-" + strconv.Itoa(i) + ".pdf",
		Data:             payload(i, max(size/2, 1)),
		SignedFileName:   "contract-" + strconv.Itoa(i) + "-signed.pdf",
		SignedData:       payload(i, size),
		Signed:           true,
		UpdatedOn:        updated,
	}
}

// titleOf is the title the default template gives a contract.
func titleOf(f nexudustest.FileSpec) string { return f.CoworkerFullName + " - " + f.Name }

// payload is n bytes that start like a PDF and differ for every i.
func payload(i, n int) []byte {
	head := fmt.Sprintf("%%PDF-1.4\n%% contract %d\n", i)
	b := make([]byte, n)
	copy(b, head)
	for j := len(head); j < n; j++ {
		b[j] = byte('a' + (i+j)%26)
	}
	return b[:n]
}

// spread gives n instants evenly over [from, to).
func spread(n int, from, to time.Time) []time.Time {
	out := make([]time.Time, n)
	step := to.Sub(from) / time.Duration(max(n, 1))
	for i := range out {
		out[i] = from.Add(time.Duration(i) * step).Truncate(time.Second)
	}
	return out
}

// world is both simulators with clients wired as the daemon wires them.
type world struct {
	dir  string
	nx   *nexudustest.Server
	cd   *coredatatest.Server
	src  *nexudus.Client
	sink *coredata.Client
}

func newWorld(dir string, nxo nexudustest.Options, cdo coredatatest.Options, nxc nexudus.Config) (*world, error) {
	if nxo.RequestLogLimit == 0 {
		nxo.RequestLogLimit = 1000
	}
	w := &world{dir: dir, nx: nexudustest.New(nxo), cd: coredatatest.New(cdo)}
	nxc.BaseURL, nxc.Username, nxc.Password = w.nx.URL, w.nx.Username(), w.nx.Password()
	var err error
	if w.src, err = nexudus.New(nxc, w.nx.Client(), nil, nil); err != nil {
		w.close()
		return nil, err
	}
	if w.sink, err = coredata.New(coredata.Config{BaseURL: w.cd.URL(), APIUser: w.cd.APIUser(), APIKey: w.cd.APIKey(),
		Backoff: httpx.Backoff{Base: 10 * time.Millisecond}}, w.cd.Client(), w.cd.Client(), nil, nil); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *world) close() {
	w.nx.Close()
	w.cd.Close()
}

// addHistory adds n contracts updated evenly over [from, to) and returns
// them.
func (w *world) addHistory(n int, from, to time.Time, size int) []nexudustest.FileSpec {
	out := make([]nexudustest.FileSpec, n)
	for i, at := range spread(n, from, to) {
		out[i] = contract(i, at, size)
		out[i].ID = w.nx.AddFile(out[i])
	}
	return out
}

// openState opens a state file as the daemon does (fsync on commit).
func (w *world) openState(name string) (*state.Store, error) {
	return state.Open(filepath.Join(w.dir, name), state.Options{Timeout: 30 * time.Second})
}

// engine is the engine as the daemon builds it (default title, tags,
// concurrency 4), with opt's Lookback, Now and Concurrency when set.
func (w *world) engine(st *state.Store, opt syncer.Options) (*syncer.Engine, error) {
	opt.ParentFor = func(int64) (string, bool) { return parentID, true }
	if opt.Lookback == 0 {
		opt.Lookback = 24 * time.Hour
	}
	opt.Tags = []string{"nexudus"}
	opt.TempDir = w.dir
	opt.Logger = zap.NewNop()
	return syncer.New(w.src, w.sink, st, opt)
}

// reqs is a snapshot of both simulators' request counters.
type reqs struct {
	nx map[nexudustest.Route]int
	cd map[coredatatest.Route]int
}

func (w *world) reqs() reqs { return reqs{nx: w.nx.Counts(), cd: w.cd.Counts()} }

func (w *world) resetCounts() {
	w.nx.ResetCounts()
	w.cd.ResetCounts()
}

// nexudus counts requests to the Nexudus API (its budget): every route
// but the storage host a download may be redirected to.
func (r reqs) nexudus() int {
	n := 0
	for route, c := range r.nx {
		if route != nexudustest.RouteStorage {
			n += c
		}
	}
	return n
}

func (r reqs) downloads() int {
	return r.nx[nexudustest.RouteDownload] + r.nx[nexudustest.RouteSignedDownload]
}

func (r reqs) coredata() int {
	n := 0
	for _, c := range r.cd {
		n += c
	}
	return n
}

// uploads counts what writes content to CoreData.
func (r reqs) uploads() int {
	return r.cd[coredatatest.RouteBlob] + r.cd[coredatatest.RouteStorage] + r.cd[coredatatest.RouteCreate] + r.cd[coredatatest.RouteUpdateContent]
}

// cdBreakdown names the CoreData requests per file by route.
func (r reqs) cdBreakdown(per int) string {
	out := ""
	for _, route := range []coredatatest.Route{coredatatest.RouteList, coredatatest.RouteBlob, coredatatest.RouteStorage,
		coredatatest.RouteCreate, coredatatest.RouteUpdateContent, coredatatest.RouteGet, coredatatest.RouteUpdateMetadata} {
		if c := r.cd[route]; c > 0 {
			if out != "" {
				out += ", "
			}
			v := float64(c) / float64(per)
			if v < 0.005 {
				// A request shared by many files (a listing a run)
				// is not "0.00" of each.
				out += fmt.Sprintf("%s %.4f", route, v)
			} else {
				out += fmt.Sprintf("%s %.2f", route, v)
			}
		}
	}
	if out == "" {
		return "none"
	}
	return out
}

// checkMirrored is guarantees 1 and 3 over the whole tenant: every signed
// Nexudus file has exactly one CoreData file tagged nexudus-file-<Id>,
// holding the md5 of the bytes syncd downloads (the signed copy when there
// is one), and no other CoreData file carries a Nexudus file tag.
func checkMirrored(nx *nexudustest.Server, cd *coredatatest.Server) error {
	byID := map[int64][]coredatatest.FileInfo{}
	for _, f := range cd.Files() {
		tagged := 0
		for _, t := range f.Tags {
			if id, ok := syncer.ParseFileTag(t); ok {
				byID[id] = append(byID[id], f)
				tagged++
			}
		}
		if tagged != 1 {
			return fmt.Errorf("CoreData file %s carries %d Nexudus file tags", f.ID, tagged)
		}
	}
	signed := 0
	for _, f := range nx.Files() {
		if !f.Signed {
			continue
		}
		signed++
		got := byID[f.ID]
		if len(got) != 1 {
			return fmt.Errorf("Nexudus file %d has %d CoreData files, want exactly one", f.ID, len(got))
		}
		data := f.Data
		if f.SignedFileName != "" {
			data = f.SignedData
		}
		sum := md5.Sum(data)
		if want := hex.EncodeToString(sum[:]); got[0].Digest != want {
			return fmt.Errorf("Nexudus file %d: CoreData file %s holds md5 %s, want %s", f.ID, got[0].ID, got[0].Digest, want)
		}
		delete(byID, f.ID)
	}
	for id := range byID {
		return fmt.Errorf("CoreData holds a file tagged for Nexudus file %d, which is not a signed Nexudus file", id)
	}
	if signed == 0 {
		return fmt.Errorf("the tenant has no signed file")
	}
	return nil
}

// poll runs one poll and fails on a poll error or a failed file.
func poll(ctx context.Context, e *syncer.Engine) (*syncer.Report, error) {
	rep, err := e.Poll(ctx)
	if err != nil {
		return rep, fmt.Errorf("poll: %w", err)
	}
	if len(rep.Failed) > 0 {
		return rep, fmt.Errorf("poll: %d files failed, the first %d: %s", len(rep.Failed), rep.Failed[0].NexudusID, rep.Failed[0].Err)
	}
	return rep, nil
}

// fileSize is the size of path, 0 when it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// loopbackClient is an HTTP client with a timeout, for scraping /metrics.
var loopbackClient = &http.Client{Timeout: 10 * time.Second}
