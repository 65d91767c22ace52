package verify

import (
	"context"
	"fmt"
	"hash/maphash"
	"strconv"

	"github.com/coworkdocs/syncd/internal/state"
)

// recordings are the mappings as the state file held them before
// CoreData was listed, kept as a fingerprint each: the rows are judged
// with the mappings read at the end, and a mapping whose fingerprint
// changed was written by a daemon while verify ran, perhaps after the
// listing, so its CoreData file is read again before it is called a
// problem. Whole mappings would be a third of verify's memory at 100,000
// files.
type recordings struct {
	seed maphash.Seed
	fp   map[int64]uint64
	// mapped holds a hash of each CoreData id the state file maps: the
	// listing keeps the untagged files among them (a collision keeps one
	// file more, never one less).
	mapped map[uint64]struct{}
}

func (r *recordings) fingerprint(m state.Mapping) uint64 {
	var h maphash.Hash
	h.SetSeed(r.seed)
	for _, s := range []string{m.CoreDataID, m.MD5, m.Title, m.Parent, m.UpdatedOn.UTC().Format("2006-01-02T15:04:05.999999999"), strconv.FormatInt(m.Size, 10)} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	return h.Sum64()
}

func (r *recordings) idHash(coreDataID string) uint64 { return maphash.String(r.seed, coreDataID) }

func (r *recordings) maps(coreDataID string) bool {
	_, ok := r.mapped[r.idHash(coreDataID)]
	return ok
}

// changed reports whether a record's mapping now (nil: none) differs from
// the one read before the listing.
func (r *recordings) changed(id int64, now *state.Mapping) bool {
	fp, had := r.fp[id]
	if now == nil {
		return had
	}
	return !had || fp != r.fingerprint(*now)
}

// readRecordings reads every mapping, one batch at a time (the reader's
// EachMapping).
func readRecordings(ctx context.Context, st MappingReader) (*recordings, error) {
	r := &recordings{seed: maphash.MakeSeed(), fp: map[int64]uint64{}, mapped: map[uint64]struct{}{}}
	err := st.EachMapping(ctx, func(m state.Mapping) error {
		r.fp[m.NexudusID] = r.fingerprint(m)
		r.mapped[r.idHash(m.CoreDataID)] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: read state: %w", err)
	}
	return r, nil
}
