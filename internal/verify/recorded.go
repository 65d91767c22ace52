package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/coworkdocs/syncd/internal/state"
)

// recorded is what verify keeps of a mapping between reading the state
// file and judging: the fields a verdict and its row use. The rest of a
// state.Mapping (file name, snapshot, size, times) would double it.
type recorded struct {
	coreDataID, md5, title, parent string
	updatedOn                      time.Time
}

func (r recorded) mapping(id int64) state.Mapping {
	return state.Mapping{NexudusID: id, CoreDataID: r.coreDataID, MD5: r.md5, Title: r.title, Parent: r.parent, UpdatedOn: r.updatedOn}
}

// recordings are the mappings as read before the walk, with a set of the
// CoreData ids they name.
type recordings struct {
	byID   map[int64]recorded
	mapped map[string]struct{}
}

func (r *recordings) get(id int64) (state.Mapping, bool) {
	rec, ok := r.byID[id]
	if !ok {
		return state.Mapping{}, false
	}
	return rec.mapping(id), true
}

func (r *recordings) maps(coreDataID string) bool { _, ok := r.mapped[coreDataID]; return ok }

// readRecordings reads every mapping, one batch at a time (the reader's
// EachMapping), keeping what recorded needs.
func readRecordings(ctx context.Context, st MappingReader) (*recordings, error) {
	r := &recordings{byID: map[int64]recorded{}, mapped: map[string]struct{}{}}
	parents := map[string]string{}
	err := st.EachMapping(ctx, func(m state.Mapping) error {
		p, ok := parents[m.Parent]
		if !ok {
			p, parents[m.Parent] = m.Parent, m.Parent
		}
		r.byID[m.NexudusID] = recorded{coreDataID: m.CoreDataID, md5: m.MD5, title: m.Title, parent: p, updatedOn: m.UpdatedOn}
		r.mapped[m.CoreDataID] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: read state: %w", err)
	}
	return r, nil
}
