package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/coworkdocs/syncd/internal/packid"
)

// migrateV2 moves a file to schema 3, where the state file takes about a
// third of the bytes a mapping: its pages count in the peak RSS of every
// read-write open, which walks them all (NoFreelistSync).
//
// Every mapping is rewritten in the binary form of schema 3 (mapcodec.go),
// into a files bucket built anew in key order at filesFillPercent: putting
// the smaller values over the old ones would leave each page as many keys
// as before, and so as many pages, since bbolt merges pages only after
// deletes. Every owner entry of a canonical UUID moves from `owners` to
// owner_uuids (owners.go), also written anew, in key order; the others
// stay in `owners` as they are.
//
// A record that does not decode is copied as it is: it stays the corrupt
// record it was, named by every read, for `syncd state forget ID`. A
// migration that failed on it would keep syncd from opening the file at
// all, and `state forget` with it.
//
// It runs inside the one transaction of Open, so the file is either at
// schema 2 or all of it at schema 3. The transaction holds every rewritten
// record until it commits: about 200 bytes a mapping in values, plus
// bbolt's nodes and page buffers.
func migrateV2(tx *bolt.Tx) error {
	if err := rewriteMappings(tx); err != nil {
		return fmt.Errorf("rewrite mappings: %w", err)
	}
	if err := moveOwners(tx); err != nil {
		return fmt.Errorf("move owners: %w", err)
	}
	return nil
}

// arena keeps the rewritten records until the transaction commits (bbolt
// keeps a reference to every value put, not a copy) in a few large
// blocks rather than an allocation each.
type arena struct{ block []byte }

const arenaBlock = 1 << 20

// add returns the bytes that fn appends, at most n, kept in the arena.
func (a *arena) add(n int, fn func([]byte) []byte) []byte {
	if cap(a.block)-len(a.block) < n {
		a.block = make([]byte, 0, max(arenaBlock, n))
	}
	start := len(a.block)
	a.block = fn(a.block)
	return a.block[start:len(a.block):len(a.block)]
}

// keep returns a copy of b in the arena.
func (a *arena) keep(b []byte) []byte {
	return a.add(len(b), func(dst []byte) []byte { return append(dst, b...) })
}

func rewriteMappings(tx *bolt.Tx) error {
	type record struct{ k, v []byte }
	old := tx.Bucket(bucketFiles)
	// Sized once: 100,000 records doubling their way up would leave as
	// much again in garbage, at the migration's peak.
	recs := make([]record, 0, old.Stats().KeyN)
	var mem arena
	err := old.ForEach(func(k, v []byte) error {
		key := mem.keep(k)
		id, err := keyID(k)
		var m Mapping
		if err == nil {
			m, err = decodeMapping(id, v)
		}
		if err == nil {
			err = checkMapping(&m)
		}
		if err != nil {
			recs = append(recs, record{key, mem.keep(v)})
			return nil
		}
		recs = append(recs, record{key, mem.add(maxMappingLen(&m), func(b []byte) []byte { return appendMapping(b, &m) })})
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bucketFiles); err != nil {
		return err
	}
	files, err := tx.CreateBucket(bucketFiles)
	if err != nil {
		return err
	}
	files.FillPercent = filesFillPercent
	for _, r := range recs {
		if err := files.Put(r.k, r.v); err != nil {
			return err
		}
	}
	return nil
}

func moveOwners(tx *bolt.Tx) error {
	type entry struct {
		k, v   []byte
		packed bool
	}
	old := tx.Bucket(bucketOwners)
	entries := make([]entry, 0, old.Stats().KeyN)
	var mem arena
	err := old.ForEach(func(k, v []byte) error {
		p, ok := packid.UUID(string(k))
		if !ok {
			entries = append(entries, entry{k: mem.keep(k), v: mem.keep(v)})
			return nil
		}
		e := entry{k: mem.keep(p[:]), packed: true}
		if id, err := decodeOwner(string(k), v); err == nil {
			e.v = mem.add(binary.MaxVarintLen64, func(b []byte) []byte { return appendOwnerID(b, id) })
		} else {
			// Corrupt, and must stay so: an empty value is no uvarint.
			e.v = []byte{}
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bucketOwners); err != nil {
		return err
	}
	owners, err := tx.CreateBucket(bucketOwners)
	if err != nil {
		return err
	}
	uuids := tx.Bucket(bucketOwnerUUIDs)
	// In key order, each page filled once: the index is written whole
	// here; later inserts land at random and split pages as they come.
	uuids.FillPercent = ownersBulkFillPercent
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.k, b.k) })
	for _, e := range entries {
		b := owners
		if e.packed {
			b = uuids
		}
		if err := b.Put(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// ownersBulkFillPercent fills owner_uuids' pages whole when the migration
// writes the index in key order. Later writes use bbolt's default of 0.5:
// CoreData ids are random, so inserts land anywhere, and a page split
// evenly has room on both sides for them.
const ownersBulkFillPercent = 1.0
