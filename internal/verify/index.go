package verify

import (
	"context"
	"fmt"
	"sort"

	"github.com/coworkdocs/syncd/internal/coredata"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// listedFile is what verify keeps of a listed CoreData file: what a
// verdict and its row name, not the whole coredata.File. At 100,000
// files the whole ones were most of verify's memory.
type listedFile struct {
	id, digest    packed16
	title, parent string
	created       string // orders a Nexudus file's files; cleared once sorted
	// taggedFor is the Nexudus Id whose tag the verdict looks for on the
	// file (0: none); its other tags are not kept.
	taggedFor int64
}

func (f listedFile) file() coredata.File {
	out := coredata.File{ID: f.id.uuid(), Digest: f.digest.md5(), Title: f.title, Parent: f.parent}
	if f.taggedFor != 0 {
		out.Tags = []string{syncer.FileTag(f.taggedFor)}
	}
	return out
}

// keep is what verify keeps of f, as a file of the Nexudus file taggedFor
// when f carries its tag.
func keep(f coredata.File, taggedFor int64, parent func(string) string) listedFile {
	k := listedFile{id: packUUID(f.ID), digest: packMD5(f.Digest), title: f.Title, parent: parent(f.Parent), created: f.Created}
	if hasFileTag(f, taggedFor) {
		k.taggedFor = taggedFor
	}
	return k
}

// index is every CoreData file under the configured parents that carries
// a nexudus-file-<Id> tag, by that Id. Untagged files are not kept.
type index struct {
	// tagged holds the first (oldest) file of each Id; more holds the
	// others of an Id tagged more than once. One map of slices would cost
	// a slice per Id for the rare duplicate.
	tagged map[int64]listedFile
	more   map[int64][]listedFile
	// untagged are the mapped files listed without any such tag (a person
	// removed it), by CoreData id.
	untagged map[string]listedFile
	// legal are the files tagged for a text or register, by tag: a few
	// per location and month, kept whole.
	legal map[string][]coredata.File
	// listed counts every file seen under the parents, tagged or not.
	listed  int
	parents int
	strs    map[string]string // parent ids, stored once
}

func (ix *index) intern(s string) string {
	if v, ok := ix.strs[s]; ok {
		return v
	}
	ix.strs[s] = s
	return s
}

// files are the files tagged for id, oldest first.
func (ix *index) files(id int64) []coredata.File {
	first, ok := ix.tagged[id]
	if !ok {
		return nil
	}
	out := []coredata.File{first.file()}
	for _, f := range ix.more[id] {
		out = append(out, f.file())
	}
	return out
}

func (ix *index) add(id int64, f listedFile) {
	first, ok := ix.tagged[id]
	if !ok {
		ix.tagged[id] = f
		return
	}
	all := append([]listedFile{first}, ix.more[id]...)
	all = append(all, f)
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].created != all[j].created {
			return all[i].created < all[j].created
		}
		return all[i].id.uuid() < all[j].id.uuid()
	})
	ix.tagged[id], ix.more[id] = all[0], all[1:]
}

// listCoreData lists each parent once, a page at a time (EachFile),
// never one request per file. mapped reports whether the state file maps
// a CoreData id: only those of the untagged files are kept.
func listCoreData(ctx context.Context, l Lister, parents []string, mapped func(string) bool, progress func(parent string, files int)) (*index, error) {
	ix := &index{tagged: map[int64]listedFile{}, more: map[int64][]listedFile{}, untagged: map[string]listedFile{},
		legal: map[string][]coredata.File{}, strs: map[string]string{}}
	seenParent := map[string]bool{}
	seenFile := map[packed16]struct{}{} // not the id strings: they would all stay alive
	for _, p := range parents {
		if p == "" || seenParent[p] {
			continue
		}
		seenParent[p] = true
		ix.parents++
		files := 0
		err := l.EachFile(ctx, p, "", func(f coredata.File) error {
			files++
			key := packUUID(f.ID)
			if _, dup := seenFile[key]; dup {
				return nil // a project lists its folders' files too
			}
			seenFile[key] = struct{}{}
			ix.listed++
			ix.addLegal(f)
			ids := fileTags(f)
			for _, id := range ids {
				ix.add(id, keep(f, id, ix.intern))
			}
			if len(ids) == 0 && mapped(f.ID) {
				ix.untagged[f.ID] = keep(f, 0, ix.intern)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list CoreData parent %s: %w", p, err)
		}
		if progress != nil {
			progress(p, files)
		}
	}
	// The creation times only ordered duplicates: let them go.
	for id, f := range ix.tagged {
		if f.created != "" {
			f.created = ""
			ix.tagged[id] = f
		}
	}
	for _, fs := range ix.more {
		for i := range fs {
			fs[i].created = ""
		}
	}
	return ix, nil
}

// fileTags are the Nexudus Ids a CoreData file is tagged for, each once.
func fileTags(f coredata.File) []int64 {
	var out []int64
	for _, t := range f.Tags {
		id, ok := syncer.ParseFileTag(t)
		if !ok {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == id
		}
		if !dup {
			out = append(out, id)
		}
	}
	return out
}
