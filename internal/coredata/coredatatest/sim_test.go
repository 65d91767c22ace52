package coredatatest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// harness drives a simulator with raw HTTP, as the document's curl
// examples do.
type harness struct {
	t   *testing.T
	s   *Server
	hc  *http.Client
	key string
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	s := New(opts)
	t.Cleanup(s.Close)
	hc := s.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &harness{t: t, s: s, hc: hc, key: "apikey " + s.APIUser() + ":" + s.APIKey()}
}

func (h *harness) do(method, target string, body io.Reader, hdr map[string]string) *http.Response {
	h.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = h.s.URL() + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, ok := hdr["Authorization"]; !ok {
		req.Header.Set("Authorization", h.key)
	}
	for k, v := range hdr {
		if k == "Content-Length" {
			req.ContentLength, _ = strconv.ParseInt(v, 10, 64)
			continue
		}
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, target, err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (h *harness) want(resp *http.Response, code int) []byte {
	h.t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		h.t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, code, b)
	}
	return b
}

type blobAnswer struct {
	BlobName     string `json:"blobName"`
	PresignedURL string `json:"presignedUrl"`
}

func (h *harness) blob(ctype string, n int) blobAnswer {
	h.t.Helper()
	q := url.Values{"content_type": {ctype}, "content_length": {strconv.Itoa(n)}}
	b := h.want(h.do("POST", "/api/v3/blob/presigned-upload-url/?"+q.Encode(), nil, nil), 200)
	var a blobAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		h.t.Fatal(err)
	}
	return a
}

func (h *harness) upload(content []byte) string {
	h.t.Helper()
	a := h.blob("application/pdf", len(content))
	h.want(h.do("PUT", a.PresignedURL, bytes.NewReader(content), map[string]string{"Content-Type": "application/pdf", "Slug": "x.pdf", "Authorization": ""}), 201)
	return a.BlobName
}

func multipartBody(t *testing.T, fields map[string]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

func (h *harness) create(fields map[string]string) *http.Response {
	h.t.Helper()
	body, ct := multipartBody(h.t, fields)
	return h.do("POST", "/api/v2/files/", body, map[string]string{"Content-Type": ct})
}

func (h *harness) getJSON(path string) map[string]any {
	h.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.want(h.do("GET", path, nil, nil), 200), &m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t, Options{APIUser: "u", APIKey: "k3y"})
	tests := []struct {
		name, auth string
		want       int
	}{
		{"missing", "", 401},
		{"wrong key", "apikey u:nope", 401},
		{"key without user", "apikey k3y", 401},
		{"other scheme", "Bearer u:k3y", 401},
		{"valid", "apikey u:k3y", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.do("GET", "/api/v2/files/", nil, map[string]string{"Authorization": tt.auth})
			h.want(resp, tt.want)
			if tt.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// Storage is authenticated by the presigned URL alone.
	if got := h.s.Count(RouteList); got != len(tests) {
		t.Errorf("list counter = %d, want %d", got, len(tests))
	}
}

func TestTrailingSlashRedirect(t *testing.T) {
	h := newHarness(t, Options{})
	for _, p := range []string{"/api/v2/files?parent=p1", "/api/v3/blob/presigned-upload-url", "/api/v2/files/abc"} {
		t.Run(p, func(t *testing.T) {
			resp := h.do("GET", p, nil, nil)
			h.want(resp, http.StatusMovedPermanently)
			path, query, _ := strings.Cut(p, "?")
			want := path + "/"
			if query != "" {
				want += "?" + query
			}
			if got := resp.Header.Get("Location"); got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}
		})
	}
	if n := len(h.s.Files()); n != 0 {
		t.Fatalf("redirect created files: %d", n)
	}
}

func TestUploadFlowMatchesDocument(t *testing.T) {
	h := newHarness(t, Options{KeepContent: true})
	content := []byte("%PDF-1.4 signed contract")
	a := h.blob("application/pdf", len(content))
	u, err := url.Parse(a.PresignedURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/laika/"+a.BlobName || q.Get("AWSAccessKeyId") == "" || q.Get("Signature") == "" || q.Get("Expires") == "" {
		t.Fatalf("presigned URL shape: %s", a.PresignedURL)
	}
	exp, _ := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if d := time.Unix(exp, 0).Sub(h.s.Now()); d < 14*time.Minute || d > 15*time.Minute+time.Second {
		t.Errorf("Expires %v from now, want the 15m default TTL", d)
	}
	resp := h.do("PUT", a.PresignedURL, bytes.NewReader(content), map[string]string{"Content-Type": "application/pdf", "Slug": "contract.pdf", "Authorization": ""})
	h.want(resp, 201)
	if bi, _ := h.s.Blob(a.BlobName); !bi.Uploaded || bi.MD5 != md5hex(content) || bi.Slug != "contract.pdf" || bi.Size != int64(len(content)) {
		t.Fatalf("blob after upload: %+v", bi)
	}

	resp = h.create(map[string]string{"blob_name": a.BlobName, "filename": "contract.pdf", "title": "Contract", "parent": "p1", "tags": "nexudus, nexudus-file-42,,"})
	h.want(resp, 201)
	loc := resp.Header.Get("Location")
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/api/v2/files/"), "/")
	if !strings.HasPrefix(loc, "/api/v2/files/") || !strings.HasSuffix(loc, "/") || len(id) != 36 {
		t.Fatalf("Location = %q", loc)
	}

	doc := h.getJSON(loc)
	// Every field of the document's "Get File details" example.
	for _, k := range []string{"aspects", "blob_name", "category", "created", "created_by", "description", "digest",
		"dynatype", "filename", "fileplan", "fileplan_title", "folder", "id", "mime_type", "modified", "modified_by",
		"owner", "parent", "path", "project", "resource_uri", "size", "snapshot_id", "space", "tags", "template",
		"title", "type", "userhome", "version"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("file JSON lacks %q (has %v)", k, keys(doc))
		}
	}
	checks := map[string]any{
		"id": id, "digest": md5hex(content), "title": "Contract", "filename": "contract.pdf", "parent": "p1",
		"mime_type": "application/pdf", "size": float64(len(content)), "resource_uri": loc, "blob_name": a.BlobName,
	}
	for k, want := range checks {
		if doc[k] != want {
			t.Errorf("%s = %v, want %v", k, doc[k], want)
		}
	}
	if dt, _ := doc["dynatype"].(map[string]any); dt["title"] != "File" {
		t.Errorf("dynatype = %v, want title File by default", doc["dynatype"])
	}
	if tags, _ := json.Marshal(doc["tags"]); string(tags) != `["nexudus","nexudus-file-42"]` {
		t.Errorf("tags = %s", tags)
	}
	f, ok := h.s.File(id)
	if !ok || !bytes.Equal(f.Content, content) || len(f.Versions) != 1 || f.SnapshotID != doc["snapshot_id"] {
		t.Fatalf("FileInfo = %+v", f)
	}
	want := map[Route]int{RouteBlob: 1, RouteStorage: 1, RouteCreate: 1, RouteGet: 1}
	for r, n := range want {
		if got := h.s.Count(r); got != n {
			t.Errorf("count[%s] = %d, want %d", r, got, n)
		}
	}
	reqs := h.s.Requests()
	if len(reqs) != 4 || reqs[2].Route != RouteCreate || reqs[2].Form["title"] != "Contract" || reqs[2].Status != 201 {
		t.Fatalf("request log: %+v", reqs)
	}
}

func TestBlobRequestValidation(t *testing.T) {
	h := newHarness(t, Options{})
	for _, q := range []string{"content_length=5", "content_type=a/b", "content_type=a/b&content_length=-1", "content_type=a/b&content_length=x"} {
		h.want(h.do("POST", "/api/v3/blob/presigned-upload-url/?"+q, nil, nil), 400)
	}
	h.want(h.do("GET", "/api/v3/blob/presigned-upload-url/?content_type=a/b&content_length=1", nil, nil), 405)
}

func TestStorageChecks(t *testing.T) {
	content := []byte("0123456789")
	tests := []struct {
		name     string
		prepare  func(h *harness)
		mutate   func(u string) string
		ctype    string
		body     []byte
		length   string
		want     int
		wantCode string
	}{
		{name: "ok", want: 201},
		{name: "expired by clock", prepare: func(h *harness) { h.s.Advance(16 * time.Minute) }, want: 403, wantCode: "AccessDenied"},
		{name: "forced expiry", prepare: func(h *harness) { h.s.ExpireNextURLs(1) }, want: 403, wantCode: "AccessDenied"},
		{name: "bad signature", mutate: func(u string) string { return strings.Replace(u, "Signature=", "Signature=x", 1) }, want: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "tampered expiry", mutate: func(u string) string { return strings.Replace(u, "Expires=", "Expires=9", 1) }, want: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "other content type", ctype: "text/plain", want: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "short body", body: content[:4], want: 400},
		{name: "long body", body: append(content, 'x'), want: 400},
		{name: "length header lies", length: "4", want: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
			a := h.blob("application/pdf", len(content))
			if tt.prepare != nil {
				tt.prepare(h)
			}
			u := a.PresignedURL
			if tt.mutate != nil {
				u = tt.mutate(u)
			}
			ctype, body := "application/pdf", content
			if tt.ctype != "" {
				ctype = tt.ctype
			}
			if tt.body != nil {
				body = tt.body
			}
			hdr := map[string]string{"Content-Type": ctype, "Authorization": ""}
			if tt.length != "" {
				hdr["Content-Length"] = tt.length
				body = body[:4]
			}
			resp := h.do("PUT", u, bytes.NewReader(body), hdr)
			b := h.want(resp, tt.want)
			if tt.wantCode != "" && !strings.Contains(string(b), "<Code>"+tt.wantCode+"</Code>") {
				t.Errorf("body %s lacks code %s", b, tt.wantCode)
			}
			if bi, _ := h.s.Blob(a.BlobName); bi.Uploaded != (tt.want == 201) {
				t.Errorf("uploaded = %v after status %d", bi.Uploaded, tt.want)
			}
		})
	}
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t, Options{})
	good := func() map[string]string {
		return map[string]string{"blob_name": h.upload([]byte("abc")), "filename": "a.pdf", "title": "A", "parent": "p"}
	}
	for _, missing := range []string{"blob_name", "filename", "title", "parent"} {
		t.Run("missing "+missing, func(t *testing.T) {
			f := good()
			delete(f, missing)
			h.want(h.create(f), 400)
		})
	}
	t.Run("unknown blob", func(t *testing.T) {
		f := good()
		f["blob_name"] = "nope"
		h.want(h.create(f), 400)
	})
	t.Run("blob not uploaded", func(t *testing.T) {
		f := good()
		f["blob_name"] = h.blob("application/pdf", 3).BlobName
		h.want(h.create(f), 400)
	})
	t.Run("blob used once", func(t *testing.T) {
		f := good()
		h.want(h.create(f), 201)
		f["title"] = "B"
		h.want(h.create(f), 400)
	})
	t.Run("not multipart", func(t *testing.T) {
		h.want(h.do("POST", "/api/v2/files/", strings.NewReader("{}"), map[string]string{"Content-Type": "application/json"}), 400)
	})
	t.Run("dynatype kept", func(t *testing.T) {
		f := good()
		f["dynatype"] = "Contract"
		resp := h.create(f)
		h.want(resp, 201)
		doc := h.getJSON(resp.Header.Get("Location"))
		if dt := doc["dynatype"].(map[string]any); dt["title"] != "Contract" {
			t.Fatalf("dynatype %v", dt)
		}
	})
	t.Run("direct content", func(t *testing.T) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		fw, _ := w.CreateFormFile("content", "direct.pdf")
		fw.Write([]byte("direct bytes"))
		w.WriteField("title", "D")
		w.WriteField("parent", "p")
		w.Close()
		resp := h.do("POST", "/api/v2/files/", &buf, map[string]string{"Content-Type": w.FormDataContentType()})
		h.want(resp, 201)
		doc := h.getJSON(resp.Header.Get("Location"))
		if doc["digest"] != md5hex([]byte("direct bytes")) || doc["filename"] != "direct.pdf" {
			t.Fatalf("direct upload: %v", doc)
		}
	})
}

func TestContentUpdate(t *testing.T) {
	h := newHarness(t, Options{})
	v1 := []byte("version one")
	resp := h.create(map[string]string{"blob_name": h.upload(v1), "filename": "a.pdf", "title": "A", "parent": "p"})
	h.want(resp, 201)
	loc := resp.Header.Get("Location")
	snap1 := h.getJSON(loc)["snapshot_id"].(string)

	v2 := []byte("version two")
	blob2 := h.upload(v2)
	put := func(q url.Values) *http.Response {
		return h.do("PUT", loc+"content/?"+q.Encode(), nil, nil)
	}
	h.want(put(url.Values{"blob_name": {blob2}, "digest": {md5hex(v1)}, "snapshot_id": {snap1}}), 400) // digest of other bytes
	h.want(put(url.Values{"blob_name": {blob2}, "snapshot_id": {snap1}}), 400)                         // no digest
	h.want(put(url.Values{"blob_name": {blob2}, "digest": {md5hex(v2)}, "snapshot_id": {"stale"}}), 409)
	h.want(h.do("PUT", "/api/v2/files/00000000-0000-0000-0000-000000000000/content/?blob_name="+blob2+"&digest="+md5hex(v2), nil, nil), 404)

	resp = put(url.Values{"blob_name": {blob2}, "digest": {strings.ToUpper(md5hex(v2))}, "snapshot_id": {snap1}})
	h.want(resp, 201)
	snap2 := resp.Header.Get("X-Coredata-fields-snapshot-id")
	if got := resp.Header.Get("X-Coredata-fields-filedigest"); got != md5hex(v2) {
		t.Errorf("filedigest header = %q", got)
	}
	if snap2 == "" || snap2 == snap1 {
		t.Errorf("snapshot header = %q (was %q)", snap2, snap1)
	}
	// The old snapshot is now stale.
	h.want(put(url.Values{"blob_name": {h.upload([]byte("v3"))}, "digest": {md5hex([]byte("v3"))}, "snapshot_id": {snap1}}), 409)
	// The blob backs one version only.
	h.want(put(url.Values{"blob_name": {blob2}, "digest": {md5hex(v2)}}), 400)

	doc := h.getJSON(loc)
	if doc["digest"] != md5hex(v2) || doc["snapshot_id"] != snap2 {
		t.Fatalf("after update: %v", doc)
	}
	f, _ := h.s.File(doc["id"].(string))
	if len(f.Versions) != 2 || f.Versions[0].Digest != md5hex(v1) || f.Versions[1].SnapshotID != snap2 || f.Versions[1].BlobName != blob2 {
		t.Fatalf("versions: %+v", f.Versions)
	}

	// Raw body upload, without a blob.
	resp = h.do("PUT", loc+"content/?filename=b.pdf", strings.NewReader("raw"), map[string]string{"Content-Type": "application/octet-stream"})
	h.want(resp, 201)
	if f, _ := h.s.File(doc["id"].(string)); f.Digest != md5hex([]byte("raw")) || f.Filename != "b.pdf" || len(f.Versions) != 3 {
		t.Fatalf("raw update: %+v", f)
	}
}

func TestMetadataAndDelete(t *testing.T) {
	h := newHarness(t, Options{TagObjects: true})
	id := h.s.AddFile(NewFile{Parent: "p", Title: "Old", Filename: "a.pdf", Tags: []string{"x"}, Content: []byte("c")})
	path := "/api/v2/files/" + id + "/"
	js := map[string]string{"Content-Type": "application/json"}
	h.want(h.do("PUT", path, strings.NewReader(`{"title":"New","filename":"b.pdf","parent":"p2","tags":"a, b"}`), js), 204)
	h.want(h.do("PUT", path, strings.NewReader(`{"title":"New"}`), js), 400)
	h.want(h.do("PUT", path, strings.NewReader(`{"title":"New","filename":"b.pdf","parent":"p2"}`), nil), 400)
	h.want(h.do("PUT", path, strings.NewReader(`not json`), js), 400)
	doc := h.getJSON(path)
	tags, _ := json.Marshal(doc["tags"])
	if doc["title"] != "New" || doc["filename"] != "b.pdf" || doc["parent"] != "p2" || string(tags) != `[{"name":"a","title":"a"},{"name":"b","title":"b"}]` {
		t.Fatalf("after metadata update: %v %s", doc, tags)
	}
	h.want(h.do("DELETE", path, nil, nil), 204)
	h.want(h.do("GET", path, nil, nil), 404)
	h.want(h.do("DELETE", path, nil, nil), 404)
	if len(h.s.Files()) != 0 || h.s.Count(RouteDelete) != 2 {
		t.Fatalf("files %d, deletes %d", len(h.s.Files()), h.s.Count(RouteDelete))
	}
}

func TestListEnvelope(t *testing.T) {
	h := newHarness(t, Options{})
	for i := 0; i < 25; i++ {
		h.s.AddFile(NewFile{Parent: "p1", Title: "T" + strconv.Itoa(i%3), Filename: "f.pdf"})
	}
	h.s.AddFile(NewFile{Parent: "p2", Title: "T0", Filename: "f.pdf"})

	var env struct {
		Meta    map[string]any   `json:"meta"`
		Objects []map[string]any `json:"objects"`
	}
	get := func(p string) {
		t.Helper()
		env.Meta, env.Objects = nil, nil
		if err := json.Unmarshal(h.want(h.do("GET", p, nil, nil), 200), &env); err != nil {
			t.Fatal(err)
		}
	}
	get("/api/v2/files/?parent=p1")
	if got := strings.Join(keys(env.Meta), ","); got != "limit,next,offset,previous,total_count" {
		t.Fatalf("meta keys = %s", got)
	}
	if env.Meta["limit"] != float64(20) || env.Meta["offset"] != float64(0) || env.Meta["total_count"] != float64(25) || env.Meta["previous"] != nil || len(env.Objects) != 20 {
		t.Fatalf("first page meta %v, %d objects", env.Meta, len(env.Objects))
	}
	next, _ := env.Meta["next"].(string)
	nu, err := url.Parse(next)
	if err != nil || nu.Path != "/api/v2/files/" || nu.Query().Get("offset") != "20" || nu.Query().Get("parent") != "p1" || nu.Host != "" {
		t.Fatalf("next = %q", next)
	}
	get(next)
	if len(env.Objects) != 5 || env.Meta["next"] != nil || env.Meta["previous"] == nil {
		t.Fatalf("second page meta %v, %d objects", env.Meta, len(env.Objects))
	}

	tests := []struct {
		query string
		want  int
	}{
		{"parent=p1&title=T0", 9},
		{"parent=p2&title=T0", 1},
		{"parent=p1&title=T", 0}, // exact match, not prefix
		{"title=T0&limit=100", 10},
		{"limit=100", 26},
		{"parent=p1&limit=10&offset=20", 5},
		{"parent=p1&offset=30", 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			get("/api/v2/files/?" + tt.query)
			if len(env.Objects) != tt.want {
				t.Fatalf("%d objects, want %d", len(env.Objects), tt.want)
			}
		})
	}
	h.want(h.do("GET", "/api/v2/files/?limit=-1", nil, nil), 400)
	h.want(h.do("GET", "/api/v2/files/?offset=x", nil, nil), 400)
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      func(s *Server)
		wantStatus int // 0: connection dropped
		wantFile   bool
		check      func(t *testing.T, resp *http.Response, body []byte)
	}{
		{name: "500", fault: func(s *Server) { s.FailNext(RouteCreate, 500, 1) }, wantStatus: 500},
		{name: "429", fault: func(s *Server) { s.ThrottleNext(RouteCreate, "7", 1) }, wantStatus: 429,
			check: func(t *testing.T, resp *http.Response, _ []byte) {
				if resp.Header.Get("Retry-After") != "7" {
					t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
				}
			}},
		{name: "html", fault: func(s *Server) { s.InjectFault(Fault{Route: RouteCreate, HTML: true}) }, wantStatus: 502,
			check: func(t *testing.T, resp *http.Response, body []byte) {
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html>") {
					t.Errorf("not an HTML page: %s", body)
				}
			}},
		{name: "other route untouched", fault: func(s *Server) { s.FailNext(RouteGet, 500, 1) }, wantStatus: 201, wantFile: true},
		{name: "drop before apply", fault: func(s *Server) { s.DropNext(RouteCreate, false, 1) }},
		{name: "drop after apply", fault: func(s *Server) { s.DropNext(RouteCreate, true, 1) }, wantFile: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			blobName := h.upload([]byte("abc"))
			tt.fault(h.s)
			body, ct := multipartBody(t, map[string]string{"blob_name": blobName, "filename": "a.pdf", "title": "A", "parent": "p"})
			req, _ := http.NewRequest("POST", h.s.URL()+"/api/v2/files/", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", h.key)
			resp, err := h.hc.Do(req)
			if tt.wantStatus == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("got status %d, want a broken connection", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				if tt.check != nil {
					tt.check(t, resp, b)
				}
			}
			if got := len(h.s.Files()); got != map[bool]int{false: 0, true: 1}[tt.wantFile] {
				t.Fatalf("%d files after fault", got)
			}
			if h.s.Count(RouteCreate) != 1 {
				t.Fatalf("create count %d", h.s.Count(RouteCreate))
			}
		})
	}
}

func TestFaultTimesAndClear(t *testing.T) {
	h := newHarness(t, Options{})
	h.s.InjectFault(Fault{Status: 503, RetryAfter: "1", Times: 2})
	for i := 0; i < 2; i++ {
		h.want(h.do("GET", "/api/v2/files/", nil, nil), 503)
	}
	h.want(h.do("GET", "/api/v2/files/", nil, nil), 200)
	h.s.FailNext(RouteList, 500, 5)
	h.s.ExpireNextURLs(3)
	if h.s.PendingFaults() != 1 {
		t.Fatalf("pending = %d", h.s.PendingFaults())
	}
	h.s.ClearFaults()
	h.want(h.do("GET", "/api/v2/files/", nil, nil), 200)
	h.upload([]byte("x")) // would be 403 if the expiry were still queued
	h.s.ResetCounts()
	if len(h.s.Counts()) != 0 || len(h.s.Requests()) != 0 {
		t.Fatal("ResetCounts left data")
	}
}

func TestAbsoluteLocationAndClock(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, Options{AbsoluteLocation: true, Now: start, URLTTL: time.Minute})
	resp := h.create(map[string]string{"blob_name": h.upload([]byte("a")), "filename": "a.pdf", "title": "A", "parent": "p"})
	h.want(resp, 201)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, h.s.URL()+"/api/v2/files/") {
		t.Fatalf("Location = %q", loc)
	}
	if f := h.s.Files()[0]; !f.Created.Equal(start) {
		t.Errorf("created %v, want the sim clock %v", f.Created, start)
	}
	h.s.SetNow(start.Add(time.Hour))
	if !h.s.Now().Equal(start.Add(time.Hour)) {
		t.Fatal("SetNow ignored")
	}
	a := h.blob("application/pdf", 1)
	h.s.Advance(61 * time.Second)
	h.want(h.do("PUT", a.PresignedURL, strings.NewReader("a"), map[string]string{"Content-Type": "application/pdf", "Authorization": ""}), 403)
}

func TestSecretsListsSignatures(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.blob("application/pdf", 1)
	u, _ := url.Parse(a.PresignedURL)
	sec := strings.Join(h.s.Secrets(), "\n")
	for _, v := range []string{h.s.APIKey(), u.Query().Get("Signature"), u.Query().Get("AWSAccessKeyId")} {
		if !strings.Contains(sec, v) {
			t.Errorf("Secrets() lacks %q", v)
		}
	}
}

func TestHandlerWithoutListener(t *testing.T) {
	s := NewHandler(Options{})
	if s.URL() != "" {
		t.Fatal("unstarted simulator has a URL")
	}
	s.Close() // no-op
	if s.Client() == nil {
		t.Fatal("nil client")
	}
	// DropAfterApply on a writer that cannot be hijacked aborts the handler.
	s.DropNext(RouteList, true, 1)
	defer func() {
		if r := recover(); !errors.Is(asErr(r), http.ErrAbortHandler) {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", r)
		}
	}()
	req, _ := http.NewRequest("GET", "/api/v2/files/", nil)
	req.Header.Set("Authorization", "apikey "+s.APIUser()+":"+s.APIKey())
	s.ServeHTTP(&nopWriter{h: http.Header{}}, req)
}

func asErr(r any) error {
	err, _ := r.(error)
	return err
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func TestUnknownRoutes(t *testing.T) {
	h := newHarness(t, Options{})
	h.want(h.do("GET", "/api/v9/nothing/", nil, nil), 404)
	h.want(h.do("GET", "/api/v2/files/a/b/c/", nil, nil), 404)
	h.want(h.do("PUT", "/api/v2/files/", nil, nil), 405)
	h.want(h.do("GET", "/api/v2/files/x/content/", nil, nil), 405)
	h.want(h.do("GET", "/laika/abc", nil, nil), 405)
	h.want(h.do("PUT", "/laika/unknown?Signature=x", strings.NewReader("x"), nil), 403)
	h.want(h.do("GET", "/api/v2/files/nope/", nil, nil), 404)
}
