package sync

import (
	"reflect"
	"testing"

	"github.com/coworkdocs/syncd/internal/coredata"
)

// The compact listing answers as the whole files would, for the files
// that fit it and for the odd ones kept whole.
func TestAuditListingKeepsWhatJudgingNeeds(t *testing.T) {
	const md5 = "0cc175b9c0f1b6a831c399e269772661"
	files := []coredata.File{
		{ID: "a", Parent: "p1", Title: "Contract A", Digest: md5, Created: "2024-03-01T10:00:00", Tags: []string{"nexudus", "nexudus-file-1"}},
		{ID: "b", Parent: "", Title: "Contract B", Digest: "", Created: "2024-03-01T09:00:00Z", Tags: []string{"nexudus-file-1"}},
		{ID: "c", Parent: "p2", Title: "Odd digest", Digest: "sha256:abc", Tags: []string{"nexudus-file-2"}},
		{ID: "d", Parent: "p2", Title: "Two records", Digest: md5, Tags: []string{"nexudus-file-3", "nexudus-file-4", "nexudus-file-3"}},
		{ID: "e", Parent: "p2", Title: "Odd time", Digest: md5, Created: "yesterday", Tags: []string{"nexudus-file-5"}},
		{ID: "f", Parent: "p1", Title: "Untagged", Digest: md5},
		{ID: "a", Parent: "p1", Title: "listed twice (a project and its folder)", Digest: md5},
	}
	ls := newAuditListing(0)
	for _, f := range files {
		ls.add(f, "p1")
	}
	if ls.count() != 6 || len(ls.odd) != 3 {
		t.Fatalf("%d files (%d odd), want 6 (3 odd)", ls.count(), len(ls.odd))
	}
	tests := []struct {
		id       string
		record   int64
		title    string
		want     Held
		renamed  bool
		notFound bool
	}{
		{"a", 1, "Contract A", Held{ID: "a", Parent: "p1", Title: "Contract A", Digest: md5, Tagged: true}, false, false},
		{"a", 1, "Another title", Held{ID: "a", Parent: "p1", Title: "Another title", Digest: md5, Tagged: true}, true, false},
		{"b", 1, "Contract B", Held{ID: "b", Parent: "p1", Title: "Contract B", Tagged: true}, false, false},
		{"c", 2, "whatever", Held{ID: "c", Parent: "p2", Title: "Odd digest", Digest: "sha256:abc", Tagged: true}, false, false},
		{"d", 4, "Two records", Held{ID: "d", Parent: "p2", Title: "Two records", Digest: md5, Tagged: true}, false, false},
		{"e", 5, "Odd time", Held{ID: "e", Parent: "p2", Title: "Odd time", Digest: md5, Tagged: true}, false, false},
		{"f", 6, "Untagged", Held{ID: "f", Parent: "p1", Title: "Untagged", Digest: md5}, false, false},
		{"zz", 1, "", Held{}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.title, func(t *testing.T) {
			h, renamed, ok := ls.held(tt.id, tt.record, tt.title)
			if ok == tt.notFound {
				t.Fatalf("found = %v", ok)
			}
			if !ok {
				return
			}
			if *h != tt.want || renamed != tt.renamed {
				t.Fatalf("held %+v renamed %v, want %+v renamed %v", *h, renamed, tt.want, tt.renamed)
			}
		})
	}
	// Oldest first, whatever the listing order and time format.
	if got := ls.tagged(1); len(got) != 2 || got[0].id != "b" || got[1].id != "a" {
		t.Errorf("tagged(1) = %+v, want b (09:00Z) before a (10:00)", got)
	}
	if got := ls.others(1, "a"); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("others(1, a) = %v", got)
	}
	if got := ls.others(3, "d"); got != nil {
		t.Errorf("a file tagged twice for one record is no duplicate of itself: %v", got)
	}
	if got := ls.tagged(4); len(got) != 1 || got[0].id != "d" {
		t.Errorf("tagged(4) = %+v", got)
	}
}
