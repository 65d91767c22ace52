package sync

import (
	"context"
	"fmt"
	gosync "sync"

	"github.com/coworkdocs/syncd/internal/coredata"
)

// tagged is what a parent's listing keeps of a file tagged
// nexudus-file-<Id>: enough to pick the oldest, then read it afresh. The
// whole coredata.File of every file of a large parent is not kept.
type tagged struct {
	id, created string
}

// parentListing is one parent's files by the Nexudus Id of their tag, as
// listed once in a run.
type parentListing struct {
	mu     gosync.Mutex // held while listing: workers wait for one listing
	loaded bool
	byID   map[int64][]tagged
	// from answers instead of byID for a listing made elsewhere (the
	// audit's), but for the ids in dropped.
	from    func(id int64) []tagged
	dropped map[int64]bool
}

// tagIndex is a run's listings of CoreData parents, shared by its workers,
// so a poll lists each parent at most once however many lookups it makes.
type tagIndex struct {
	mu      gosync.Mutex
	parents map[string]*parentListing
}

// lookup returns the files under parent tagged for Nexudus file id. With
// fresh set it lists the parent again: a create of this record may have
// been sent since this run's listing (an open intent), and must be seen.
func (x *tagIndex) lookup(ctx context.Context, sink Sink, parent string, id int64, fresh bool) ([]tagged, error) {
	x.mu.Lock()
	if x.parents == nil {
		x.parents = map[string]*parentListing{}
	}
	pl := x.parents[parent]
	if pl == nil {
		pl = &parentListing{}
		x.parents[parent] = pl
	}
	x.mu.Unlock()

	pl.mu.Lock()
	defer pl.mu.Unlock()
	if !pl.loaded || fresh {
		byID := map[int64][]tagged{}
		err := sink.EachFile(ctx, parent, "", func(f coredata.File) error {
			addTagged(byID, &f)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list files under %s: %w", parent, err)
		}
		pl.byID, pl.loaded, pl.from = byID, true, nil
	}
	if pl.from != nil {
		if pl.dropped[id] {
			return nil, nil
		}
		return pl.from(id), nil
	}
	return pl.byID[id], nil
}

// preload installs a listing made elsewhere (the audit's) for parent:
// from answers a lookup, read-only; forget drops ids from it.
func (x *tagIndex) preload(parent string, from func(id int64) []tagged) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.parents == nil {
		x.parents = map[string]*parentListing{}
	}
	x.parents[parent] = &parentListing{loaded: true, from: from, dropped: map[int64]bool{}}
}

// forget drops what the index holds for id under parent: a file it named
// is gone, or the record now has a mapping.
func (x *tagIndex) forget(parent string, id int64) {
	x.mu.Lock()
	pl := x.parents[parent]
	x.mu.Unlock()
	if pl == nil {
		return
	}
	pl.mu.Lock()
	delete(pl.byID, id)
	if pl.dropped != nil {
		pl.dropped[id] = true
	}
	pl.mu.Unlock()
}

// addTagged indexes f by the Nexudus Ids of its tags. The listing is
// walked a page at a time, so a parent of 100,000 files costs these
// entries, not its whole listing.
func addTagged(byID map[int64][]tagged, f *coredata.File) {
	for _, t := range f.Tags {
		if id, ok := ParseFileTag(t); ok {
			byID[id] = append(byID[id], tagged{id: f.ID, created: f.Created})
		}
	}
}
