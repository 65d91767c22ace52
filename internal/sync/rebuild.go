package sync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/state"
)

// RebuildStore is what Rebuild writes to.
type RebuildStore interface {
	Mapping(id int64) (state.Mapping, bool, error)
	PutMapping(m state.Mapping) error
}

// Lister lists CoreData files under a parent, a page at a time.
type Lister interface {
	EachFile(ctx context.Context, parent, title string, fn func(coredata.File) error) error
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

// rebuildSeen is what Rebuild keeps of a file once its mapping is on its
// way to the state file: enough to tell the same file listed again (a
// project and one of its folders) from a second file tagged for the same
// record, and to pick the oldest of two. Mappings are written a batch at
// a time as the listing goes, so a tenant of 100,000 files costs these
// few bytes each, not its whole listing (which cost 154 MiB at 100,000).
type rebuildSeen struct {
	file    uint64 // maphash of the CoreData id
	created string
	counted bool // a mapping of this record was written and counted
}

// WholeTenant, as a parent to Rebuild, lists every file the CoreData API
// user can see: a person may have re-filed a mirrored file anywhere, and
// a lost state file must not turn that file into a duplicate.
const WholeTenant = ""

// Rebuild restores mappings from CoreData alone: every file under the
// given parents (WholeTenant: everywhere) that carries a nexudus-file-<Id>
// tag maps that Nexudus file. A file whose version tag vouches for its
// current version (versiontag.go) gets that Nexudus UpdatedOn, so the next
// poll downloads nothing of a record unchanged since; any other is
// downloaded once, found with the same md5, and nothing is uploaded
// (guarantee 7).
//
// Two CoreData files tagged for one Nexudus file should not exist; if they
// do, the oldest wins and the Id is reported, so a person can look.
func Rebuild(ctx context.Context, l Lister, st RebuildStore, parents []string, log *zap.Logger) (*RebuildReport, error) {
	if log == nil {
		log = zap.NewNop()
	}
	rep := &RebuildReport{}
	rb := &rebuilder{st: st, rep: rep, log: log, seed: maphash.MakeSeed(), seen: map[int64]rebuildSeen{}}
	seenParent := map[string]bool{}
	for _, p := range parents {
		if seenParent[p] {
			continue
		}
		seenParent[p] = true
		rep.Parents++
		err := l.EachFile(ctx, p, "", func(f coredata.File) error {
			rep.Files++
			return rb.add(&f)
		})
		if err != nil {
			return rep, fmt.Errorf("rebuild: list parent %s: %w", p, err)
		}
	}
	err := rb.flush()
	slices.Sort(rep.Ambiguous)
	rep.Ambiguous = slices.Compact(rep.Ambiguous)
	return rep, err
}

// rebuilder writes the mappings of one Rebuild as the listing goes.
type rebuilder struct {
	st    RebuildStore
	rep   *RebuildReport
	log   *zap.Logger
	seed  maphash.Seed
	seen  map[int64]rebuildSeen
	batch []state.Mapping
}

func (rb *rebuilder) add(f *coredata.File) error {
	for _, t := range f.Tags {
		id, ok := ParseFileTag(t)
		if !ok {
			continue
		}
		cur := rebuildSeen{file: maphash.String(rb.seed, f.ID), created: f.Created}
		prev, dup := rb.seen[id]
		switch {
		case dup && prev.file == cur.file:
			// The same file listed again: under a project and under
			// one of its folders, both configured.
			continue
		case dup:
			rb.rep.Ambiguous = append(rb.rep.Ambiguous, id)
			if f.Created == "" || f.Created >= prev.created {
				continue
			}
			cur.counted = prev.counted // restored once, whichever file
		}
		rb.seen[id] = cur
		rb.batch = append(rb.batch, adoptedMapping(id, f, f.Parent, f.Filename))
		if len(rb.batch) >= rebuildBatch {
			if err := rb.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the batch, but for the mappings the state file already
// holds as they are.
func (rb *rebuilder) flush() error {
	if len(rb.batch) == 0 {
		return nil
	}
	// Ascending ids fill the state file's pages; a later mapping of one
	// id (an older file tagged for it) stays after the earlier one.
	slices.SortStableFunc(rb.batch, func(a, b state.Mapping) int { return cmp.Compare(a.NexudusID, b.NexudusID) })
	write := rb.batch[:0]
	for _, m := range rb.batch {
		cur, ok, err := rb.st.Mapping(m.NexudusID)
		if err != nil {
			return err
		}
		if ok && cur.CoreDataID == m.CoreDataID && cur.MD5 == m.MD5 && (!cur.UpdatedOn.IsZero() || m.UpdatedOn.IsZero()) {
			rb.rep.Kept++
			continue
		}
		write = append(write, m)
	}
	err := rb.put(write)
	rb.batch = rb.batch[:0]
	return err
}

// put writes one batch of rebuilt mappings, in one transaction when the
// store can. A CoreData file that another Nexudus file already maps is
// reported, not written; any other error stops the rebuild.
func (rb *rebuilder) put(batch []state.Mapping) error {
	if len(batch) == 0 {
		return nil
	}
	refused := make([]error, len(batch))
	if bs, ok := rb.st.(batchStore); ok {
		var err error
		if refused, err = bs.PutMappings(batch); err != nil {
			return fmt.Errorf("rebuild: record %d mappings from %d: %w", len(batch), batch[0].NexudusID, err)
		}
	} else {
		for i, m := range batch {
			refused[i] = rb.st.PutMapping(m)
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
			if s := rb.seen[m.NexudusID]; !s.counted {
				s.counted = true
				rb.seen[m.NexudusID] = s
				rb.rep.Restored++
			}
		case errors.Is(err, state.ErrOwned):
			rb.log.Warn("rebuild: CoreData file already mapped to another Nexudus file", zap.Int64("nexudus_id", m.NexudusID), zap.String("coredata_id", m.CoreDataID))
			rb.rep.Ambiguous = append(rb.rep.Ambiguous, m.NexudusID)
		default:
			return fmt.Errorf("rebuild: record %d: %w", m.NexudusID, err)
		}
	}
	return nil
}
