package state

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/coworkdocs/syncd/internal/packid"
)

// The owners index keeps PutMapping's rules whichever bucket an id lives
// in, also when a mapping moves between an id of one kind and the other.
func TestOwnersAcrossBothBuckets(t *testing.T) {
	const (
		u1 = "389a5280-8efc-11e6-a6e0-2f4ee7e36368"
		u2 = "cb2ce4ce-7422-11ee-91ce-3be7d5677268"
	)
	upper := strings.ToUpper(u1)
	s := newStore(t)
	cases := []struct {
		name    string
		m       Mapping
		wantErr error
		owners  map[string]int64 // expected afterwards; 0 means none
	}{
		{"a UUID claimed", mapping(1, u1), nil, map[string]int64{u1: 1, upper: 0}},
		{"the same UUID rewritten", mapping(1, u1), nil, map[string]int64{u1: 1}},
		{"the same UUID refused to another file", mapping(2, u1), ErrOwned, map[string]int64{u1: 1}},
		{"its upper case is another id", mapping(2, upper), nil, map[string]int64{u1: 1, upper: 2}},
		{"upper case refused to a third", mapping(3, upper), ErrOwned, map[string]int64{upper: 2}},
		{"UUID to text: released", mapping(1, "cd-1"), nil, map[string]int64{u1: 0, "cd-1": 1}},
		{"text to UUID: released", mapping(1, u2), nil, map[string]int64{"cd-1": 0, u2: 1}},
		{"the released UUID claimed by another", mapping(3, u1), nil, map[string]int64{u1: 3, u2: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := s.PutMapping(c.m); !errors.Is(err, c.wantErr) {
				t.Fatalf("PutMapping = %v, want %v", err, c.wantErr)
			}
			for cd, want := range c.owners {
				got, ok, err := s.Owner(cd)
				if err != nil || ok != (want != 0) || got != want {
					t.Errorf("Owner(%s) = %d, %v, %v; want %d", cd, got, ok, err, want)
				}
			}
		})
	}
	t.Run("a corrupt mapping's UUID released by the scan", func(t *testing.T) {
		corruptRecord(t, s, bucketFiles, 3, "{")
		mustPut(t, s, mapping(3, "cd-3"))
		if owner, ok, _ := s.Owner(u1); ok {
			t.Errorf("Owner(%s) = %d after its corrupt mapping was overwritten", u1, owner)
		}
		if owner, _, _ := s.Owner("cd-3"); owner != 3 {
			t.Errorf("Owner(cd-3) = %d, want 3", owner)
		}
	})
	t.Run("forgotten", func(t *testing.T) {
		if err := s.Forget(1); err != nil {
			t.Fatal(err)
		}
		if owner, ok, _ := s.Owner(u2); ok {
			t.Errorf("Owner(%s) = %d after Forget", u2, owner)
		}
	})
}

// A PutMapping that changes nothing of the owners index writes nothing
// to it: one page of the owners less for every poll's rewrite.
func TestPutMappingLeavesAnUnchangedOwnerEntry(t *testing.T) {
	s := newStore(t)
	const u = "389a5280-8efc-11e6-a6e0-2f4ee7e36368"
	mustPut(t, s, mapping(1, u))
	// A marker the rewrite would replace: the same id, in a longer
	// (non-minimal) uvarint.
	marker := []byte{0x81, 0x00}
	p, _ := packid.UUID(u)
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketOwnerUUIDs).Put(p[:], marker) }); err != nil {
		t.Fatal(err)
	}
	m := mapping(1, u)
	m.Title = "Renamed"
	mustPut(t, s, m)
	_ = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketOwnerUUIDs).Get(p[:]); string(v) != string(marker) {
			t.Errorf("owner entry rewritten as %x", v)
		}
		return nil
	})
}

func TestDecodeOwnerID(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want int64 // 0: corrupt
	}{
		{"one byte", []byte{5}, 5},
		{"an id of today", appendOwnerID(nil, 1_000_123), 1_000_123},
		{"the largest", appendOwnerID(nil, 1<<63-1), 1<<63 - 1},
		{"empty", []byte{}, 0},
		{"zero", []byte{0}, 0},
		{"cut", []byte{0x80}, 0},
		{"trailing byte", []byte{5, 5}, 0},
		{"past int64", binaryUvarint(1 << 63), 0},
		{"JSON", []byte(`"x"`), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := decodeOwnerID("k", c.data)
			if c.want == 0 {
				var ce *CorruptError
				if !errors.As(err, &ce) || ce.Kind != "owner" || ce.Key != "k" {
					t.Fatalf("decodeOwnerID(%x) = %d, %v; want a CorruptError of owner k", c.data, id, err)
				}
				return
			}
			if err != nil || id != c.want {
				t.Errorf("decodeOwnerID(%x) = %d, %v; want %d", c.data, id, err, c.want)
			}
		})
	}
}

func binaryUvarint(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// FuzzDecodeOwnerID: an owner_uuids value from disk, whatever its bytes,
// is a Nexudus id that encodes back to itself, or an error naming the
// entry; never a panic, never a non-positive id.
func FuzzDecodeOwnerID(f *testing.F) {
	for _, seed := range [][]byte{{5}, appendOwnerID(nil, 1_000_123), {}, {0}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := decodeOwnerID("k", data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "owner k:") {
				t.Fatalf("err = %q, want ErrCorrupt naming owner k", err)
			}
			return
		}
		if id <= 0 {
			t.Fatalf("decoded id %d", id)
		}
		if again, err := decodeOwnerID("k", appendOwnerID(nil, id)); err != nil || again != id {
			t.Fatalf("id %d encodes to %d, %v", id, again, err)
		}
	})
}
