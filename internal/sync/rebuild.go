package sync

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/state"
)

// RebuildStore is what Rebuild writes to.
type RebuildStore interface {
	Mapping(id int64) (state.Mapping, bool, error)
	PutMapping(m state.Mapping) error
}

// Lister lists CoreData files under a parent.
type Lister interface {
	ListFiles(ctx context.Context, parent, title string) ([]coredata.File, error)
}

// RebuildReport says what Rebuild found.
type RebuildReport struct {
	Parents   int
	Files     int // files seen under the parents
	Restored  int // mappings written
	Kept      int // mappings already right
	Ambiguous []int64
}

// batchStore is a RebuildStore that writes many mappings in one
// transaction (state.Store does): one fsync per batch instead of one per
// mapping.
type batchStore interface {
	PutMappings(ms []state.Mapping) (refused []error, err error)
}

// rebuildBatch is how many mappings Rebuild writes per transaction.
const rebuildBatch = 1000

// rebuildFile is what Rebuild keeps of a listed CoreData file: the
// mapping it makes, and its creation time to pick the oldest of two
// tagged for one Nexudus file. Keeping the whole coredata.File (tags,
// blob name, mime type...) of 100,000 files cost twice the memory.
type rebuildFile struct {
	m       state.Mapping
	created string
}

// WholeTenant, as a parent to Rebuild, lists every file the CoreData API
// user can see: a person may have re-filed a mirrored file anywhere, and
// a lost state file must not turn that file into a duplicate.
const WholeTenant = ""

// Rebuild restores mappings from CoreData alone: every file under the
// given parents (WholeTenant: everywhere) that carries a nexudus-file-<Id>
// tag maps that Nexudus file. The mapping gets no Nexudus UpdatedOn, so the next run downloads
// each file once, finds the same md5, and uploads nothing (guarantee 7).
//
// Two CoreData files tagged for one Nexudus file should not exist; if they
// do, the oldest wins and the Id is reported, so a person can look.
func Rebuild(ctx context.Context, l Lister, st RebuildStore, parents []string, log *zap.Logger) (*RebuildReport, error) {
	if log == nil {
		log = zap.NewNop()
	}
	rep := &RebuildReport{}
	found := map[int64]rebuildFile{}
	seenParent := map[string]bool{}
	for _, p := range parents {
		if seenParent[p] {
			continue
		}
		seenParent[p] = true
		rep.Parents++
		files, err := l.ListFiles(ctx, p, "")
		if err != nil {
			return rep, fmt.Errorf("rebuild: list parent %s: %w", p, err)
		}
		for _, f := range files {
			rep.Files++
			for _, t := range f.Tags {
				id, ok := ParseFileTag(t)
				if !ok {
					continue
				}
				rf := rebuildFile{created: f.Created, m: adoptedMapping(id, &f, f.Parent, f.Filename)}
				if prev, dup := found[id]; dup && prev.m.CoreDataID == f.ID {
					// The same file listed again: under a project and
					// under one of its folders, both configured.
					continue
				} else if dup {
					rep.Ambiguous = append(rep.Ambiguous, id)
					if f.Created != "" && f.Created < prev.created {
						found[id] = rf
					}
					continue
				}
				found[id] = rf
			}
		}
	}
	ids := make([]int64, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	batch := make([]state.Mapping, 0, rebuildBatch)
	for len(ids) > 0 {
		n := min(rebuildBatch, len(ids))
		batch = batch[:0]
		for _, id := range ids[:n] {
			m := found[id].m
			delete(found, id)
			if cur, ok, err := st.Mapping(id); err != nil {
				return rep, err
			} else if ok && cur.CoreDataID == m.CoreDataID && cur.MD5 == m.MD5 {
				rep.Kept++
				continue
			}
			batch = append(batch, m)
		}
		ids = ids[n:]
		if err := putRebuilt(st, batch, rep, log); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// putRebuilt writes one batch of rebuilt mappings, in one transaction
// when the store can. A CoreData file that another Nexudus file already
// maps is reported, not written; any other error stops the rebuild.
func putRebuilt(st RebuildStore, batch []state.Mapping, rep *RebuildReport, log *zap.Logger) error {
	if len(batch) == 0 {
		return nil
	}
	refused := make([]error, len(batch))
	if bs, ok := st.(batchStore); ok {
		var err error
		if refused, err = bs.PutMappings(batch); err != nil {
			return fmt.Errorf("rebuild: record %d mappings from %d: %w", len(batch), batch[0].NexudusID, err)
		}
	} else {
		for i, m := range batch {
			refused[i] = st.PutMapping(m)
			if refused[i] != nil && !errors.Is(refused[i], state.ErrOwned) {
				batch, refused = batch[:i+1], refused[:i+1] // stop here
				break
			}
		}
	}
	for i, err := range refused {
		m := batch[i]
		switch {
		case err == nil:
			rep.Restored++
		case errors.Is(err, state.ErrOwned):
			log.Warn("rebuild: CoreData file already mapped to another Nexudus file", zap.Int64("nexudus_id", m.NexudusID), zap.String("coredata_id", m.CoreDataID))
			rep.Ambiguous = append(rep.Ambiguous, m.NexudusID)
		default:
			return fmt.Errorf("rebuild: record %d: %w", m.NexudusID, err)
		}
	}
	return nil
}
