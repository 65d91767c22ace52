package verify

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

// Source is the Nexudus side: list pages and downloads. The client's rate
// limiters apply to both; verify never goes around them.
type Source interface {
	ListPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.Page, error)
	Download(ctx context.Context, f nexudus.File) (*nexudus.Download, error)
}

// Lister is the CoreData side: every file under a parent, a page at a
// time, and a mapped file that is not under them read by id (a person
// re-filed it, or deleted it: coredata.ErrNotFound).
type Lister interface {
	EachFile(ctx context.Context, parent, title string, fn func(coredata.File) error) error
	GetFile(ctx context.Context, id string) (*coredata.File, error)
}

// MappingReader reads what syncd recorded. Run reads every mapping before
// its walk and those of the problem rows after it, so that a daemon
// mirroring a file meanwhile is not reported as a problem; each call
// should hold the state file only for the read.
type MappingReader interface {
	// EachMapping calls fn for every mapping, in Nexudus id order.
	EachMapping(ctx context.Context, fn func(state.Mapping) error) error
	// MappingsFor reads the mappings of ids; ids without one are absent.
	MappingsFor(ctx context.Context, ids []int64) (map[int64]state.Mapping, error)
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
	// Row, when set, is handed every row at the end of the run: every
	// verified Nexudus file, every orphan, every text and register, by
	// Nexudus Id. Rows are not kept: at 100,000 files they would be most
	// of verify's memory. An error from it stops the run.
	Row func(Row) error
}

// maxFailuresInARow stops a run when Nexudus keeps failing downloads (or
// CoreData reads by id): each file would otherwise wait out the client's
// retries.
const maxFailuresInARow = 5

// Report is what Run found.
type Report struct {
	// NotOK holds every row whose status is not ok (problems and
	// orphans), by Nexudus Id: the table's lines. Options.Row gets all.
	NotOK  []Row
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
func (r *Report) OK() bool { return r.Problems() == 0 }

// Problems counts the rows that make verify exit 1.
func (r *Report) Problems() int {
	n := 0
	for s, c := range r.Counts {
		if s.Problem() {
			n += c
		}
	}
	return n
}

// checked is what the walk keeps of a listed record it looked at: the
// fields a verdict reads, and what the walk learnt by a request.
type checked struct {
	business  int64
	updatedOn time.Time
	deepMD5   string
}

func (c checked) record(id int64) nexudus.File {
	return nexudus.File{ID: id, BusinessID: c.business, UpdatedOn: nexudus.Time{Time: c.updatedOn}, Signed: true}
}

type verifier struct {
	src  Source
	cd   Lister
	st   MappingReader
	opt  Options
	log  *zap.Logger
	only map[int64]bool // opt.Businesses as a set; nil: all

	before *recordings
	ix     *index
	// checked are the records judged at the end; unverified those that
	// could not be checked, as rows.
	checked    map[int64]checked
	unverified map[int64]Row
	// readByID are the mapped files read by id during the walk (nil: 404).
	readByID map[int64]*listedFile
	bad      map[int64]Row
	// extra are the rows not of a listed record: unreadable records
	// without an Id, texts and registers.
	extra   []Row
	badNoID []Row
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
		checked: map[int64]checked{}, unverified: map[int64]Row{}, readByID: map[int64]*listedFile{}, bad: map[int64]Row{},
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
	if v.before, err = readRecordings(ctx, st); err != nil {
		return nil, err
	}
	v.ix, err = listCoreData(ctx, cd, opt.Parents, v.before.maps, func(parent string, files int) {
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
	if err := v.verifyLegal(ctx); err != nil {
		return nil, err
	}
	if err := v.emit(ctx, p.seen); err != nil {
		return nil, err
	}
	return v.rep, nil
}

// file looks at one listed record: it skips it, or does what needs a
// request now (a read by id, a -deep download) and keeps the rest for
// the verdict at the end.
func (v *verifier) file(ctx context.Context, f nexudus.File) error {
	delete(v.bad, f.ID)
	v.drop(f.ID)
	if v.only != nil && !v.only[f.BusinessID] {
		v.rep.OtherLocations++
		return nil
	}
	if _, ok := v.opt.ParentFor(f.BusinessID); !ok {
		v.rep.Skipped++
		return nil
	}
	in := Input{Record: f, Tagged: v.ix.files(f.ID)}
	if m, ok := v.before.get(f.ID); ok {
		in.Mapping = &m
		if err := v.findMapped(ctx, &in); err != nil {
			return v.unverifiable(ctx, in, "read CoreData file "+m.CoreDataID, m.CoreDataID, err)
		}
		if v.needsRead(in) {
			v.rememberRead(f.ID, in.Mapped)
		}
	}
	c := checked{business: f.BusinessID, updatedOn: f.UpdatedOn.Time}
	if target := compared(in); v.opt.Deep && target != nil {
		sum, err := deepMD5(ctx, v.src, f, v.opt.MaxFileBytes, target.Digest)
		if err != nil {
			return v.unverifiable(ctx, in, "download", target.ID, err)
		}
		v.failed = 0
		c.deepMD5 = sum
	}
	v.checked[f.ID] = c
	return nil
}

// unverifiable makes the row of a file that could not be checked; too
// many in a row stop the run, as the world is failing, not the files.
func (v *verifier) unverifiable(ctx context.Context, in Input, what, coreDataID string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	v.failed++
	v.unverified[in.Record.ID] = row(in, Verdict{Status: StatusUnverified, Reason: what + ": " + err.Error(), CoreDataID: coreDataID})
	if v.failed >= maxFailuresInARow {
		return fmt.Errorf("%d checks in a row failed, the last of file %d (%s): %w", v.failed, in.Record.ID, what, err)
	}
	return nil
}

// needsRead reports whether the mapped file is neither among the tagged
// ones nor listed untagged: findMapped read it by id.
func (v *verifier) needsRead(in Input) bool {
	id := in.Mapping.CoreDataID
	for _, f := range in.Tagged {
		if f.ID == id {
			return false
		}
	}
	_, listed := v.ix.untagged[id]
	return !listed
}

func (v *verifier) rememberRead(id int64, f *coredata.File) {
	if f == nil {
		v.readByID[id] = nil
		return
	}
	kept := keep(*f, id, v.ix.intern)
	kept.created = ""
	v.readByID[id] = &kept
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
		file := f.file()
		in.Mapped = &file
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

// drop forgets what the walk kept of a record seen again.
func (v *verifier) drop(id int64) {
	delete(v.checked, id)
	delete(v.unverified, id)
	delete(v.readByID, id)
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

func joinReason(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}
