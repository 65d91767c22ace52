package state

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Mapping records that a Nexudus file is mirrored in a CoreData file, and
// which bytes: a later poll uploads only when the md5 differs.
type Mapping struct {
	NexudusID  int64     `json:"nexudus_id"`
	CoreDataID string    `json:"coredata_id"`
	MD5        string    `json:"md5"`
	Size       int64     `json:"size"`
	UpdatedOn  time.Time `json:"updated_on"` // Nexudus UpdatedOn of the record mirrored
	SnapshotID string    `json:"snapshot_id"`
	Title      string    `json:"title"`
	Parent     string    `json:"parent"`
	Filename   string    `json:"filename"`
	SyncedAt   time.Time `json:"synced_at"`
}

// Mapping returns the mapping of a Nexudus file; ok is false when it has none.
//
// A poll reads one mapping per record it lists, so this read allocates
// little: the id is boxed for an error only.
func (s *Store) Mapping(id int64) (m Mapping, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := get(tx, bucketFiles, idKey(id))
		if v == nil {
			return nil
		}
		m, err = decodeMapping(id, v)
		ok = err == nil
		return err
	})
	if err != nil {
		return Mapping{}, false, wrap("mapping", id, err)
	}
	return m, ok, nil
}

// MappingsFor reads the mappings of several files in one transaction (a
// list page's worth): a poll over many unchanged records pays for one
// transaction a page instead of one a record. Files without a mapping are
// absent from the map.
func (s *Store) MappingsFor(ids []int64) (map[int64]Mapping, error) {
	out := make(map[int64]Mapping, len(ids))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFiles)
		for _, id := range ids {
			v := b.Get(idKey(id))
			if v == nil {
				continue
			}
			m, err := decodeMapping(id, v)
			if err != nil {
				return err
			}
			out[id] = m
		}
		return nil
	})
	if err != nil {
		return nil, wrap("mappings", nil, err)
	}
	return out, nil
}

// PutMapping records a file as mirrored. In the same transaction it claims
// the CoreData id in the owners index (releasing the previous one if the
// mapping moved), and drops the file's intent and failure records: the create
// and the failure are over once the mapping exists.
func (s *Store) PutMapping(m Mapping) error {
	if err := checkMapping(&m); err != nil {
		return wrap("put mapping", m.NexudusID, err)
	}
	return s.update("put mapping", m.NexudusID, func(tx *bolt.Tx) error {
		return putMappingTx(tx, m, true)
	})
}

// PutMappings writes many mappings as PutMapping writes each (owners
// index, ErrOwned, intent and failure records ended), in one transaction:
// one fsync for the lot instead of one each, which is what `state rebuild`
// of a large tenant needs (callers batch, say, 1,000 at a time).
//
// A mapping that PutMapping would refuse (ErrInvalid, ErrOwned) is
// refused alone: refused[i] holds its error, and the others are written.
// Any other error fails the whole transaction, and then nothing of ms is
// written. A mapping later in ms overrides an earlier one of the same
// Nexudus id, as with successive PutMapping calls.
func (s *Store) PutMappings(ms []Mapping) (refused []error, err error) {
	if len(ms) == 0 {
		return nil, nil
	}
	checked := make([]Mapping, len(ms))
	refused = make([]error, len(ms))
	for i, m := range ms {
		if err := checkMapping(&m); err != nil {
			refused[i] = wrap("put mapping", m.NexudusID, err)
		}
		checked[i] = m
	}
	err = s.update("put mappings", nil, func(tx *bolt.Tx) error {
		for i, m := range checked {
			if refused[i] != nil {
				continue // invalid
			}
			err := putMappingTx(tx, m, true)
			if errors.Is(err, ErrOwned) {
				// putMappingTx refuses before it writes anything.
				refused[i] = wrap("put mapping", m.NexudusID, err)
				continue
			}
			if err != nil {
				return fmt.Errorf("mapping %d: %w", m.NexudusID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return refused, nil
}

// checkMapping validates and normalizes a mapping before it is written.
func checkMapping(m *Mapping) error {
	if err := checkID(m.NexudusID); err != nil {
		return err
	}
	if m.CoreDataID == "" {
		return fmt.Errorf("%w: empty coredata id", ErrInvalid)
	}
	m.UpdatedOn = utc(m.UpdatedOn)
	m.SyncedAt = utc(m.SyncedAt)
	for _, t := range []time.Time{m.UpdatedOn, m.SyncedAt} {
		// What `state ls -json` could not print (JSON writes years 0 to
		// 9999 only) is not stored.
		if y := t.Year(); y < 0 || y > 9999 {
			return fmt.Errorf("%w: time %s outside years 0 to 9999", ErrInvalid, t)
		}
	}
	return nil
}

// filesFillPercent is how full bbolt fills a page of the files bucket
// when it splits one (its default: 0.5). Nexudus ids grow, so new files
// are appended at the end of the bucket, in key order, and what a split
// leaves on the left page is never written to again but for a rewrite of
// its mappings: at 0.5 every page stays half empty. The slack left is for
// those rewrites, which may grow a mapping: the first poll after `state
// rebuild` adds both times to every mapping (17 bytes in about 170), and
// a page whose mappings all grew by that still fits at 0.9; above it,
// each grown page splits off a near-empty one. Measured at 100,000
// mappings (BenchmarkStateFileBytesPerMapping, size_test.go): after
// rebuild and poll, leaves 97% full at 0.9, 51% at 0.95, 54% at 1.0, 51%
// at 0.5; mirrored one PutMapping at a time, 88% at 0.9 and above (a
// split keeps at least three keys on its right page), 47% at 0.5.
const filesFillPercent = 0.9

// filesBucket is the files bucket of a write transaction, set to split
// its pages at filesFillPercent (a bucket's FillPercent lasts one
// transaction).
func filesBucket(tx *bolt.Tx) *bolt.Bucket {
	b := tx.Bucket(bucketFiles)
	b.FillPercent = filesFillPercent
	return b
}

// putMappingTx writes m and claims its CoreData id; with clearFailure it
// also ends the file's failure record (the file is mirrored).
func putMappingTx(tx *bolt.Tx, m Mapping, clearFailure bool) error {
	key := idKey(m.NexudusID)
	owner, owned, err := lookupOwner(tx, m.CoreDataID)
	if err != nil {
		return err
	}
	if owned && owner != m.NexudusID {
		return fmt.Errorf("coredata file %s already mirrors nexudus file %d: %w", m.CoreDataID, owner, ErrOwned)
	}
	files := filesBucket(tx)
	if v := files.Get(key); v != nil {
		old, err := decodeMapping(m.NexudusID, v)
		switch {
		case err != nil:
			// Overwriting a corrupt record repairs it; its CoreData id
			// is unknown, so find the owner entries by value (which may
			// drop m's own).
			if err := releaseOwnerScan(tx, m.NexudusID); err != nil {
				return err
			}
			owned = false
		case old.CoreDataID != m.CoreDataID:
			if err := releaseOwner(tx, old.CoreDataID, m.NexudusID); err != nil {
				return err
			}
		}
	}
	if err := files.Put(key, encodeMapping(&m)); err != nil {
		return err
	}
	if !owned {
		// An entry that already says so is not written again: a poll
		// rewriting a mapping dirties one page of the owners less.
		if err := putOwner(tx, m.CoreDataID, m.NexudusID); err != nil {
			return err
		}
	}
	drop := [][]byte{bucketIntents}
	if clearFailure {
		drop = append(drop, bucketFailures, bucketParked)
	}
	for _, b := range drop {
		if err := tx.Bucket(b).Delete(key); err != nil {
			return err
		}
	}
	return nil
}

// Mappings lists every mapping, sorted by Nexudus id (bbolt's key order:
// ids are positive and keys big-endian).
//
// The slice is sized from the bucket's key count first: `syncd verify`
// holds every mapping at once, and 100,000 of them appended one by one
// allocated the slice twice over on the way up (114 MiB in all, against
// 37 MiB sized once).
func (s *Store) Mappings() ([]Mapping, error) {
	var out []Mapping
	err := s.view("list mappings", nil, func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketFiles); b != nil {
			if n := b.Stats().KeyN; n > 0 {
				out = make([]Mapping, 0, n)
			}
		}
		return forEach(tx, bucketFiles, func(k, v []byte) error {
			id, err := keyID(k)
			if err != nil {
				return err
			}
			m, err := decodeMapping(id, v)
			if err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Forget removes everything recorded about a Nexudus file (mapping and its
// owner entry, intent, failure). The next poll treats it as new, so the
// CoreData file it had is found again by the crash-recovery lookup.
func (s *Store) Forget(id int64) error {
	return s.update("forget", id, func(tx *bolt.Tx) error {
		key := idKey(id)
		found, err := dropMappingTx(tx, id)
		if err != nil {
			return err
		}
		err = deleteKey(tx, key, bucketIntents, bucketFailures, bucketParked)
		if found && errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
}

// dropMappingTx deletes the mapping of id and releases its CoreData id.
// A corrupt mapping must still be droppable (that is how an operator
// clears it): its owner entry is then found by scanning.
func dropMappingTx(tx *bolt.Tx, id int64) (found bool, err error) {
	files, key := tx.Bucket(bucketFiles), idKey(id)
	v := files.Get(key)
	if v == nil {
		return false, nil
	}
	if m, err := decodeMapping(id, v); err == nil {
		err = releaseOwner(tx, m.CoreDataID, id)
		if err != nil {
			return true, err
		}
	} else if err := releaseOwnerScan(tx, id); err != nil {
		return true, err
	}
	return true, files.Delete(key)
}
