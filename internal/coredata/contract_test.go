package coredata

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coworkdocs/syncd"
	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/httpx"
)

// contract is what syncd relies on from CoreData, as one suite that runs
// against the simulator (always) and against a real tenant (with the
// contract build tag and credentials, see contract_real_test.go). A
// difference between the two is a bug in the simulator or in the client.
//
// It creates one file under parent and gives it a second version; nothing
// is deleted (syncd never deletes).
func contract(t *testing.T, c *Client, parent string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stamp := time.Now().UTC().Format("20060102T150405.000")
	title := "syncd contract test " + stamp
	v1 := []byte("%PDF-1.4\n% syncd contract test " + stamp + " v1\n")
	v2 := []byte("%PDF-1.4\n% syncd contract test " + stamp + " v2, signed\n")

	upload := func(body []byte, name string) Blob {
		t.Helper()
		b, err := c.RequestBlob(ctx, "application/pdf", int64(len(body)))
		if err != nil {
			t.Fatalf("request blob: %v", err)
		}
		if err := c.PutBlob(ctx, b, strings.NewReader(string(body)), int64(len(body)), "application/pdf", name); err != nil {
			t.Fatalf("put blob: %v", err)
		}
		return b
	}

	// The three-step create.
	b := upload(v1, "contract.pdf")
	tags := []string{"syncd-contract-test", "nexudus-file-999999999"}
	id, err := c.CreateFile(ctx, NewFile{BlobName: b.Name, Filename: "contract.pdf", Title: title, Parent: parent, Tags: tags})
	if err != nil {
		t.Fatalf("create file: %v", err)
	}
	f, err := c.GetFile(ctx, id)
	if err != nil {
		t.Fatalf("get file: %v", err)
	}
	if f.ID != id || f.Digest != md5hex(v1) || f.Title != title || f.Size != int64(len(v1)) || f.SnapshotID == "" {
		t.Fatalf("created file reads back as %+v", f)
	}
	for _, tag := range tags {
		if !slices.Contains(f.Tags, tag) {
			t.Fatalf("tag %q lost: %v", tag, f.Tags)
		}
	}

	// Listing by parent and title finds it (crash reconciliation and
	// state rebuild depend on this).
	list, err := c.ListFiles(ctx, parent, title)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Digest != f.Digest {
		t.Fatalf("listing by parent and title: %+v", list)
	}

	// A stale snapshot is a conflict; the right one makes a new version.
	b2 := upload(v2, "contract-signed.pdf")
	if _, err := c.UpdateContent(ctx, id, b2.Name, md5hex(v2), "stale-"+f.SnapshotID, "contract-signed.pdf"); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale snapshot: %v, want ErrConflict", err)
	}
	b2 = upload(v2, "contract-signed.pdf")
	v, err := c.UpdateContent(ctx, id, b2.Name, md5hex(v2), f.SnapshotID, "contract-signed.pdf")
	if err != nil {
		t.Fatalf("update content: %v", err)
	}
	f2, err := c.GetFile(ctx, id)
	if err != nil {
		t.Fatalf("get file after update: %v", err)
	}
	if f2.Digest != md5hex(v2) || f2.SnapshotID == f.SnapshotID || (v.SnapshotID != "" && v.SnapshotID != f2.SnapshotID) {
		t.Fatalf("after the content update: %+v (answer %+v)", f2, v)
	}

	// A title change keeps the file.
	if err := c.UpdateMetadata(ctx, id, Metadata{Title: title + " (renamed)", Filename: f2.Filename, Parent: parent, Tags: tags}); err != nil {
		t.Fatalf("update metadata: %v", err)
	}
	f3, err := c.GetFile(ctx, id)
	if err != nil || f3.Title != title+" (renamed)" || f3.Digest != f2.Digest {
		t.Fatalf("after the title change: %+v %v", f3, err)
	}

	if _, err := c.GetFile(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown file: %v, want ErrNotFound", err)
	}
}

func TestContractAgainstSimulator(t *testing.T) {
	sim := coredatatest.New(coredatatest.Options{})
	defer sim.Close()
	c, err := New(Config{BaseURL: sim.URL(), APIUser: sim.APIUser(), APIKey: sim.APIKey()}, sim.Client(), sim.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	contract(t, c, "313ae0be-71cf-11ee-b1e9-ebd554949e29")
}

// The recorded answers (testdata/api/coredata, see its README.md), taken
// from the Files [v2] document, read by the real client code. The
// simulator's tests hold the simulator to the same files, so the client
// reads what the simulator sends because both read what the document shows.

func mustPayload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := syncd.APIPayload("coredata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replayed is one recorded answer: the payload name and its status.
type replayed struct {
	status int
	name   string
}

// replay is a CoreData that answers each route ("GET /api/v2/files/")
// with its recorded answer and logs the requests.
type replay struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

const (
	replayUser = "replay-user"
	replayKey  = "replay-key-5f1e9a"
)

func newReplay(t *testing.T, routes map[string]replayed) *replay {
	t.Helper()
	r := &replay{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Clone(context.Background()))
		r.mu.Unlock()
		a, ok := routes[req.Method+" "+req.URL.Path]
		if !ok {
			http.NotFound(w, req)
			return
		}
		ctype := "application/json"
		if strings.HasSuffix(a.name, ".html") {
			ctype = "text/html"
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(a.status)
		_, _ = w.Write(mustPayload(t, a.name))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *replay) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

// client is a client of r that never retries, so that every answer is
// seen as recorded.
func (r *replay) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: r.srv.URL, APIUser: replayUser, APIKey: replayKey, MaxRetries: -1,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }},
		r.srv.Client(), r.srv.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// "Get File details": every field the client keeps comes out as printed.
func TestRecordedFileDetails(t *testing.T) {
	const id = "e139a8ac-7368-11ee-b992-57663b1559fb"
	r := newReplay(t, map[string]replayed{"GET /api/v2/files/" + id + "/": {http.StatusOK, "file_details.json"}})
	f, err := r.client(t).GetFile(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		ID: id, Digest: "4b41a3475132bd861b30a878e30aa56a",
		SnapshotID: "e139e880-7368-11ee-b992-4bf81dd1b7a4", Title: "sample", Filename: "sample.pdf",
		Parent: "313ae0be-71cf-11ee-b1e9-ebd554949e29", MimeType: "application/pdf",
		BlobName: "103d0b48a25b4197bb3b90bc462abc29", Size: 3028,
		Created: "2023-10-25T19:01:18", Modified: "2023-10-25T19:01:18", Dynatype: "File",
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got  %+v\nwant %+v", f, want)
	}
	reqs := r.requests()
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "apikey "+replayUser+":"+replayKey {
		t.Fatalf("requests %v", reqs)
	}
}

func TestRecordedFileList(t *testing.T) {
	// "List Files in a Project", through ListFiles: one page (meta.next
	// null, total_count 1), the objects as printed, the title filter
	// applied by the client too.
	const parent = "313ae0be-71cf-11ee-b1e9-ebd554949e29"
	r := newReplay(t, map[string]replayed{"GET /api/v2/files/": {http.StatusOK, "project_file_list.json"}})
	c := r.client(t)
	files, err := c.ListFiles(context.Background(), parent, "")
	if err != nil {
		t.Fatal(err)
	}
	want := File{
		ID: "cb2cca52-7422-11ee-91ce-dff1c719d262", Digest: "4b41a3475132bd861b30a878e30aa56a",
		SnapshotID: "cb2ce4ce-7422-11ee-91ce-3be7d5677268", Title: "Sample document", Filename: "sample.pdf",
		Parent: parent, MimeType: "application/pdf", BlobName: "73940fa7c3aa49e4a4416887c0cdd6c3", Size: 3028,
		Created: "2023-10-26T17:12:08", Modified: "2023-10-26T17:12:08", Dynatype: "File",
	}
	if len(files) != 1 || !reflect.DeepEqual(files[0], want) {
		t.Fatalf("files %+v\nwant %+v", files, want)
	}
	if files, err := c.ListFiles(context.Background(), parent, "sample"); err != nil || len(files) != 0 {
		t.Fatalf("another title: %+v, %v", files, err)
	}
	if n := len(r.requests()); n != 2 {
		t.Fatalf("%d requests for two one-page listings", n)
	}
	if q := r.requests()[0].URL.Query(); q.Get("parent") != parent || q.Get("offset") != "0" || q.Get("limit") == "" {
		t.Fatalf("list query %v", q)
	}

	// "List Files": its objects show fewer fields (no blob_name, created,
	// modified), dynatype MeetingNote and an aspect. It elides 147 of its
	// 148 objects, so it is decoded as ListFiles decodes a page, and the
	// page after it is the one the offset says.
	var env listEnvelope
	if err := json.Unmarshal(mustPayload(t, "file_list.json"), &env); err != nil {
		t.Fatal(err)
	}
	if len(env.Objects) != 1 || env.Meta == nil || env.Meta.TotalCount == nil || *env.Meta.TotalCount != 148 || env.Meta.Next != nil {
		t.Fatalf("envelope %+v", env)
	}
	f, err := env.Objects[0].file()
	if err != nil {
		t.Fatal(err)
	}
	want = File{
		ID: "2bb7fb5e-8ef6-11e6-89e1-87ce876944be", Digest: "9466839db23434b227368ef661b92249",
		SnapshotID: "2bb8dd8a-8ef6-11e6-89e1-03c0dbcab4b1", Title: "Meeting notes", Filename: "Meeting notes.pdf",
		Parent: "07dcc00c-897e-11e6-b174-db079186c95c", MimeType: "application/pdf", Size: 27655, Dynatype: "MeetingNote",
	}
	if !reflect.DeepEqual(*f, want) {
		t.Fatalf("got  %+v\nwant %+v", *f, want)
	}
	cur, _ := url.Parse(r.srv.URL + "/api/v2/files/?limit=1000&offset=0")
	next, err := c.nextPage(cur, env)
	if err != nil || next == nil || next.Query().Get("offset") != "1" || next.Host != cur.Host {
		t.Fatalf("next page %v, %v", next, err)
	}
}

// Step 1 of the upload: the v3 answer, camel case.
func TestRecordedBlobAnswer(t *testing.T) {
	r := newReplay(t, map[string]replayed{"POST /api/v3/blob/presigned-upload-url/": {http.StatusOK, "blob.json"}})
	b, err := r.client(t).RequestBlob(context.Background(), "application/pdf", 3028)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		BlobName     string `json:"blobName"`
		PresignedURL string `json:"presignedUrl"`
	}
	if err := json.Unmarshal(mustPayload(t, "blob.json"), &rec); err != nil {
		t.Fatal(err)
	}
	if b.Name != "98c59d020fe547b08cd0df36b1c01b37" || b.Name != rec.BlobName || b.URL != rec.PresignedURL {
		t.Fatalf("blob %#v", b)
	}
	for _, s := range []string{b.String(), b.GoString()} {
		if strings.Contains(s, "vjbmLRn1MjwLVAuYRP8pY9TvNtc") || !strings.Contains(s, b.Name) {
			t.Errorf("the signature is not redacted in %q", s)
		}
	}
	if q := r.requests()[0].URL.Query(); q.Get("content_type") != "application/pdf" || q.Get("content_length") != "3028" {
		t.Fatalf("blob query %v", q)
	}
}

// The error answers: a JSON error and an HTML error page become typed
// errors whose message is the text, not the markup.
func TestRecordedErrorAnswers(t *testing.T) {
	const id = "e139a8ac-7368-11ee-b992-57663b1559fb"
	for _, tt := range []struct {
		name   string
		answer replayed
		kind   error
		text   string
	}{
		{"JSON 500", replayed{http.StatusInternalServerError, "error.json"}, ErrServer, "Sorry, this request could not be processed. Please try again later."},
		{"JSON 404", replayed{http.StatusNotFound, "error.json"}, ErrNotFound, "Sorry, this request could not be processed."},
		{"HTML 502", replayed{http.StatusBadGateway, "error_page.html"}, ErrServer, "502 Bad Gateway 502 Bad Gateway nginx"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplay(t, map[string]replayed{"GET /api/v2/files/" + id + "/": tt.answer})
			_, err := r.client(t).GetFile(context.Background(), id)
			var se *httpx.StatusError
			if !errors.As(err, &se) || se.Status != tt.answer.status || !errors.Is(err, tt.kind) {
				t.Fatalf("err %v", err)
			}
			if !strings.Contains(err.Error(), tt.text) || strings.ContainsAny(err.Error(), "<>") || strings.Contains(err.Error(), replayKey) {
				t.Fatalf("message %q lacks %q or has markup or the key", err, tt.text)
			}
		})
	}
}
