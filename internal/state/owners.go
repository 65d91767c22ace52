package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/coworkdocs/syncd/internal/packid"
)

// The owners index: which Nexudus file a CoreData file mirrors, so that
// two Nexudus files never share one (ErrOwned). From schema 3 it is two
// buckets. A CoreData id in the canonical UUID form (every id CoreData
// issues) is in owner_uuids under its 16 bytes, with the Nexudus id as a
// uvarint: 19 bytes a file where `owners` took 43. Any other id stays in
// `owners` under its text, with the JSON value of schemas 0 to 2. Each
// string has one place, so lookups mean what they meant with one bucket.
//
// A read-only open of a schema 2 file (which cannot migrate) has no
// owner_uuids: every entry is then in `owners`, by text.

// ownerEntry is where the owner entry of a CoreData id lives.
type ownerEntry struct {
	b      *bolt.Bucket // nil: neither bucket exists (a never-initialised file)
	key    []byte
	packed bool
}

func ownerEntryOf(tx *bolt.Tx, coreDataID string) ownerEntry {
	if p, ok := packid.UUID(coreDataID); ok {
		if b := tx.Bucket(bucketOwnerUUIDs); b != nil {
			return ownerEntry{b: b, key: p[:], packed: true}
		}
	}
	return ownerEntry{b: tx.Bucket(bucketOwners), key: []byte(coreDataID)}
}

// lookupOwner returns the Nexudus file that owns coreDataID, if any.
func lookupOwner(tx *bolt.Tx, coreDataID string) (id int64, found bool, err error) {
	e := ownerEntryOf(tx, coreDataID)
	if e.b == nil {
		return 0, false, nil
	}
	v := e.b.Get(e.key)
	if v == nil {
		return 0, false, nil
	}
	if e.packed {
		id, err = decodeOwnerID(coreDataID, v)
	} else {
		id, err = decodeOwner(coreDataID, v)
	}
	return id, err == nil, err
}

// putOwner records that id owns coreDataID.
func putOwner(tx *bolt.Tx, coreDataID string, id int64) error {
	e := ownerEntryOf(tx, coreDataID)
	if e.packed {
		// bbolt's default FillPercent (0.5) here: CoreData ids are
		// random, so inserts land anywhere, and a page split evenly has
		// room on both sides. Higher splits leave a full page that the
		// next insert splits again: 0.7 left the index 62% full, 0.9 36%,
		// 1.0 12%, against 70% at 0.5 (BenchmarkStateFileBytesPerMapping).
		return e.b.Put(e.key, appendOwnerID(make([]byte, 0, binary.MaxVarintLen64), id))
	}
	return putJSON(e.b, e.key, id)
}

// decodeOwner reads the JSON value of `owners`.
func decodeOwner(coreDataID string, data []byte) (int64, error) {
	var id int64
	if err := json.Unmarshal(data, &id); err != nil {
		return 0, &CorruptError{Kind: "owner", Key: coreDataID, Err: err}
	}
	return id, nil
}

// appendOwnerID appends the value of owner_uuids: the id, a uvarint.
func appendOwnerID(b []byte, id int64) []byte { return binary.AppendUvarint(b, uint64(id)) }

// decodeOwnerID reads the value of owner_uuids.
func decodeOwnerID(coreDataID string, data []byte) (int64, error) {
	v, n := binary.Uvarint(data)
	var err error
	switch {
	case n <= 0 || n != len(data):
		err = fmt.Errorf("owner value of %d bytes is not one uvarint", len(data))
	case v == 0 || v > math.MaxInt64:
		err = fmt.Errorf("owner value %d is not a nexudus id", v)
	}
	if err != nil {
		return 0, &CorruptError{Kind: "owner", Key: coreDataID, Err: err}
	}
	return int64(v), nil
}

// releaseOwner removes coreDataID from the owners index only if id owns it,
// so that a stale mapping cannot free a CoreData file someone else claimed.
func releaseOwner(tx *bolt.Tx, coreDataID string, id int64) error {
	owner, found, err := lookupOwner(tx, coreDataID)
	if err != nil || !found || owner != id {
		return err
	}
	e := ownerEntryOf(tx, coreDataID)
	return e.b.Delete(e.key)
}

// releaseOwnerScan drops every owners entry pointing at id, in both
// buckets: the way to free the CoreData id of a corrupt mapping.
func releaseOwnerScan(tx *bolt.Tx, id int64) error {
	for _, name := range [][]byte{bucketOwners, bucketOwnerUUIDs} {
		b := tx.Bucket(name)
		if b == nil {
			continue
		}
		decode := decodeOwner
		if string(name) == string(bucketOwnerUUIDs) {
			decode = decodeOwnerID
		}
		err := deleteWhere(b, func(k, v []byte) bool {
			// A corrupt entry is left: it names no id to compare.
			owner, err := decode(string(k), v)
			return err == nil && owner == id
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Owner returns the Nexudus file that a CoreData file mirrors.
func (s *Store) Owner(coreDataID string) (id int64, ok bool, err error) {
	err = s.view("owner", coreDataID, func(tx *bolt.Tx) error {
		id, ok, err = lookupOwner(tx, coreDataID)
		return err
	})
	return id, ok, err
}
