// Package sync is the engine of syncd: it walks Nexudus for signed files,
// mirrors each into CoreData exactly once, and records what it did in the
// state store so that runs are idempotent and crash-safe.
//
// The engine declares the small interfaces it consumes (Source, Sink,
// Store); the clients and the store are concrete types elsewhere.
package sync

import (
	"context"
	"errors"
	"io"
	gosync "sync"
	"text/template"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// Source is the Nexudus side: where signed files come from.
type Source interface {
	ListPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.Page, error)
	Get(ctx context.Context, id int64) (*nexudus.File, error)
	Download(ctx context.Context, f nexudus.File) (*nexudus.Download, error)
}

// Sink is the CoreData side: where they go.
type Sink interface {
	RequestBlob(ctx context.Context, contentType string, length int64) (coredata.Blob, error)
	PutBlob(ctx context.Context, b coredata.Blob, body io.Reader, length int64, contentType, filename string) error
	CreateFile(ctx context.Context, f coredata.NewFile) (string, error)
	UpdateContent(ctx context.Context, id, blobName, md5hex, snapshotID, filename string) (coredata.ContentVersion, error)
	GetFile(ctx context.Context, id string) (*coredata.File, error)
	ListFiles(ctx context.Context, parent, title string) ([]coredata.File, error)
	// EachFile is ListFiles one file at a time: the audit keeps a few
	// fields of each file, not every File of the tenant.
	EachFile(ctx context.Context, parent, title string, fn func(coredata.File) error) error
	UpdateMetadata(ctx context.Context, id string, m coredata.Metadata) error
}

// The state file, in the roles the engine uses; *state.Store plays all of
// them.

// Mappings records which CoreData file mirrors which Nexudus file, with
// which bytes.
type Mappings interface {
	Mapping(id int64) (state.Mapping, bool, error)
	MappingsFor(ids []int64) (map[int64]state.Mapping, error)
	PutMapping(m state.Mapping) error
	Owner(coreDataID string) (int64, bool, error)
	Forget(id int64) error
}

// Intents records the creates in flight (guarantee 1).
type Intents interface {
	PutIntent(in state.Intent) error
	Intent(id int64) (state.Intent, bool, error)
	DeleteIntent(id int64) error
	Intents() ([]state.Intent, error)
}

// FailureRecords records the files that failed, their backoff and their
// parking. The engine binds its policy (max_attempts, the backoffs) once,
// in New; no other code passes it.
type FailureRecords interface {
	Failure(id int64) (state.Failure, bool, error)
	Failures() ([]state.Failure, error)
	ClearFailure(id int64) error
	RecordFailure(id int64, updatedOn time.Time, msg string, now time.Time, maxAttempts int, backoff func(attempts int) time.Duration) (state.Failure, error)
	PutMappingWithFailure(m state.Mapping, updatedOn time.Time, msg string, now time.Time, maxAttempts int, backoff func(attempts int) time.Duration) (state.Failure, error)
	RecordUnavailable(id int64, updatedOn time.Time, msg string, now time.Time, backoff func(n int) time.Duration) (state.Failure, error)
}

// Cursors records how far each location, and a backfill, has been read.
type Cursors interface {
	Cursor(key string) (time.Time, bool, error)
	SetCursor(key string, t time.Time) error
	Backfill() (state.BackfillMark, bool, error)
	SetBackfill(m state.BackfillMark) error
	ClearBackfill() error
}

// AuditRecords records what the daemon's audit found, and the files it
// followed to where a person put them.
type AuditRecords interface {
	EachMapping(batch int, fn func(state.Mapping) error) error
	PutAuditResult(sum state.AuditSummary, findings map[int64]state.AuditFinding, checked func(id int64) bool) error
	LastAudit() (sum state.AuditSummary, ok bool, err error)
	Follow(m state.Mapping, f state.Followed) error
	IsFollowed(id int64) (bool, error)
	FollowedParents() ([]string, error)
	RecreateIntent(in state.Intent) error
}

// Store is every role at once, plus the counts behind the gauges.
type Store interface {
	Mappings
	Intents
	FailureRecords
	Cursors
	AuditRecords
	LegalRecords
	Counts() (mapped, parked, failing, intents int, err error)
}

// Options configures an Engine. Zero values take the defaults of configs/syncd.example.yaml.
type Options struct {
	// ParentFor maps a Nexudus location to its CoreData parent; false
	// means the location is not mirrored (skipped and counted).
	ParentFor func(business int64) (string, bool)
	// Businesses limits polling to these locations; empty polls all.
	Businesses []int64
	// Parents are every CoreData parent configured (default included):
	// a state file with no cursor adopts the tagged files under them.
	Parents  []string
	Title    *template.Template
	Tags     []string // configured tags, added to the nexudus-* ones
	Dynatype string
	Lookback time.Duration
	// Concurrency bounds files in flight at once (default 4).
	Concurrency int
	MaxAttempts int                              // then the file is parked (default 5)
	Backoff     func(attempts int) time.Duration // per-file retry delay (default exponential from 1m, capped 6h)
	// UnavailableBackoff is the delay before a file that failed through
	// nobody's fault is tried again (default exponential from 1m, capped
	// 30m): an outage parks nothing, and its files come back soon after it.
	UnavailableBackoff func(n int) time.Duration
	// OutageAfter is how many failures of the world in a row stop a poll
	// early (default DefaultOutageAfter).
	OutageAfter int
	// MaxFileBytes is the size cap; a larger file is parked at once.
	MaxFileBytes int64
	TempDir      string // where downloads are spooled; default os.TempDir()
	DryRun       bool
	// AbortContext, when done, abandons files in flight. Cancelling the
	// ctx given to Poll only stops new work from starting, so a graceful
	// stop lets in-flight files finish until AbortContext is cancelled.
	AbortContext context.Context
	Now          func() time.Time
	Logger       *zap.Logger
	Metrics      *Metrics
	// Legal turns terms acceptances on (legal.enabled).
	Legal LegalOptions
}

// Engine mirrors signed Nexudus files into CoreData. It is safe for one
// poll at a time; the caller (the scheduler) never overlaps polls.
type Engine struct {
	// answers counts each API's answers, for the outage streaks.
	answers  *answers
	src      Source
	sink     Sink
	mappings Mappings
	intents  Intents
	fails    failureBook
	cursors  Cursors
	audits   AuditRecords
	legal    LegalRecords
	counts   func() (mapped, parked, failing, intents int, err error)
	opt      Options
	log      *zap.Logger
	m        *Metrics

	locks  keyedMutex
	future futureLog
}

// ErrConfig reports an Engine built without a required option.
var ErrConfig = errors.New("sync: invalid options")

// New builds an Engine.
func New(src Source, sink Sink, store Store, opt Options) (*Engine, error) {
	if src == nil || sink == nil || store == nil {
		return nil, errors.Join(ErrConfig, errors.New("source, sink and store are required"))
	}
	if opt.ParentFor == nil {
		return nil, errors.Join(ErrConfig, errors.New("ParentFor is required"))
	}
	if opt.Title == nil {
		opt.Title = template.Must(ParseTitle(DefaultTitle))
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = DefaultConcurrency
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = DefaultMaxAttempts
	}
	if opt.Backoff == nil {
		opt.Backoff = DefaultBackoff
	}
	if opt.UnavailableBackoff == nil {
		opt.UnavailableBackoff = DefaultUnavailableBackoff
	}
	if opt.OutageAfter <= 0 {
		opt.OutageAfter = DefaultOutageAfter
	}
	if opt.AbortContext == nil {
		opt.AbortContext = context.Background()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = zap.NewNop()
	}
	if opt.Legal.Source != nil {
		opt.Metrics.enableLegal()
	}
	ans := &answers{}
	return &Engine{
		answers: ans, src: nexudusSide{src, ans}, sink: coreDataSide{sink, ans},
		mappings: store, intents: store, cursors: store, audits: store, legal: store, counts: store.Counts,
		fails: failureBook{FailureRecords: store, maxAttempts: opt.MaxAttempts, backoff: opt.Backoff, unavailableBackoff: opt.UnavailableBackoff},
		opt:   opt, log: opt.Logger, m: opt.Metrics,
	}, nil
}

// Defaults for the engine; the configuration takes its
// defaults from here.
const (
	DefaultConcurrency = 4
	DefaultMaxAttempts = 5
	DefaultLookback    = 24 * time.Hour
)

// DefaultBackoff doubles from one minute per failed attempt, capped at six
// hours: a transient fault clears quickly, a lasting one costs little.
func DefaultBackoff(attempts int) time.Duration {
	d := time.Minute
	for i := 1; i < attempts && d < 6*time.Hour; i++ {
		d *= 2
	}
	if d > 6*time.Hour {
		d = 6 * time.Hour
	}
	return d
}

// DefaultUnavailableBackoff doubles from one minute, capped at 30 minutes:
// a file caught by an outage is tried again within half an hour of its end.
func DefaultUnavailableBackoff(n int) time.Duration {
	d := time.Minute
	for i := 1; i < n && d < 30*time.Minute; i++ {
		d *= 2
	}
	return min(d, 30*time.Minute)
}

// keyedMutex serializes work on one Nexudus file: a record seen twice in a
// poll (it changed while the poll ran) must not be created twice at once.
type keyedMutex struct {
	mu    gosync.Mutex
	locks map[int64]*keyedEntry
}

type keyedEntry struct {
	mu   gosync.Mutex
	refs int
}

func (k *keyedMutex) lock(id int64) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[int64]*keyedEntry)
	}
	e := k.locks[id]
	if e == nil {
		e = &keyedEntry{}
		k.locks[id] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.locks, id)
		}
		k.mu.Unlock()
	}
}
