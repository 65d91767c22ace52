// Package state is syncd's crash-safe record of what has been mirrored: one
// bbolt file holding, per Nexudus file, its CoreData mapping and digest, the
// creates in flight, the failures with their backoff, and the poll cursors.
//
// Every change that touches more than one bucket is a single bbolt
// transaction, so a crash or a failed write (disk full, read-only file) never
// leaves a half-recorded file behind.
package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultTimeout is how long Open waits for another process to release the
// file lock before it gives up with ErrLocked.
const DefaultTimeout = 2 * time.Second

var (
	// ErrLocked means another process (usually the running daemon) holds the
	// state file. The CLI maps it to exit code 3.
	ErrLocked = errors.New("locked by another process")
	// ErrNotFound means the Nexudus id is in none of the buckets asked about.
	ErrNotFound = errors.New("not found")
	// ErrSchemaTooNew means the file was written by a newer syncd; it is
	// refused untouched so that a downgrade cannot corrupt it.
	ErrSchemaTooNew = errors.New("schema too new")
	// ErrSchemaOutdated means a read-only open found a file that needs a
	// migration, which only a read-write open may run.
	ErrSchemaOutdated = errors.New("schema outdated")
	// ErrOwned means the CoreData file is already mapped to another Nexudus
	// file: two Nexudus files must never share one CoreData file.
	ErrOwned = errors.New("coredata file owned by another nexudus file")
	// ErrInvalid means the caller passed a value that cannot be stored
	// (a non-positive id, an empty CoreData id).
	ErrInvalid = errors.New("invalid value")
)

// Bucket names. They are part of the file format: renaming one needs a
// migration.
var (
	bucketFiles    = []byte("files")    // Nexudus id -> Mapping
	bucketIntents  = []byte("intents")  // Nexudus id -> Intent (create in flight)
	bucketFailures = []byte("failures") // Nexudus id -> Failure (backing off)
	bucketParked   = []byte("parked")   // Nexudus id -> Failure (max attempts reached)
	bucketOwners   = []byte("owners")   // CoreData id -> Nexudus id (ids of other forms than UUIDs, owners.go)
	// CoreData id as a packed UUID -> Nexudus id (schema 3 on, owners.go)
	bucketOwnerUUIDs = []byte("owner_uuids")
	bucketMeta       = []byte("meta")     // schema version, cursors, last audit
	bucketAudit      = []byte("audit")    // Nexudus id -> AuditFinding (last audit's problems)
	bucketFollowed   = []byte("followed") // Nexudus id -> Followed (re-filed by a person)

	// Terms acceptances (legal.go).
	bucketLegalFiles    = []byte("legal_files")    // tag -> LegalFile (a text or a register)
	bucketLegalIntents  = []byte("legal_intents")  // tag -> LegalIntent (create in flight)
	bucketLegalRows     = []byte("legal_rows")     // location|month|acceptance id -> AcceptanceRow
	bucketLegalIndex    = []byte("legal_index")    // acceptance id -> location|month of its row
	bucketLegalMonths   = []byte("legal_months")   // location|month -> LegalMonth
	bucketLegalFailures = []byte("legal_failures") // tag -> LegalFailure (a text's or register's own failure)

	allBuckets = [][]byte{bucketFiles, bucketIntents, bucketFailures, bucketParked, bucketOwners, bucketOwnerUUIDs, bucketMeta, bucketAudit, bucketFollowed,
		bucketLegalFiles, bucketLegalIntents, bucketLegalRows, bucketLegalIndex, bucketLegalMonths, bucketLegalFailures}
)

// Options tune Open. The zero value is what the daemon uses.
type Options struct {
	// Timeout bounds the wait for the file lock; zero or negative means
	// DefaultTimeout (bbolt itself would wait forever).
	Timeout time.Duration
	// ReadOnly takes a shared lock and never writes: no bucket creation, no
	// migration. The file must exist.
	ReadOnly bool
	// NoSync skips fsync on commit. Tests and benchmarks only: a crash may
	// lose or corrupt the file.
	NoSync bool
	// MaxSize caps the file size in bytes (0: no cap). A commit that would
	// grow past it fails, which lets tests simulate a full disk.
	MaxSize int

	// openFile replaces os.OpenFile; tests use it to hand bbolt a file
	// descriptor that cannot be written.
	openFile func(string, int, os.FileMode) (*os.File, error)
}

// Store is an open state file. Its methods are safe for concurrent use.
type Store struct {
	db       *bolt.DB
	path     string
	readOnly bool
}

// Open opens (and, unless read-only, creates and migrates) the state file.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("state: open: empty path: %w", ErrInvalid)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if opts.ReadOnly {
		// bbolt would report a bare ENOENT; say why nothing was created.
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("state: open %s: read-only open of a missing file: %w", path, fs.ErrNotExist)
		}
	} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:  timeout,
		ReadOnly: opts.ReadOnly,
		NoSync:   opts.NoSync,
		MaxSize:  opts.MaxSize,
		OpenFile: opts.openFile,
		// A commit no longer writes the whole freelist (pages of it in a
		// large file) next to the few pages it changed; an open rebuilds
		// the freelist by walking the file instead. The map freelist
		// allocates in constant time where the array one scans. etcd
		// runs bbolt this way. Files stay readable by any bbolt.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("state: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, readOnly: opts.ReadOnly}
	if err := s.prepare(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	return s, nil
}

// Close releases the file and its lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("state: close %s: %w", s.path, err)
	}
	return nil
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// ReadOnly reports whether the store was opened with Options.ReadOnly.
func (s *Store) ReadOnly() bool { return s.readOnly }

// update runs fn in one write transaction and wraps its error as
// "state: <op> <id>: ..." (without the id when id is nil).
func (s *Store) update(op string, id any, fn func(tx *bolt.Tx) error) error {
	return wrap(op, id, s.db.Update(fn))
}

// view is update's read-only twin.
func (s *Store) view(op string, id any, fn func(tx *bolt.Tx) error) error {
	return wrap(op, id, s.db.View(fn))
}

func wrap(op string, id any, err error) error {
	if err == nil {
		return nil // before ce, which escapes: a read that succeeds allocates nothing here
	}
	var ce *CorruptError
	switch {
	case errors.As(err, &ce):
		// Already names the record; another prefix would only repeat it.
		return err
	case id == nil:
		return fmt.Errorf("state: %s: %w", op, err)
	default:
		return fmt.Errorf("state: %s %v: %w", op, id, err)
	}
}
