package sync

import (
	"encoding/hex"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata"
)

// auditListing is every file under the listed parents, by CoreData id,
// and who is tagged where. At 100,000 files it must fit the daemon's
// memory beside everything else (SPEC: ≤ 128 MiB), so a file is kept in
// about 50 bytes plus its id: its digest as bytes, its title as a hash
// (a renamed file is read by id to learn its new title), its parent as
// an index, its first nexudus-file-<Id> tag. The rare file that does not
// fit (a digest that is not md5 hex, an unparsable created time, more
// than one nexudus-file tag) is kept whole in odd.
type auditListing struct {
	files map[string]heldFile
	odd   map[string]*coredata.File
	byTag map[int64]string   // the first file tagged for a record
	extra map[int64][]string // the others: duplicates
	// legal are the files with a nexudus-legal-* tag (texts, registers;
	// few), by tag; they are kept whole in odd.
	legal   map[string][]string
	parents []string // the parents, interned; heldFile.parent indexes it
	parent  map[string]uint32
	listed  []string // the parents listed, in listing order
}

// heldFile is the compact form of one listed CoreData file.
type heldFile struct {
	digest   [md5Len]byte
	created  int64 // unix nanoseconds, UTC
	titleSum uint64
	tag      int64 // the Nexudus Id of its nexudus-file tag; 0: none
	parent   uint32
	noDigest bool
}

const md5Len = 16

func newAuditListing(sizeHint int) *auditListing {
	return &auditListing{
		files: make(map[string]heldFile, sizeHint), odd: map[string]*coredata.File{},
		byTag: make(map[int64]string, sizeHint), extra: map[int64][]string{}, parent: map[string]uint32{},
		legal: map[string][]string{},
	}
}

// add keeps one listed file; listed is the parent it was listed under
// (its own parent when CoreData leaves that empty).
func (ls *auditListing) add(f coredata.File, listed string) {
	if _, dup := ls.files[f.ID]; dup {
		return // a project lists its folders' files too
	}
	if _, dup := ls.odd[f.ID]; dup {
		return
	}
	if f.Parent == "" {
		f.Parent = listed
	}
	var ids []int64
	for _, t := range f.Tags {
		if id, ok := ParseFileTag(t); ok && !containsID(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		if _, ok := ls.byTag[id]; ok {
			ls.extra[id] = append(ls.extra[id], f.ID)
		} else {
			ls.byTag[id] = f.ID
		}
	}
	legalFile := false
	for _, t := range f.Tags {
		if isLegalTag(t) && !containsString(ls.legal[t], f.ID) {
			ls.legal[t] = append(ls.legal[t], f.ID)
			legalFile = true
		}
	}
	hf, ok := compact(f, ids)
	if !ok || legalFile {
		cp := f
		ls.odd[f.ID] = &cp
		return
	}
	hf.parent = ls.internParent(f.Parent)
	ls.files[f.ID] = hf
}

func compact(f coredata.File, ids []int64) (heldFile, bool) {
	var hf heldFile
	if len(ids) > 1 {
		return hf, false
	}
	if len(ids) == 1 {
		hf.tag = ids[0]
	}
	switch d := strings.TrimSpace(f.Digest); {
	case d == "":
		hf.noDigest = true
	case len(d) != 2*md5Len:
		return hf, false
	default:
		if _, err := hex.Decode(hf.digest[:], []byte(d)); err != nil {
			return hf, false
		}
	}
	if f.Created != "" {
		t, ok := parseCreated(f.Created)
		if !ok {
			return hf, false
		}
		hf.created = t.UnixNano()
	}
	hf.titleSum = titleSum(f.Title)
	return hf, true
}

// CoreData writes times with or without a zone; without one they are UTC.
var createdLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"}

func parseCreated(s string) (time.Time, bool) {
	for _, l := range createdLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func titleSum(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

func containsString(ss []string, s string) bool {
	for _, o := range ss {
		if o == s {
			return true
		}
	}
	return false
}

func containsID(ids []int64, id int64) bool {
	for _, o := range ids {
		if o == id {
			return true
		}
	}
	return false
}

func (ls *auditListing) internParent(p string) uint32 {
	if i, ok := ls.parent[p]; ok {
		return i
	}
	i := uint32(len(ls.parents))
	ls.parents = append(ls.parents, p)
	ls.parent[p] = i
	return i
}

// count is how many distinct files were listed.
func (ls *auditListing) count() int { return len(ls.files) + len(ls.odd) }

// held is what the listing shows of the mapped file id for the record
// nexudusID, and false when it was not listed. title is the title the
// caller expects: a file whose title hash matches it carries it; one
// that does not reports renamed, with no title (the caller reads it).
func (ls *auditListing) held(id string, nexudusID int64, title string) (h *Held, renamed, ok bool) {
	if f, isOdd := ls.odd[id]; isOdd {
		return &Held{ID: id, Parent: f.Parent, Title: f.Title, Digest: f.Digest, Tagged: hasFileTag(f.Tags, nexudusID)}, false, true
	}
	hf, ok := ls.files[id]
	if !ok {
		return nil, false, false
	}
	h = &Held{ID: id, Parent: ls.parents[hf.parent], Title: title, Tagged: hf.tag == nexudusID}
	if !hf.noDigest {
		h.Digest = hex.EncodeToString(hf.digest[:])
	}
	return h, hf.titleSum != titleSum(title), true
}

// tagged are the files tagged for a record, oldest first, in the form
// the lookups take.
func (ls *auditListing) tagged(nexudusID int64) []tagged {
	first, ok := ls.byTag[nexudusID]
	if !ok {
		return nil
	}
	ids := append([]string{first}, ls.extra[nexudusID]...)
	out := make([]tagged, 0, len(ids))
	for _, id := range ids {
		out = append(out, tagged{id: id, created: ls.created(id)})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].created < out[j].created })
	return out
}

// others are the files tagged for a record besides id.
func (ls *auditListing) others(nexudusID int64, id string) []string {
	var out []string
	for _, t := range ls.tagged(nexudusID) {
		if t.id != id {
			out = append(out, t.id)
		}
	}
	return out
}

// created is a file's created time in one fixed-width form, so that
// strings compare as times do.
func (ls *auditListing) created(id string) string {
	if f, ok := ls.odd[id]; ok {
		if t, ok := parseCreated(f.Created); ok {
			return t.Format(createdKeyLayout)
		}
		return f.Created
	}
	hf := ls.files[id]
	if hf.created == 0 {
		return ""
	}
	return time.Unix(0, hf.created).UTC().Format(createdKeyLayout)
}

const createdKeyLayout = "2006-01-02T15:04:05.000000000"
