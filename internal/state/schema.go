package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var keySchema = []byte("schema_version")

// migration moves a file from schema version i (its index in migrations) to
// i+1, inside the one transaction that Open runs them all in.
type migration func(tx *bolt.Tx) error

// migrations is the upgrade path. Append, never edit: a file written at
// version v runs migrations[v:].
var migrations = []migration{
	0: migrateV0,
	1: migrateV1,
	2: migrateV2,
}

// readableFrom is the oldest schema that a read-only open reads as it is,
// without its migrations: every later migration only changes what is
// written from then on, or rewrites records into a form whose older forms
// are still read (migrateV2: a schema 2 file has no owner_uuids, and its
// owners are looked up by text in `owners`, as schema 2 did).
const readableFrom = 1

// CurrentSchemaVersion is the version this binary writes.
func CurrentSchemaVersion() int { return len(migrations) }

// migrateV0 upgrades files from before the schema key existed: they had
// mappings but no owners index, so the index is rebuilt from them.
func migrateV0(tx *bolt.Tx) error {
	owners := tx.Bucket(bucketOwners)
	return tx.Bucket(bucketFiles).ForEach(func(k, v []byte) error {
		id, err := keyID(k)
		if err != nil {
			return err
		}
		m, err := decodeMapping(id, v)
		if err != nil {
			return err
		}
		if prev := owners.Get([]byte(m.CoreDataID)); prev != nil {
			other, err := decodeOwner(m.CoreDataID, prev)
			if err != nil {
				return err
			}
			return fmt.Errorf("coredata file %s: mapped by nexudus files %d and %d: %w", m.CoreDataID, other, id, ErrOwned)
		}
		return putJSON(owners, []byte(m.CoreDataID), id)
	})
}

// migrateV1 rewrites nothing. From schema 2 on, mappings are written in a
// binary form (mapcodec.go), and the JSON ones already in the file are
// read as they are, until they are next written. The version is what
// changes: a syncd that knows only schema 1 would read every binary
// mapping as corrupt, so it refuses the file (ErrSchemaTooNew) instead.
func migrateV1(*bolt.Tx) error { return nil }

// readSchema returns 0 when the key (or the meta bucket) is missing.
func readSchema(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	v := meta.Get(keySchema)
	if v == nil {
		return 0, nil
	}
	var n int
	if err := json.Unmarshal(v, &n); err != nil || n < 0 {
		if err == nil {
			err = fmt.Errorf("negative version %d", n)
		}
		return 0, &CorruptError{Kind: "schema", Key: string(keySchema), Err: err}
	}
	return n, nil
}

// prepare checks the schema and, for a writable store, creates the buckets
// and runs the migrations, all in one transaction so that a crash leaves the
// file at its old version rather than half-migrated.
func (s *Store) prepare() error {
	var version int
	complete, empty := true, true
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		version, err = readSchema(tx)
		for _, b := range allBuckets {
			has := tx.Bucket(b) != nil
			complete = complete && has
			empty = empty && !has
		}
		return err
	})
	if err != nil {
		return err
	}
	current := CurrentSchemaVersion()
	if version > current {
		// The operator who sees this has downgraded: say how back out.
		return fmt.Errorf("file has schema %d, this syncd knows up to %d (a newer syncd wrote it, and no older one can read it); "+
			"run the newer syncd again, or put back a `syncd state backup` taken before the upgrade, "+
			"or move the file away and run `syncd state rebuild`: %w", version, current, ErrSchemaTooNew)
	}
	if s.readOnly {
		if empty {
			// Never initialised: a process killed during the first open
			// of a new file, before its one setup transaction committed.
			// It holds nothing, and reads of missing buckets find nothing.
			return nil
		}
		if version < readableFrom {
			return fmt.Errorf("file has schema %d, this syncd needs %d; open it read-write once to migrate: %w", version, current, ErrSchemaOutdated)
		}
		return nil
	}
	if version == current && complete {
		// Nothing to write: an open must not need a writable disk.
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		for v := version; v < current; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
		return putJSON(tx.Bucket(bucketMeta), keySchema, current)
	})
}

// SchemaVersion reads the version recorded in the file.
func (s *Store) SchemaVersion() (int, error) {
	var n int
	err := s.view("schema version", nil, func(tx *bolt.Tx) error {
		var err error
		n, err = readSchema(tx)
		return err
	})
	return n, err
}

// get reads a key from a bucket that may be missing (a read-only open of a
// damaged file); the bytes are only valid inside tx.
func get(tx *bolt.Tx, bucket, key []byte) []byte {
	b := tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	return b.Get(key)
}

// deleteWhere deletes every entry of b that drop selects. The keys are
// collected first and deleted after the walk: deleting under a ForEach or
// a cursor's Next skips entries (bbolt moves the cursor under it).
func deleteWhere(b *bolt.Bucket, drop func(k, v []byte) bool) error {
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if drop(k, v) {
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// forEach walks a bucket that may be missing.
func forEach(tx *bolt.Tx, bucket []byte, fn func(k, v []byte) error) error {
	b := tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	return b.ForEach(fn)
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return b.Put(key, data)
}
