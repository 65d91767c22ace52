package verify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// Source is the Nexudus side: list pages and downloads. The client's rate
// limiters apply to both; verify never goes around them.
type Source interface {
	ListPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.Page, error)
	Download(ctx context.Context, f nexudus.File) (*nexudus.Download, error)
}

// Lister is the CoreData side: every file under a parent, by pages, and
// a mapped file that is not under them read by id (a person re-filed it,
// or deleted it: coredata.ErrNotFound).
type Lister interface {
	ListFiles(ctx context.Context, parent, title string) ([]coredata.File, error)
	GetFile(ctx context.Context, id string) (*coredata.File, error)
}

// MappingReader reads what syncd recorded. Run calls it before and after
// its walk, so that a daemon mirroring a file meanwhile is not reported
// as a problem; each call should hold the state file only for the read.
type MappingReader interface {
	Mappings(ctx context.Context) ([]state.Mapping, error)
}

// Options configure a Run.
type Options struct {
	// ParentFor maps a Nexudus location to its CoreData parent; false:
	// the location is not mirrored, and its files are skipped.
	ParentFor func(business int64) (string, bool)
	// Parents are every configured CoreData parent (default included).
	Parents []string
	// Businesses are the locations syncd mirrors; empty: all. Verify
	// lists every location once either way and skips the others, so
	// that orphans can be told apart from files of other locations.
	Businesses []int64
	// From limits the audit to files updated since then; zero: all.
	// With a From, orphans are not looked for (the listing is partial).
	From time.Time
	// Deep downloads and hashes the Nexudus bytes of each file that has a
	// CoreData file to compare with.
	Deep bool
	// MaxFileBytes caps a -deep download (nexudus.max_file_bytes).
	MaxFileBytes int64
	Logger       *zap.Logger
	// Legal, when set (legal.enabled), checks texts and registers too.
	Legal LegalSource
	// Progress, when set, is told how many Nexudus files are done out of
	// the listing's total (which may grow while it runs).
	Progress func(done, total int)
}

// maxFailuresInARow stops a run when Nexudus keeps failing downloads (or
// CoreData reads by id): each file would otherwise wait out the client's
// retries.
const maxFailuresInARow = 5

// Report is what Run found.
type Report struct {
	// Rows holds every verified Nexudus file, then every orphan, by
	// Nexudus Id.
	Rows   []Row
	Counts map[Status]int
	// Skipped counts signed files whose location has no CoreData parent;
	// OtherLocations those of locations outside nexudus.businesses.
	Skipped, OtherLocations int
	// OrphansChecked is false with a From: the listing was partial.
	OrphansChecked bool
	Listed         int // signed Nexudus files listed
	Parents        int // CoreData parents listed
	CoreDataFiles  int // CoreData files under them
	Deep           bool
	From           time.Time
}

// OK reports whether every file is ok (orphans alone are ok).
func (r *Report) OK() bool {
	for _, row := range r.Rows {
		if row.Status.Problem() {
			return false
		}
	}
	return true
}

// Problems counts the rows that make verify exit 1.
func (r *Report) Problems() int {
	n := 0
	for _, row := range r.Rows {
		if row.Status.Problem() {
			n++
		}
	}
	return n
}

type verifier struct {
	src  Source
	cd   Lister
	st   MappingReader
	opt  Options
	log  *zap.Logger
	only map[int64]bool // opt.Businesses as a set; nil: all

	before  map[int64]state.Mapping
	ix      *index
	rows    map[int64]Row
	inputs  map[int64]Input // of problem rows, to check again after the walk
	bad     map[int64]Row
	badNoID []Row // unreadable records whose Id could not be read either
	rep     *Report
	done    int
	failed  int // downloads or reads by id failed in a row
}

// Run audits every signed Nexudus file (since opt.From) against CoreData
// and the state file. It writes nothing anywhere. A listing that fails,
// or a state file that cannot be read, is an error; a file that cannot
// be checked is a row of its own (unverified).
func Run(ctx context.Context, src Source, cd Lister, st MappingReader, opt Options) (*Report, error) {
	if opt.ParentFor == nil {
		return nil, errors.New("verify: run: no ParentFor given")
	}
	v := &verifier{src: src, cd: cd, st: st, opt: opt, log: opt.Logger,
		rows: map[int64]Row{}, inputs: map[int64]Input{}, bad: map[int64]Row{},
		rep: &Report{Counts: map[Status]int{}, OrphansChecked: opt.From.IsZero(), Deep: opt.Deep, From: opt.From}}
	if v.log == nil {
		v.log = zap.NewNop()
	}
	if len(opt.Businesses) > 0 {
		v.only = map[int64]bool{}
		for _, b := range opt.Businesses {
			v.only[b] = true
		}
	}
	var err error
	if v.before, err = v.mappings(ctx); err != nil {
		return nil, err
	}
	v.ix, err = listCoreData(ctx, cd, opt.Parents, v.mappedIDs(), func(parent string, files int) {
		v.log.Info("verify: listed CoreData parent", zap.String("parent", parent), zap.Int("files", files))
	})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	v.rep.Parents, v.rep.CoreDataFiles = v.ix.parents, v.ix.listed
	p := newPager(src)
	if err := p.walk(ctx, nexudus.ListQuery{UpdatedFrom: opt.From}, func(f nexudus.File) error {
		v.rep.Listed = p.seen.Len()
		err := v.file(ctx, f)
		v.done++
		if v.opt.Progress != nil {
			v.opt.Progress(v.done, max(p.total, v.done))
		}
		return err
	}, v.badRecord); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	v.rep.Listed = p.seen.Len()
	if v.opt.Progress != nil {
		v.opt.Progress(v.done, v.done) // the listing's end, whatever its first total said
	}
	if err := v.secondLook(ctx); err != nil {
		return nil, err
	}
	v.orphans(p.seen)
	if err := v.verifyLegal(ctx); err != nil {
		return nil, err
	}
	v.finish()
	return v.rep, nil
}

func (v *verifier) mappings(ctx context.Context) (map[int64]state.Mapping, error) {
	ms, err := v.st.Mappings(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: read state: %w", err)
	}
	out := make(map[int64]state.Mapping, len(ms))
	for _, m := range ms {
		out[m.NexudusID] = m
	}
	return out, nil
}

// file classifies one listed record.
func (v *verifier) file(ctx context.Context, f nexudus.File) error {
	delete(v.bad, f.ID)
	if v.only != nil && !v.only[f.BusinessID] {
		v.drop(f.ID)
		v.rep.OtherLocations++
		return nil
	}
	if _, ok := v.opt.ParentFor(f.BusinessID); !ok {
		v.drop(f.ID)
		v.rep.Skipped++
		return nil
	}
	in := Input{Record: f, Tagged: v.ix.tagged[f.ID]}
	if m, ok := v.before[f.ID]; ok {
		in.Mapping = &m
		if err := v.findMapped(ctx, &in); err != nil {
			return v.unverified(ctx, in, "read CoreData file "+m.CoreDataID, m.CoreDataID, err)
		}
	}
	if target := compared(in); v.opt.Deep && target != nil {
		sum, err := deepMD5(ctx, v.src, f, v.opt.MaxFileBytes, target.Digest)
		if err != nil {
			return v.unverified(ctx, in, "download", target.ID, err)
		}
		v.failed = 0
		in.DeepMD5 = sum
	}
	verdict := Classify(in)
	v.rows[f.ID] = row(in, verdict)
	delete(v.inputs, f.ID)
	if verdict.Status.Problem() {
		v.inputs[f.ID] = in
	}
	return nil
}

// unverified makes the row of a file that could not be checked; too many
// in a row stop the run, as the world is failing, not the files.
func (v *verifier) unverified(ctx context.Context, in Input, what, coreDataID string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	v.failed++
	v.rows[in.Record.ID] = row(in, Verdict{Status: StatusUnverified, Reason: what + ": " + err.Error(), CoreDataID: coreDataID})
	delete(v.inputs, in.Record.ID)
	if v.failed >= maxFailuresInARow {
		return fmt.Errorf("%d checks in a row failed, the last of file %d (%s): %w", v.failed, in.Record.ID, what, err)
	}
	return nil
}

// findMapped sets in.Mapped when the mapped file is not among the tagged
// ones: listed under a configured parent without its tag, or else read by
// id (re-filed outside them, or deleted). Only such files cost a request.
func (v *verifier) findMapped(ctx context.Context, in *Input) error {
	in.Mapped = nil
	id := in.Mapping.CoreDataID
	for _, f := range in.Tagged {
		if f.ID == id {
			return nil
		}
	}
	if f, ok := v.ix.untagged[id]; ok {
		in.Mapped = &f
		return nil
	}
	f, err := v.cd.GetFile(ctx, id)
	switch {
	case errors.Is(err, coredata.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	v.failed = 0
	in.Mapped = f
	return nil
}

// compared is the CoreData file a -deep download is compared with.
func compared(in Input) *coredata.File {
	if in.Mapping != nil {
		if f := mappedFile(in); f != nil {
			return f
		}
	}
	if len(in.Tagged) == 1 {
		return &in.Tagged[0]
	}
	return nil
}

// mappedIDs are the CoreData ids the state file maps.
func (v *verifier) mappedIDs() map[string]bool {
	ids := make(map[string]bool, len(v.before))
	for _, m := range v.before {
		ids[m.CoreDataID] = true
	}
	return ids
}

// drop forgets an earlier row of a record seen again.
func (v *verifier) drop(id int64) {
	delete(v.rows, id)
	delete(v.inputs, id)
}

// badRecord is a list record that did not decode: it cannot be checked,
// and its Id (when readable) must not make its CoreData file an orphan.
func (v *verifier) badRecord(b nexudus.BadRecord) {
	r := Row{NexudusID: b.ID, Status: StatusUnverified, CoreDataIDs: []string{}, Reason: "unreadable Nexudus record: " + b.Err.Error()}
	if b.ID == 0 {
		v.badNoID = append(v.badNoID, r)
		return
	}
	v.bad[b.ID] = r
}

// secondLook reads the state file again and checks each problem row with
// its new mapping, if it changed: a daemon that mirrored the file while
// verify ran is not a problem. A row stays a problem only when it is one
// with both mappings.
func (v *verifier) secondLook(ctx context.Context) error {
	if len(v.inputs) == 0 {
		return nil
	}
	after, err := v.mappings(ctx)
	if err != nil {
		return err
	}
	for id, in := range v.inputs {
		m, ok := after[id]
		if (in.Mapping == nil && !ok) || (in.Mapping != nil && ok && *in.Mapping == m) {
			continue
		}
		in.Mapping = nil
		if ok {
			in.Mapping = &m
			if err := v.findMapped(ctx, &in); err != nil {
				continue // the first look's row stands
			}
		}
		if verdict := Classify(in); !verdict.Status.Problem() {
			verdict.Reason = joinReason("syncd mirrored it while verify ran", verdict.Reason)
			v.rows[id] = row(in, verdict)
			delete(v.inputs, id)
		}
	}
	return nil
}

// orphans adds a row for each tagged CoreData file whose Nexudus file was
// not listed, when the listing covered all of Nexudus.
func (v *verifier) orphans(seen *syncer.WalkSeen) {
	if !v.rep.OrphansChecked {
		return
	}
	for id, files := range v.ix.tagged {
		if seen.Has(id) {
			continue
		}
		if _, ok := v.bad[id]; ok {
			continue
		}
		var m *state.Mapping
		if mm, ok := v.before[id]; ok {
			m = &mm
		}
		for _, f := range files {
			v.rep.Rows = append(v.rep.Rows, orphanRow(id, f, m))
		}
	}
}

func (v *verifier) finish() {
	for _, r := range v.rows {
		v.rep.Rows = append(v.rep.Rows, r)
	}
	for _, r := range v.bad {
		v.rep.Rows = append(v.rep.Rows, r)
	}
	v.rep.Rows = append(v.rep.Rows, v.badNoID...)
	sort.SliceStable(v.rep.Rows, func(i, j int) bool {
		a, b := v.rep.Rows[i], v.rep.Rows[j]
		if a.NexudusID != b.NexudusID {
			return a.NexudusID < b.NexudusID
		}
		return a.CoreDataID < b.CoreDataID
	})
	for _, r := range v.rep.Rows {
		v.rep.Counts[r.Status]++
	}
}

func joinReason(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}
