package verify

import (
	"context"
	"fmt"
	"sort"

	"github.com/coworkdocs/syncd/internal/coredata"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// index is every CoreData file under the configured parents that carries
// a nexudus-file-<Id> tag, by that Id. Untagged files are not kept.
type index struct {
	tagged map[int64][]coredata.File
	// untagged are the mapped files listed without any such tag (a person
	// removed it), by CoreData id.
	untagged map[string]coredata.File
	// legal are the files tagged for a text or register, by tag.
	legal map[string][]coredata.File
	// listed counts every file seen under the parents, tagged or not.
	listed  int
	parents int
}

// listCoreData lists each parent once, by pages (ListFiles follows them),
// never one request per file.
func listCoreData(ctx context.Context, l Lister, parents []string, mapped map[string]bool, progress func(parent string, files int)) (*index, error) {
	ix := &index{tagged: map[int64][]coredata.File{}, untagged: map[string]coredata.File{}, legal: map[string][]coredata.File{}}
	seenParent := map[string]bool{}
	seenFile := map[string]bool{}
	for _, p := range parents {
		if p == "" || seenParent[p] {
			continue
		}
		seenParent[p] = true
		ix.parents++
		files, err := l.ListFiles(ctx, p, "")
		if err != nil {
			return nil, fmt.Errorf("list CoreData parent %s: %w", p, err)
		}
		for _, f := range files {
			if seenFile[f.ID] {
				continue // a project lists its folders' files too
			}
			seenFile[f.ID] = true
			ix.listed++
			ix.addLegal(f)
			ids := fileTags(f)
			for _, id := range ids {
				ix.tagged[id] = append(ix.tagged[id], f)
			}
			if len(ids) == 0 && mapped[f.ID] {
				ix.untagged[f.ID] = f
			}
		}
		if progress != nil {
			progress(p, len(files))
		}
	}
	for _, fs := range ix.tagged {
		sort.SliceStable(fs, func(i, j int) bool {
			if fs[i].Created != fs[j].Created {
				return fs[i].Created < fs[j].Created
			}
			return fs[i].ID < fs[j].ID
		})
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
