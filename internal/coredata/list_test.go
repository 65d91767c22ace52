package coredata

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
)

func TestListFilesPagesThroughSimulator(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	for i := 0; i < 2500; i++ {
		e.sim.AddFile(coredatatest.NewFile{Parent: "p1", Title: "T" + strconv.Itoa(i%50), Filename: "f.pdf", Tags: []string{"nexudus-file-" + strconv.Itoa(i)}})
	}
	e.sim.AddFile(coredatatest.NewFile{Parent: "p2", Title: "T0", Filename: "f.pdf"})
	ctx := context.Background()

	tests := []struct {
		parent, title string
		want, pages   int
	}{
		{"p1", "", 2500, 3},
		{"p1", "T0", 50, 1},
		{"p2", "T0", 1, 1},
		{"p1", "T", 0, 1}, // exact title, not a prefix
		{"p3", "", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.parent+"/"+tt.title, func(t *testing.T) {
			e.sim.ResetCounts()
			fs, err := e.c.ListFiles(ctx, tt.parent, tt.title)
			if err != nil {
				t.Fatal(e.check(err))
			}
			if len(fs) != tt.want || e.sim.Count(coredatatest.RouteList) != tt.pages {
				t.Fatalf("%d files in %d pages, want %d in %d", len(fs), e.sim.Count(coredatatest.RouteList), tt.want, tt.pages)
			}
			seen := map[string]bool{}
			for _, f := range fs {
				if f.Parent != tt.parent || (tt.title != "" && f.Title != tt.title) || seen[f.ID] || len(f.Tags) > 1 {
					t.Fatalf("unexpected or duplicate file %+v", f)
				}
				seen[f.ID] = true
			}
			for _, r := range e.sim.Requests() {
				if r.Query["parent"][0] != tt.parent || r.Query["limit"][0] != "1000" || (tt.title != "" && r.Query["title"][0] != tt.title) {
					t.Fatalf("query %v", r.Query)
				}
			}
		})
	}
}

// TestListFilesPaging drives ListFiles against servers that page
// differently from the simulator.
func TestListFilesPaging(t *testing.T) {
	obj := func(id, parent, title string) string {
		return fmt.Sprintf(`{"id":%q,"parent":%q,"title":%q,"digest":"d","snapshot_id":"s","tags":[]}`, id, parent, title)
	}
	tests := []struct {
		name     string
		pages    func(offset string) string // body for a request with this offset
		title    string
		want     []string // ids
		wantText string   // error text
		requests int
	}{
		{
			name: "offset when next is missing",
			pages: func(off string) string {
				switch off {
				case "0":
					return `{"meta":{"total_count":3,"offset":0},"objects":[` + obj("a", "p", "T") + "," + obj("b", "p", "T") + `]}`
				case "2":
					return `{"meta":{"total_count":3,"offset":2},"objects":[` + obj("c", "p", "T") + `]}`
				}
				return `{"meta":{"total_count":3},"objects":[]}`
			},
			want: []string{"a", "b", "c"}, requests: 2,
		},
		{
			name:  "no meta: one page",
			pages: func(string) string { return `{"objects":[` + obj("a", "p", "T") + `]}` },
			want:  []string{"a"}, requests: 1,
		},
		{
			// The title is checked again; the parent is the server's word,
			// since a file in a project may report a folder of it.
			name:  "server ignoring the title filter",
			title: "T",
			pages: func(string) string {
				return `{"meta":{"next":null,"total_count":3},"objects":[` + obj("a", "p", "T") + "," + obj("b", "project-folder", "T") + "," + obj("c", "p", "Tx") + `]}`
			},
			want: []string{"a", "b"}, requests: 1,
		},
		{
			name: "parent as object, absolute next on the same host",
			pages: func(off string) string {
				if off == "0" {
					return `{"meta":{"next":"NEXT"},"objects":[{"id":"a","parent":{"id":"p"},"title":"T"}]}`
				}
				return `{"meta":{"next":null},"objects":[{"resource_uri":"/api/v2/files/b/","parent":"p","title":"T"}]}`
			},
			want: []string{"a", "b"}, requests: 2,
		},
		{
			name: "next on another host",
			pages: func(string) string {
				return `{"meta":{"next":"https://evil.example/api/v2/files/?offset=1"},"objects":[]}`
			},
			wantText: "another host", requests: 1,
		},
		{
			name: "next repeating a page",
			pages: func(string) string {
				return `{"meta":{"next":"/api/v2/files/?limit=1000&offset=0&parent=p"},"objects":[]}`
			},
			wantText: "repeats", requests: 1,
		},
		{
			name:     "object without id",
			pages:    func(string) string { return `{"meta":{},"objects":[{"title":"T"}]}` },
			wantText: "no valid id", requests: 1,
		},
		{
			name:     "objects of the wrong type",
			pages:    func(string) string { return `{"meta":{},"objects":{"a":1}}` },
			wantText: "malformed JSON", requests: 1,
		},
		{
			name:     "unparsable next",
			pages:    func(string) string { return `{"meta":{"next":"http://[::1"},"objects":[]}` },
			wantText: "not a URL", requests: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			var base string
			c, check := customClient(t, func(w http.ResponseWriter, r *http.Request) {
				n++
				if r.URL.Path != "/api/v2/files/" || r.Header.Get("Authorization") != "apikey u:custom-key-secret" {
					t.Errorf("request %s with auth %q", r.URL, r.Header.Get("Authorization"))
				}
				w.Header().Set("Content-Type", "application/json")
				body := tt.pages(r.URL.Query().Get("offset"))
				w.Write([]byte(strings.ReplaceAll(body, "NEXT", base+"/api/v2/files/?parent=p&offset=1")))
			})
			base = strings.TrimSuffix(c.base.String(), "/")
			fs, err := c.ListFiles(context.Background(), "p", tt.title)
			check(err)
			if tt.wantText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("err = %v, want %q", err, tt.wantText)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, f := range fs {
					ids = append(ids, f.ID)
				}
				if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
					t.Fatalf("ids %v, want %v", ids, tt.want)
				}
			}
			if n != tt.requests {
				t.Fatalf("%d requests, want %d", n, tt.requests)
			}
		})
	}
}

// TestServerAnswersOutsideTheSimulator covers answers CoreData may give
// that the simulator does not: a 201 without Location, a digest that
// differs from the one sent.
func TestServerAnswersOutsideTheSimulator(t *testing.T) {
	c, check := customClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST":
			w.WriteHeader(http.StatusCreated)
		case strings.HasSuffix(r.URL.Path, "/content/"):
			w.Header().Set("X-Coredata-fields-filedigest", "ffffffffffffffffffffffffffffffff")
			w.Header().Set("X-Coredata-fields-snapshot-id", "snap-2")
			w.WriteHeader(http.StatusCreated)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":"a","size":-1}`))
		}
	})
	ctx := context.Background()
	_, err := c.CreateFile(ctx, NewFile{BlobName: "b", Filename: "f", Title: "t", Parent: "p"})
	if !errors.Is(check(err), ErrOutcomeUnknown) || !strings.Contains(err.Error(), "no location") {
		t.Fatalf("201 without Location: %v", err)
	}
	v, err := c.UpdateContent(ctx, "a", "b", "00000000000000000000000000000000", "", "")
	if !errors.Is(check(err), ErrDigestMismatch) || v.SnapshotID != "snap-2" {
		t.Fatalf("digest mismatch: %v %+v", err, v)
	}
	if _, err := c.GetFile(ctx, "a"); check(err) == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("negative size: %v", err)
	}
}
