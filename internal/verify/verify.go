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
// it lists CoreData (to tell later which ones a daemon wrote meanwhile),
// and at the end the mappings of each batch of records it judges; each
// call should hold the state file only for the read.
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

// checked is what the walk keeps of a listed record to judge it at the
// end: the fields a verdict and a download read.
type checked struct {
	business  int64
	updatedOn time.Time
	// signedName is the record's SignedFileDataFileName, kept with -deep
	// only: a download asks for the signed copy when there is one.
	signedName string
}

func (c checked) record(id int64) nexudus.File {
	return nexudus.File{ID: id, BusinessID: c.business, UpdatedOn: nexudus.Time{Time: c.updatedOn}, Signed: true, SignedFileDataFileName: c.signedName}
}

type verifier struct {
	src  Source
	cd   Lister
	st   MappingReader
	opt  Options
	log  *zap.Logger
	only map[int64]bool // opt.Businesses as a set; nil: all

	before  *recordings
	ix      *index
	checked map[int64]checked // the listed records to judge, by Id
	bad     map[int64]Row
	// extra are the rows not of a listed record: texts, registers, and
	// unreadable records without an Id.
	extra   []Row
	badNoID []Row
	rep     *Report
	done    int
	total   int // the listing's size, for Progress
	failed  int // downloads or reads by id failed in a row
}

// Run audits every signed Nexudus file (since opt.From) against CoreData
// and the state file. It writes nothing anywhere. A listing that fails,
// or a state file that cannot be read, is an error; a file that cannot
// be checked is a row of its own (unverified).
//
// It reads the mappings, lists CoreData, then walks Nexudus keeping a few
// fields of each record, and judges the records in batches of Ids at the
// end: memory holds ids and what a verdict reads, never whole records.
func Run(ctx context.Context, src Source, cd Lister, st MappingReader, opt Options) (*Report, error) {
	if opt.ParentFor == nil {
		return nil, errors.New("verify: run: no ParentFor given")
	}
	v := &verifier{src: src, cd: cd, st: st, opt: opt, log: opt.Logger, checked: map[int64]checked{}, bad: map[int64]Row{},
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
		v.file(f)
		if !v.opt.Deep { // with -deep the downloads at the end are the work
			v.progress(max(p.total, v.done+1))
		}
		return nil
	}, v.badRecord); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	v.rep.Listed = p.seen.Len()
	if !v.opt.Deep {
		v.progressEnd()
	}
	if err := v.verifyLegal(ctx); err != nil {
		return nil, err
	}
	if err := v.emit(ctx, p.seen); err != nil {
		return nil, err
	}
	return v.rep, nil
}

// progress counts one file done out of total.
func (v *verifier) progress(total int) {
	v.done++
	if v.opt.Progress != nil {
		v.opt.Progress(v.done, max(total, v.done))
	}
}

// progressEnd says the end, whatever the listing's first total said.
func (v *verifier) progressEnd() {
	if v.opt.Progress != nil {
		v.opt.Progress(v.done, v.done)
	}
}

// file keeps what the verdict needs of one listed record, or counts it
// skipped. A record listed again (updated while verify ran) replaces its
// earlier self.
func (v *verifier) file(f nexudus.File) {
	delete(v.bad, f.ID)
	delete(v.checked, f.ID)
	if v.only != nil && !v.only[f.BusinessID] {
		v.rep.OtherLocations++
		return
	}
	if _, ok := v.opt.ParentFor(f.BusinessID); !ok {
		v.rep.Skipped++
		return
	}
	c := checked{business: f.BusinessID, updatedOn: f.UpdatedOn.Time}
	if v.opt.Deep {
		c.signedName = f.SignedFileDataFileName
	}
	v.checked[f.ID] = c
}

// unverifiable makes the row of a file that could not be checked; too
// many in a row stop the run, as the world is failing, not the files.
func (v *verifier) unverifiable(ctx context.Context, in Input, what, coreDataID string, err error) (Row, error) {
	if ctx.Err() != nil {
		return Row{}, ctx.Err()
	}
	v.failed++
	r := row(in, Verdict{Status: StatusUnverified, Reason: what + ": " + err.Error(), CoreDataID: coreDataID})
	if v.failed >= maxFailuresInARow {
		return r, fmt.Errorf("verify: %d checks in a row failed, the last of file %d (%s): %w", v.failed, in.Record.ID, what, err)
	}
	return r, nil
}

// findMapped sets in.Mapped when the mapped file is not among the tagged
// ones: listed under a configured parent without its tag, or else read by
// id (re-filed outside them, or deleted); read reports the latter. Only
// such files cost a request.
func (v *verifier) findMapped(ctx context.Context, in *Input) (read bool, err error) {
	in.Mapped = nil
	id := in.Mapping.CoreDataID
	for _, f := range in.Tagged {
		if f.ID == id {
			return false, nil
		}
	}
	if f, ok := v.ix.untagged[id]; ok {
		file := f.file()
		in.Mapped = &file
		return false, nil
	}
	f, err := v.cd.GetFile(ctx, id)
	switch {
	case errors.Is(err, coredata.ErrNotFound):
		v.failed = 0
		return true, nil
	case err != nil:
		return true, err
	}
	v.failed = 0
	in.Mapped = f
	return true, nil
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
