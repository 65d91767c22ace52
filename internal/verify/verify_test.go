package verify_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	"github.com/coworkdocs/syncd/internal/verify"
)

const (
	parentA = "313ae0be-71cf-11ee-b1e9-ebd554949e29" // location 1
	parentB = "07dcc00c-897e-11e6-b174-db079186c95c" // location 2
	// location 3 has no parent: skipped.
)

func parentFor(b int64) (string, bool) {
	switch b {
	case 1:
		return parentA, true
	case 2:
		return parentB, true
	}
	return "", false
}

// world is both simulators, real clients, and a state file mirrored by
// the real engine.
type world struct {
	t    *testing.T
	nx   *nexudustest.Server
	cd   *coredatatest.Server
	src  *nexudus.Client
	sink *coredata.Client
	path string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	nx := nexudustest.New(nexudustest.Options{})
	t.Cleanup(nx.Close)
	cd := coredatatest.New(coredatatest.Options{})
	t.Cleanup(cd.Close)
	log := zaptest.NewLogger(t)
	fast := httpx.Backoff{Base: time.Millisecond, Max: 5 * time.Millisecond}
	src, err := nexudus.New(nexudus.Config{
		BaseURL: nx.URL, Username: nx.Username(), Password: nx.Password(),
		PageSize: 100, RequestsPerMinute: -1, RequestsPerHour: -1, Backoff: fast, MaxRetries: 1,
	}, nx.Client(), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := coredata.New(coredata.Config{
		BaseURL: cd.URL(), APIUser: cd.APIUser(), APIKey: cd.APIKey(), Backoff: fast, MaxRetries: 1,
	}, cd.Client(), cd.Client(), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, nx: nx, cd: cd, src: src, sink: sink, path: filepath.Join(t.TempDir(), "state.db")}
}

func (w *world) addSigned(business int64, name string) int64 {
	return w.nx.AddFile(nexudustest.FileSpec{
		BusinessID: business, CoworkerID: 500, CoworkerFullName: "Ada Lovelace",
		Name: name, FileName: name + ".pdf", Data: []byte("original " + name),
		SignedFileName: name + "-signed.pdf", SignedData: []byte("signed " + name), Signed: true,
	})
}

// engine is the real engine on the state file; the caller closes it.
func (w *world) engine() (*syncer.Engine, *state.Store) {
	w.t.Helper()
	st, err := state.Open(w.path, state.Options{NoSync: true})
	if err != nil {
		w.t.Fatal(err)
	}
	eng, err := syncer.New(w.src, w.sink, st, syncer.Options{
		ParentFor: parentFor, Parents: []string{parentA, parentB}, Concurrency: 2,
		Lookback: 24 * time.Hour, Logger: zaptest.NewLogger(w.t),
	})
	if err != nil {
		st.Close()
		w.t.Fatal(err)
	}
	return eng, st
}

// audit runs the daemon's audit, reporting only.
func (w *world) audit() *syncer.AuditReport {
	w.t.Helper()
	eng, st := w.engine()
	defer st.Close()
	rep, err := eng.Audit(context.Background(), syncer.AuditOptions{})
	if err != nil {
		w.t.Fatalf("audit: %v", err)
	}
	return rep
}

// poll mirrors with the real engine, then closes the state file, as the
// daemon does between polls.
func (w *world) poll() {
	w.t.Helper()
	eng, st := w.engine()
	defer st.Close()
	if rep, err := eng.Poll(context.Background()); err != nil || len(rep.Failed) > 0 {
		w.t.Fatalf("poll: %v %v", err, rep.Failed)
	}
}

func (w *world) forget(id int64) {
	w.t.Helper()
	st, err := state.Open(w.path, state.Options{NoSync: true})
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	if err := st.Forget(id); err != nil {
		w.t.Fatal(err)
	}
}

// stateFile reads the mappings the way cmd/syncd does: a read-only open
// for each read.
type stateFile struct{ path string }

func (s stateFile) open() (*state.Store, error) {
	return state.Open(s.path, state.Options{ReadOnly: true})
}

func (s stateFile) EachMapping(_ context.Context, fn func(state.Mapping) error) error {
	st, err := s.open()
	if err != nil {
		return err
	}
	defer st.Close()
	return st.EachMapping(7, fn) // small batches: several read transactions
}

func (s stateFile) MappingsFor(_ context.Context, ids []int64) (map[int64]state.Mapping, error) {
	st, err := s.open()
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.MappingsFor(ids)
}

// result is a Report with every row Options.Row handed out.
type result struct {
	*verify.Report
	Rows []verify.Row
}

func (w *world) verify(mods ...func(*verify.Options)) *result {
	w.t.Helper()
	rep, err := w.run(stateFile{w.path}, mods...)
	if err != nil {
		w.t.Fatalf("verify: %v", err)
	}
	return rep
}

// run verifies, and checks what every run must hold: rows handed out by
// Nexudus Id then CoreData id, counted, the ones not ok in the report.
func (w *world) run(st verify.MappingReader, mods ...func(*verify.Options)) (*result, error) {
	w.t.Helper()
	return w.runOn(w.sink, st, mods...)
}

func (w *world) runOn(cd verify.Lister, st verify.MappingReader, mods ...func(*verify.Options)) (*result, error) {
	w.t.Helper()
	res := &result{}
	opt := verify.Options{
		ParentFor: parentFor, Parents: []string{parentA, parentB},
		MaxFileBytes: 10 << 20, Logger: zaptest.NewLogger(w.t),
		Row: func(r verify.Row) error { res.Rows = append(res.Rows, r); return nil },
	}
	for _, m := range mods {
		m(&opt)
	}
	rep, err := verify.Run(context.Background(), w.src, cd, st, opt)
	if err != nil {
		return nil, err
	}
	res.Report = rep
	counts := map[verify.Status]int{}
	var notOK []verify.Row
	for i, r := range res.Rows {
		counts[r.Status]++
		if r.Status != verify.StatusOK {
			notOK = append(notOK, r)
		}
		if i > 0 {
			p := res.Rows[i-1]
			if p.NexudusID > r.NexudusID || (p.NexudusID == r.NexudusID && p.CoreDataID > r.CoreDataID) {
				w.t.Errorf("row %d (%d %s) after (%d %s): not in order", i, r.NexudusID, r.CoreDataID, p.NexudusID, p.CoreDataID)
			}
		}
	}
	for _, s := range verify.Statuses {
		if counts[s] != rep.Counts[s] {
			w.t.Errorf("%s: %d rows handed out, report counts %d", s, counts[s], rep.Counts[s])
		}
	}
	if len(notOK) != len(rep.NotOK) {
		w.t.Errorf("%d rows not ok handed out, report holds %d", len(notOK), len(rep.NotOK))
	}
	return res, nil
}

func deep(o *verify.Options) { o.Deep = true }

// coreDataFileOf is the one CoreData file tagged for a Nexudus file.
func (w *world) coreDataFileOf(id int64) coredatatest.FileInfo {
	w.t.Helper()
	for _, f := range w.cd.Files() {
		for _, tag := range f.Tags {
			if tag == syncer.FileTag(id) {
				return f
			}
		}
	}
	w.t.Fatalf("no CoreData file tagged for %d", id)
	return coredatatest.FileInfo{}
}

// uploadVersion is a person putting new content on a CoreData file
// through the API.
func (w *world) uploadVersion(id string, body []byte) {
	w.t.Helper()
	ctx := context.Background()
	f, ok := w.cd.File(id)
	if !ok {
		w.t.Fatalf("no CoreData file %s", id)
	}
	b, err := w.sink.RequestBlob(ctx, "application/pdf", int64(len(body)))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.sink.PutBlob(ctx, b, bytes.NewReader(body), int64(len(body)), "application/pdf", "edited.pdf"); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.sink.UpdateContent(ctx, id, b.Name, md5hex(body), f.SnapshotID, "edited.pdf"); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) coreDataWrites() int {
	n := 0
	for _, r := range []coredatatest.Route{coredatatest.RouteBlob, coredatatest.RouteStorage, coredatatest.RouteCreate,
		coredatatest.RouteUpdateContent, coredatatest.RouteUpdateMetadata, coredatatest.RouteDelete} {
		n += w.cd.Count(r)
	}
	return n
}

func (w *world) downloads() int {
	return w.nx.Count(nexudustest.RouteDownload) + w.nx.Count(nexudustest.RouteSignedDownload)
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func rowsByID(rep *result) map[int64][]verify.Row {
	out := map[int64][]verify.Row{}
	for _, r := range rep.Rows {
		out[r.NexudusID] = append(out[r.NexudusID], r)
	}
	return out
}

// Each status, produced by what really happens to files: the engine
// mirrors, then people and Nexudus change things behind its back.
func TestEachStatusFromARealSituation(t *testing.T) {
	w := newWorld(t)
	ok := w.addSigned(1, "fine")
	missing := w.addSigned(1, "deleted-in-coredata")
	stale := w.addSigned(2, "signed-again")
	drift := w.addSigned(1, "edited-in-coredata")
	dup := w.addSigned(2, "uploaded-twice")
	gone := w.addSigned(1, "deleted-in-nexudus")
	unsigned := w.addSigned(2, "unsigned-later")
	skipped := w.addSigned(3, "no-parent")
	adopt := w.addSigned(1, "forgotten")
	w.poll()

	// What happens after the mirror, before the next poll.
	w.nx.Advance(time.Minute)
	w.cd.DeleteFile(w.coreDataFileOf(missing).ID)
	w.nx.SetSignedData(stale, "signed-again-v2.pdf", []byte("signed again, v2"))
	w.uploadVersion(w.coreDataFileOf(drift).ID, []byte("a person's edit"))
	orig := w.coreDataFileOf(dup)
	extra := w.cd.AddFile(coredatatest.NewFile{Parent: parentB, Title: orig.Title, Filename: "copy.pdf",
		Tags: []string{"nexudus", syncer.FileTag(dup)}, Content: []byte("signed uploaded-twice")})
	goneCD := w.coreDataFileOf(gone).ID
	w.nx.Delete(gone)
	w.nx.SetSigned(unsigned, false)
	// `syncd state forget`: CoreData still has the file, tagged.
	w.forget(adopt)

	want := map[int64][]verify.Status{
		ok: {verify.StatusOK}, missing: {verify.StatusMissing}, stale: {verify.StatusStale},
		drift: {verify.StatusDrift}, dup: {verify.StatusDuplicate}, gone: {verify.StatusOrphan},
		unsigned: {verify.StatusOrphan}, adopt: {verify.StatusOK},
	}
	for _, mode := range []struct {
		name string
		mods []func(*verify.Options)
	}{{"recorded digests", nil}, {"-deep", []func(*verify.Options){deep}}} {
		t.Run(mode.name, func(t *testing.T) {
			rep := w.verify(mode.mods...)
			got := rowsByID(rep)
			for id, statuses := range want {
				rows := got[id]
				if len(rows) != len(statuses) {
					t.Fatalf("nexudus file %d: %d rows %+v, want %v", id, len(rows), rows, statuses)
				}
				for i, s := range statuses {
					if rows[i].Status != s {
						t.Errorf("nexudus file %d: %s (%s), want %s", id, rows[i].Status, rows[i].Reason, s)
					}
				}
			}
			if len(got[skipped]) != 0 || rep.Skipped != 1 {
				t.Errorf("no-parent file: rows %+v, skipped %d; want no row, 1 skipped", got[skipped], rep.Skipped)
			}
			if rep.OK() || rep.Problems() != 4 {
				t.Errorf("OK() = %v, %d problems; want 4 (missing, stale, drift, duplicate)", rep.OK(), rep.Problems())
			}
			if r := got[dup][0]; len(r.CoreDataIDs) != 2 || !strings.Contains(strings.Join(r.CoreDataIDs, " "), extra) || !strings.Contains(strings.Join(r.CoreDataIDs, " "), orig.ID) {
				t.Errorf("duplicate row lists %v, want %s and %s", r.CoreDataIDs, orig.ID, extra)
			}
			if r := got[adopt][0]; !strings.Contains(r.Reason, "not in the state file; found by tag") || r.RecordedMD5 != "" {
				t.Errorf("forgotten file's row %+v", r)
			}
			if r := got[gone][0]; r.CoreDataID != goneCD || r.RecordedCoreDataID != goneCD {
				t.Errorf("orphan row %+v, want CoreData id %s", r, goneCD)
			}
			if r := got[drift][0]; r.CoreDataMD5 != md5hex([]byte("a person's edit")) || r.RecordedMD5 != md5hex([]byte("signed edited-in-coredata")) {
				t.Errorf("drift row digests: coredata %s recorded %s", r.CoreDataMD5, r.RecordedMD5)
			}
			r := got[stale][0]
			if mode.name == "-deep" {
				if r.NexudusMD5 != md5hex([]byte("signed again, v2")) {
					t.Errorf("-deep stale row: nexudus_md5 %q", r.NexudusMD5)
				}
			} else if r.NexudusUpdatedOn == nil || r.RecordedUpdatedOn == nil || !r.NexudusUpdatedOn.After(*r.RecordedUpdatedOn) {
				t.Errorf("stale row times: %v, recorded %v", r.NexudusUpdatedOn, r.RecordedUpdatedOn)
			}
		})
	}

	// The next poll repairs what syncd repairs; what it must not touch
	// (a person's edit, an extra file, orphans) stays reported.
	w.poll()
	rep := w.verify()
	got := rowsByID(rep)
	for id, s := range map[int64]verify.Status{ok: verify.StatusOK, stale: verify.StatusOK, adopt: verify.StatusOK, drift: verify.StatusDrift, dup: verify.StatusDuplicate} {
		if got[id][0].Status != s {
			t.Errorf("after the next poll, nexudus file %d: %s (%s), want %s", id, got[id][0].Status, got[id][0].Reason, s)
		}
	}
}

// Verify and the daemon's audit judge a mapped file by the same rules
// (syncer.JudgeMapped): for each thing a person does in CoreData, both
// see the same, each in its own words.
func TestVerifyJudgesAsTheDaemonsAudit(t *testing.T) {
	w := newWorld(t)
	ids := map[string]int64{}
	for _, n := range []string{"fine", "deleted", "re-filed", "renamed", "untagged", "edited", "copied"} {
		ids[n] = w.addSigned(1, n)
	}
	w.poll()
	file := func(n string) coredatatest.FileInfo { return w.coreDataFileOf(ids[n]) }
	w.cd.DeleteFile(file("deleted").ID)
	w.cd.Move(file("re-filed").ID, "a-folder-syncd-does-not-list")
	w.cd.Rename(file("renamed").ID, "Filed by a person")
	w.cd.SetTags(file("untagged").ID, []string{"nexudus"})
	w.uploadVersion(file("edited").ID, []byte("a person's edit"))
	orig := file("copied")
	w.cd.AddFile(coredatatest.NewFile{Parent: parentA, Title: orig.Title, Filename: "copy.pdf",
		Tags: []string{syncer.FileTag(ids["copied"])}, Content: []byte("signed copied")})

	want := []struct {
		name   string
		audit  syncer.AuditStatus
		verify verify.Status
		reason string
	}{
		{"fine", syncer.AuditOK, verify.StatusOK, ""},
		{"deleted", syncer.AuditMissing, verify.StatusMissing, "a read by id answered 404"},
		{"re-filed", syncer.AuditMoved, verify.StatusOK, "re-filed from " + parentA + " to a-folder-syncd-does-not-list; the daemon's audit follows it"},
		{"renamed", syncer.AuditMoved, verify.StatusOK, "was renamed"},
		{"untagged", syncer.AuditUntagged, verify.StatusMissing, "lost its tag"},
		{"edited", syncer.AuditDrift, verify.StatusDrift, "not the one syncd recorded"},
		{"copied", syncer.AuditDuplicate, verify.StatusDuplicate, "2 CoreData files are tagged"},
	}
	rows := rowsByID(w.verify())
	audit := w.audit()
	problems := map[int64]syncer.AuditProblem{}
	for _, p := range audit.Problems {
		problems[p.NexudusID] = p
	}
	for _, tt := range want {
		t.Run(tt.name, func(t *testing.T) {
			id := ids[tt.name]
			got := syncer.AuditOK
			if p, ok := problems[id]; ok {
				got = p.Status
			}
			if got != tt.audit {
				t.Errorf("audit: %s, want %s", got, tt.audit)
			}
			if len(rows[id]) != 1 {
				t.Fatalf("verify: rows %+v, want one", rows[id])
			}
			r := rows[id][0]
			if r.Status != tt.verify || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("verify: %s (%s), want %s saying %q", r.Status, r.Reason, tt.verify, tt.reason)
			}
		})
	}
	// After the audit followed the re-filed file, verify finds it ok
	// with no word of a move, and still by one read by id.
	w.cd.ResetCounts()
	r := rowsByID(w.verify())[ids["re-filed"]][0]
	if r.Status != verify.StatusOK || r.Reason != "" || r.Parent != "a-folder-syncd-does-not-list" {
		t.Errorf("followed file: %+v", r)
	}
	// The untagged file is in its parent's listing: no read.
	if n := w.cd.Count(coredatatest.RouteGet); n != 2 {
		t.Errorf("%d reads by id, want 2 (the deleted and the re-filed files)", n)
	}
}

func TestEverythingFineIsOK(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"a", "b", "c"} {
		w.addSigned(1, n)
		w.addSigned(2, n)
	}
	w.poll()
	for _, mods := range [][]func(*verify.Options){nil, {deep}} {
		rep := w.verify(mods...)
		if !rep.OK() || rep.Counts[verify.StatusOK] != 6 || len(rep.Rows) != 6 {
			t.Fatalf("rows %+v counts %v", rep.Rows, rep.Counts)
		}
	}
}

// Verify writes nothing anywhere, and without -deep it costs list pages
// only on both sides: no download, no read of a single CoreData file.
func TestWritesNothingAndListsOnly(t *testing.T) {
	w := newWorld(t)
	const n = 250
	for i := 0; i < n; i++ {
		w.addSigned(1+int64(i%2), "contract-"+strings.Repeat("x", i%7)+time.Duration(i).String())
		if i%40 == 39 {
			w.nx.Advance(time.Minute) // spread over minutes, as real records are
		}
	}
	w.poll()
	before, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(w.path)

	for _, tt := range []struct {
		name          string
		mods          []func(*verify.Options)
		wantDownloads int
	}{
		{"recorded digests", nil, 0},
		{"-deep", []func(*verify.Options){deep}, n},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.nx.ResetCounts()
			w.cd.ResetCounts()
			rep := w.verify(tt.mods...)
			if !rep.OK() || rep.Counts[verify.StatusOK] != n {
				t.Fatalf("counts %v", rep.Counts)
			}
			if got := w.coreDataWrites(); got != 0 {
				t.Errorf("%d CoreData write requests", got)
			}
			if got := w.cd.Count(coredatatest.RouteGet); got != 0 {
				t.Errorf("%d CoreData reads of single files, want none", got)
			}
			if got := w.nx.Count(nexudustest.RouteGet); got != 0 {
				t.Errorf("%d Nexudus reads of single records, want none", got)
			}
			if got := w.downloads(); got != tt.wantDownloads {
				t.Errorf("%d downloads, want %d", got, tt.wantDownloads)
			}
			t.Logf("%d files: nexudus %v, coredata %v", n, w.nx.Counts(), w.cd.Counts())
			// CoreData: one page per parent (1,000 files a page).
			if got := w.cd.Count(coredatatest.RouteList); got != 2 {
				t.Errorf("%d CoreData list requests, want 2 (one page per parent)", got)
			}
			// Nexudus: pages of 100, keyed by minute as the engine pages:
			// a few more than n/100, never one per file.
			if got := w.nx.Count(nexudustest.RouteList); got < 3 || got > 6 {
				t.Errorf("%d Nexudus list requests for %d files, want 3..6", got, n)
			}
		})
	}
	after, err := os.ReadFile(w.path)
	if err != nil {
		t.Fatal(err)
	}
	info2, _ := os.Stat(w.path)
	if !bytes.Equal(before, after) || !info.ModTime().Equal(info2.ModTime()) {
		t.Fatal("verify changed the state file")
	}
	if _, err := os.Stat(w.path + ".lock"); !os.IsNotExist(err) {
		t.Fatalf("verify made a lock file: %v", err)
	}
}

// With -from the listing is partial: a tagged file whose record was not
// listed cannot be called an orphan.
func TestFromSkipsOrphansAndOlderFiles(t *testing.T) {
	w := newWorld(t)
	old := w.addSigned(1, "old")
	gone := w.addSigned(1, "gone")
	w.nx.Advance(2 * time.Hour)
	recent := w.addSigned(2, "recent")
	w.poll()
	w.nx.Delete(gone)

	rep := w.verify(func(o *verify.Options) { o.From = w.nx.Now().Add(-time.Hour) })
	got := rowsByID(rep)
	if rep.OrphansChecked || len(got[gone]) != 0 || len(got[old]) != 0 {
		t.Fatalf("-from: orphans checked %v, rows %+v", rep.OrphansChecked, rep.Rows)
	}
	if len(rep.Rows) != 1 || got[recent][0].Status != verify.StatusOK || !rep.OK() {
		t.Fatalf("-from rows %+v", rep.Rows)
	}
	var b strings.Builder
	if err := verify.WriteTable(&b, rep.Report); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "orphan           not checked (-from") && !strings.Contains(b.String(), "not checked (-from lists only part of Nexudus)") {
		t.Fatalf("table does not say orphans were not checked:\n%s", b.String())
	}

	rep = w.verify()
	if r := rowsByID(rep)[gone]; len(r) != 1 || r[0].Status != verify.StatusOrphan || !rep.OK() {
		t.Fatalf("without -from: %+v OK=%v", r, rep.OK())
	}
}

// Files of locations outside nexudus.businesses are listed (so that their
// CoreData files are not taken for orphans) but not verified.
func TestOtherLocationsAreNeitherVerifiedNorOrphans(t *testing.T) {
	w := newWorld(t)
	a := w.addSigned(1, "a")
	b := w.addSigned(2, "b")
	w.poll()
	rep := w.verify(func(o *verify.Options) { o.Businesses = []int64{1} })
	got := rowsByID(rep)
	if len(got[a]) != 1 || got[a][0].Status != verify.StatusOK || len(got[b]) != 0 || rep.OtherLocations != 1 {
		t.Fatalf("rows %+v, other locations %d", rep.Rows, rep.OtherLocations)
	}
}

// A -deep download that fails leaves that file unverified (exit 1) and
// the others checked.
func TestDeepDownloadFailureIsUnverified(t *testing.T) {
	w := newWorld(t)
	good := w.addSigned(1, "good")
	bad := w.addSigned(1, "bad")
	w.poll()
	w.nx.FailWhen(func(r nexudustest.Route, req nexudustest.Request) bool {
		return r == nexudustest.RouteSignedDownload && strings.HasSuffix(req.Path, "/"+itoa(bad))
	}, 100, nexudustest.Fault{Status: 404})
	rep := w.verify(deep)
	got := rowsByID(rep)
	if got[good][0].Status != verify.StatusOK || got[bad][0].Status != verify.StatusUnverified || rep.OK() {
		t.Fatalf("rows %+v", rep.Rows)
	}
	if !strings.Contains(got[bad][0].Reason, "download") || !strings.Contains(got[bad][0].Reason, "404") {
		t.Fatalf("reason %q does not say the download failed with 404", got[bad][0].Reason)
	}
}

// A daemon that mirrors a file while verify runs is not a problem: here
// it polls right after verify listed CoreData, so the listing shows the
// old bytes and the state file the new ones. The mapping changed since
// verify first read it, so its file is read again (one read by id).
func TestDaemonMirroringMeanwhileIsNotAProblem(t *testing.T) {
	w := newWorld(t)
	id := w.addSigned(1, "contract")
	untouched := w.addSigned(1, "untouched")
	w.poll()
	w.nx.Advance(time.Minute)
	w.nx.SetSignedData(id, "contract-v2.pdf", []byte("signed again"))
	w.cd.ResetCounts()

	rep, err := w.runOn(&afterFirstListing{Lister: w.sink, then: w.poll}, stateFile{w.path})
	if err != nil {
		t.Fatal(err)
	}
	got := rowsByID(rep)
	if r := got[id][0]; r.Status != verify.StatusOK || !strings.Contains(r.Reason, "while verify ran") || r.CoreDataMD5 != md5hex([]byte("signed again")) {
		t.Fatalf("row %+v", r)
	}
	if r := got[untouched][0]; r.Status != verify.StatusOK || r.Reason != "" {
		t.Fatalf("untouched row %+v", r)
	}
	// The poll itself reads the file it updates; verify adds one read.
	if n := w.cd.Count(coredatatest.RouteGet); n < 1 {
		t.Fatalf("%d reads by id: verify did not read the file again", n)
	}
	if !rep.OK() {
		t.Fatalf("not ok: %+v", rep.NotOK)
	}
}

// afterFirstListing runs then once, after the first parent was listed.
type afterFirstListing struct {
	verify.Lister
	then func()
	done bool
}

func (l *afterFirstListing) EachFile(ctx context.Context, parent, title string, fn func(coredata.File) error) error {
	err := l.Lister.EachFile(ctx, parent, title, fn)
	if !l.done {
		l.done = true
		l.then()
	}
	return err
}

func TestListingFailureIsAnError(t *testing.T) {
	w := newWorld(t)
	w.addSigned(1, "a")
	w.poll()
	w.nx.FailNext(nexudustest.RouteList, 100, nexudustest.Fault{Status: 503})
	_, err := w.run(stateFile{w.path})
	if err == nil || !strings.HasPrefix(err.Error(), "verify: list from the start page 1") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

// A row that cannot be written (stdout closed) stops the run with the
// writer's error; the rows before it were handed out in order.
func TestRowWriterFailureStopsTheRun(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"a", "b", "c"} {
		w.addSigned(1, n)
	}
	w.poll()
	var handed []int64
	broken := errors.New("write |1: broken pipe")
	_, err := verify.Run(context.Background(), w.src, w.sink, stateFile{w.path}, verify.Options{
		ParentFor: parentFor, Parents: []string{parentA, parentB}, Logger: zaptest.NewLogger(t),
		Row: func(r verify.Row) error {
			if len(handed) == 2 {
				return broken
			}
			handed = append(handed, r.NexudusID)
			return nil
		},
	})
	if !errors.Is(err, broken) || !strings.HasPrefix(err.Error(), "verify: ") {
		t.Fatalf("err = %v, want the writer's error wrapped by verify", err)
	}
	if len(handed) != 2 || handed[0] >= handed[1] {
		t.Fatalf("rows handed out before the failure: %v", handed)
	}
}
