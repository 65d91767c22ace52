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

// Rebuild restores mappings from CoreData alone: every file under the
// given parents that carries a nexudus-file-<Id> tag maps that Nexudus
// file. The mapping gets no Nexudus UpdatedOn, so the next run downloads
// each file once, finds the same md5, and uploads nothing (guarantee 7).
//
// Two CoreData files tagged for one Nexudus file should not exist; if they
// do, the oldest wins and the Id is reported, so a person can look.
func Rebuild(ctx context.Context, l Lister, st RebuildStore, parents []string, log *zap.Logger) (*RebuildReport, error) {
	if log == nil {
		log = zap.NewNop()
	}
	rep := &RebuildReport{}
	found := map[int64]coredata.File{}
	seenParent := map[string]bool{}
	for _, p := range parents {
		if p == "" || seenParent[p] {
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
				if prev, dup := found[id]; dup {
					rep.Ambiguous = append(rep.Ambiguous, id)
					if f.Created != "" && f.Created < prev.Created {
						found[id] = f
					}
					continue
				}
				found[id] = f
			}
		}
	}
	ids := make([]int64, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		f := found[id]
		if cur, ok, err := st.Mapping(id); err != nil {
			return rep, err
		} else if ok && cur.CoreDataID == f.ID && cur.MD5 == f.Digest {
			rep.Kept++
			continue
		}
		m := state.Mapping{
			NexudusID: id, CoreDataID: f.ID, MD5: f.Digest, Size: f.Size,
			SnapshotID: f.SnapshotID, Title: f.Title, Parent: f.Parent, Filename: f.Filename,
		}
		if err := st.PutMapping(m); err != nil {
			if errors.Is(err, state.ErrOwned) {
				log.Warn("rebuild: CoreData file already mapped to another Nexudus file", zap.Int64("nexudus_id", id), zap.String("coredata_id", f.ID))
				rep.Ambiguous = append(rep.Ambiguous, id)
				continue
			}
			return rep, fmt.Errorf("rebuild: record %d: %w", id, err)
		}
		rep.Restored++
	}
	return rep, nil
}
