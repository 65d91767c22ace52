package coredatatest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/coworkdocs/syncd"
)

// The simulator against the payloads recorded from the Files [v2]
// document (testdata/api/coredata, see its README.md). The client's
// contract tests decode the same files, so a simulator answer that passes
// here is one the client has been shown to read.

func recorded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := syncd.APIPayload("coredata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameShape fails unless got has the shape of the named recordings.
func sameShape(t *testing.T, what string, got []byte, rules syncd.ShapeRules, names ...string) {
	t.Helper()
	var recs [][]byte
	for _, n := range names {
		recs = append(recs, recorded(t, n))
	}
	diffs, err := syncd.ShapeDiff(got, rules, recs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Errorf("%s differs in shape from %s:\n  %s\nanswer: %s", what, strings.Join(names, ", "), strings.Join(diffs, "\n  "), got)
	}
}

// noProjects are the one accepted difference from the document: the
// simulator knows parents only, no projects or spaces, so it leaves both
// null where the document's examples have objects. The client reads
// neither.
func noProjects(prefix string) []string {
	return []string{prefix + "project", prefix + "space"}
}

// seed creates a file the way syncd does (blob, upload, create) and
// returns its id.
func (h *harness) seed(title, parent, tags string) string {
	h.t.Helper()
	name := h.upload([]byte("%PDF-1.4 " + title))
	resp := h.create(map[string]string{"blob_name": name, "filename": title + ".pdf", "title": title, "parent": parent, "tags": tags})
	h.want(resp, http.StatusCreated)
	id, _ := strings.CutSuffix(strings.TrimPrefix(resp.Header.Get("Location"), "/api/v2/files/"), "/")
	return id
}

func TestFileDetailsHaveTheRecordedShape(t *testing.T) {
	h := newHarness(t, Options{})
	for i, tags := range []string{"", "nexudus, nexudus-file-42"} {
		id := h.seed("Contract "+strconv.Itoa(i), "313ae0be-71cf-11ee-b1e9-ebd554949e29", tags)
		got := h.want(h.do("GET", "/api/v2/files/"+id+"/", nil, nil), http.StatusOK)
		sameShape(t, "file details", got, syncd.ShapeRules{
			Nullable: noProjects(""),
			Layouts:  []string{"created", "modified"}, // no zone, as printed
		}, "file_details.json")
	}
}

func TestFileListHasTheRecordedShape(t *testing.T) {
	h := newHarness(t, Options{PageLimit: 1})
	const parent = "313ae0be-71cf-11ee-b1e9-ebd554949e29"
	h.seed("Sample document", parent, "")
	h.seed("Other document", parent, "nexudus")
	// A first page with a next link and a last one with a previous link:
	// the recordings have null for both, which says they may be null.
	for _, q := range []string{"parent=" + parent, "parent=" + parent + "&offset=1"} {
		got := h.want(h.do("GET", "/api/v2/files/?"+q, nil, nil), http.StatusOK)
		// The project's file list shows the full objects of "Get File
		// details": the same members exactly.
		sameShape(t, "file list", got, syncd.ShapeRules{
			Nullable: noProjects("objects[]."),
			Layouts:  []string{"objects[].created", "objects[].modified"},
		}, "project_file_list.json")
		// The plain file list prints fewer members (an older rendering);
		// every one of them must be there, with its type.
		sameShape(t, "file list", got, syncd.ShapeRules{
			Subset:   true,
			Maps:     []string{"objects[].aspects"},
			Nullable: noProjects("objects[]."),
		}, "file_list.json")
	}
}

func TestBlobAnswerHasTheRecordedShape(t *testing.T) {
	h := newHarness(t, Options{})
	q := url.Values{"content_type": {"application/pdf"}, "content_length": {"3028"}}
	got := h.want(h.do("POST", "/api/v3/blob/presigned-upload-url/?"+q.Encode(), nil, nil), http.StatusOK)
	sameShape(t, "blob answer", got, syncd.ShapeRules{}, "blob.json")

	// The presigned URL has the document's form: /laika/<blobName> with
	// the S3 query-string authentication. (It is http: the simulator
	// listens on loopback; the document's is https.)
	var sim, doc blobAnswer
	if err := json.Unmarshal(got, &sim); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(recorded(t, "blob.json"), &doc); err != nil {
		t.Fatal(err)
	}
	su, err1 := url.Parse(sim.PresignedURL)
	du, err2 := url.Parse(doc.PresignedURL)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	queryNames := func(u *url.URL) []string {
		var out []string
		for k := range u.Query() {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	if du.Path != "/laika/"+doc.BlobName || su.Path != "/laika/"+sim.BlobName {
		t.Errorf("paths %q (blob %s), recorded %q (blob %s)", su.Path, sim.BlobName, du.Path, doc.BlobName)
	}
	if !slices.Equal(queryNames(su), queryNames(du)) {
		t.Errorf("query %v, recorded %v", queryNames(su), queryNames(du))
	}
	if !strings.HasPrefix(su.Query().Get("AWSAccessKeyId"), "s3f:") || !strings.HasPrefix(du.Query().Get("AWSAccessKeyId"), "s3f:") {
		t.Errorf("key ids %q, recorded %q", su.Query().Get("AWSAccessKeyId"), du.Query().Get("AWSAccessKeyId"))
	}
	if len(sim.BlobName) != len(doc.BlobName) || strings.Trim(sim.BlobName, "0123456789abcdef") != "" {
		t.Errorf("blob name %q, recorded %q", sim.BlobName, doc.BlobName)
	}
}

func TestJSONErrorHasTheRecordedShape(t *testing.T) {
	h := newHarness(t, Options{})
	h.s.FailNext(RouteGet, http.StatusInternalServerError, 1)
	for _, c := range []struct {
		what, method, path, auth string
		status                   int
	}{
		{"injected 500", "GET", "/api/v2/files/e139a8ac-7368-11ee-b992-57663b1559fb/", h.key, 500},
		{"unknown file", "GET", "/api/v2/files/e139a8ac-7368-11ee-b992-57663b1559fb/", h.key, 404},
		{"bad limit", "GET", "/api/v2/files/?limit=-1", h.key, 400},
		{"no credentials", "GET", "/api/v2/files/", "none", 401},
		{"blob without a type", "POST", "/api/v3/blob/presigned-upload-url/?content_length=1", h.key, 400},
	} {
		got := h.want(h.do(c.method, c.path, nil, map[string]string{"Authorization": c.auth}), c.status)
		sameShape(t, c.what, got, syncd.ShapeRules{}, "error.json")
	}
}

func TestHTMLErrorPageIsTheRecordedOne(t *testing.T) {
	h := newHarness(t, Options{})
	page := string(recorded(t, "error_page.html"))
	for status, want := range map[int]string{
		502: page,
		504: strings.ReplaceAll(page, "502 Bad Gateway", "504 Gateway Timeout"),
	} {
		h.s.InjectFault(Fault{Route: RouteList, HTML: true, Status: status})
		resp := h.do("GET", "/api/v2/files/", nil, nil)
		if got := string(h.want(resp, status)); got != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("HTML %d (%s):\n%s", status, resp.Header.Get("Content-Type"), got)
		}
	}
	if !strings.Contains(page, "502 Bad Gateway") {
		t.Fatal("the recorded page no longer names its status as the simulator expects")
	}
}
