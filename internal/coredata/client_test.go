package coredata

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" means valid
		notIn   string // must not appear in the error
	}{
		{name: "https", cfg: Config{BaseURL: "https://tenant.coredata.is", APIUser: "u", APIKey: "k"}},
		{name: "https with slash", cfg: Config{BaseURL: "https://tenant.coredata.is/", APIUser: "u", APIKey: "k"}},
		{name: "loopback v4", cfg: Config{BaseURL: "http://127.0.0.1:8080", APIUser: "u", APIKey: "k"}},
		{name: "loopback 127/8", cfg: Config{BaseURL: "http://127.1.2.3", APIUser: "u", APIKey: "k"}},
		{name: "loopback v6", cfg: Config{BaseURL: "http://[::1]:9000", APIUser: "u", APIKey: "k"}},
		{name: "localhost", cfg: Config{BaseURL: "http://localhost:1", APIUser: "u", APIKey: "k"}},
		{name: "plain http remote", cfg: Config{BaseURL: "http://tenant.coredata.is", APIUser: "u", APIKey: "k"}, wantErr: "base_url"},
		{name: "plain http lookalike", cfg: Config{BaseURL: "http://127.0.0.1.evil.com", APIUser: "u", APIKey: "k"}, wantErr: "base_url"},
		{name: "other scheme", cfg: Config{BaseURL: "ftp://tenant.coredata.is", APIUser: "u", APIKey: "k"}, wantErr: "base_url"},
		{name: "empty", cfg: Config{APIUser: "u", APIKey: "k"}, wantErr: "base_url"},
		{name: "relative", cfg: Config{BaseURL: "tenant.coredata.is", APIUser: "u", APIKey: "k"}, wantErr: "base_url"},
		{name: "credentials in URL", cfg: Config{BaseURL: "https://u:hunter22@tenant.coredata.is", APIUser: "u", APIKey: "k"}, wantErr: "base_url", notIn: "hunter22"},
		{name: "query", cfg: Config{BaseURL: "https://tenant.coredata.is/?x=1", APIUser: "u", APIKey: "k"}, wantErr: "base_url"},
		{name: "no user", cfg: Config{BaseURL: "https://t.coredata.is", APIKey: "k"}, wantErr: "api_user"},
		{name: "no key", cfg: Config{BaseURL: "https://t.coredata.is", APIUser: "u"}, wantErr: "api_key"},
		{name: "key with newline", cfg: Config{BaseURL: "https://t.coredata.is", APIUser: "u", APIKey: "sec\nret"}, wantErr: "api_key", notIn: "sec"},
		{name: "user with colon", cfg: Config{BaseURL: "https://t.coredata.is", APIUser: "u:x", APIKey: "k"}, wantErr: "api_user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg, nil, nil, nil, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if c.maxRetries != DefaultMaxRetries || c.api == nil || c.storage == nil || c.api == http.DefaultClient {
					t.Fatalf("defaults not applied: %+v", c)
				}
				if strings.HasSuffix(c.base.String(), "/") {
					t.Fatalf("base keeps its slash: %s", c.base)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
			}
			if tt.notIn != "" && strings.Contains(err.Error(), tt.notIn) {
				t.Fatalf("error leaks %q: %v", tt.notIn, err)
			}
		})
	}
	c, err := New(Config{BaseURL: "https://t.coredata.is", APIUser: "u", APIKey: "k", MaxRetries: -1}, nil, nil, nil, nil)
	if err != nil || c.maxRetries != 0 {
		t.Fatalf("MaxRetries -1: %v %d", err, c.maxRetries)
	}
}

// TestUploadSendsDocumentedRequests follows the three steps on the wire:
// order, paths, headers and multipart fields.
func TestUploadSendsDocumentedRequests(t *testing.T) {
	e := newEnv(t, coredatatest.Options{KeepContent: true}, nil)
	ctx := context.Background()
	content := []byte("%PDF-1.7 a signed contract")
	sum := md5.Sum(content)

	b, err := e.c.RequestBlob(ctx, "application/pdf", int64(len(content)))
	if err != nil {
		t.Fatal(e.check(err))
	}
	if err := e.check(e.c.PutBlob(ctx, b, strings.NewReader(string(content)), int64(len(content)), "application/pdf", "Contract\x07 \u202eA.pdf")); err != nil {
		t.Fatal(err)
	}
	id, err := e.c.CreateFile(ctx, NewFile{BlobName: b.Name, Filename: "Contract A.pdf", Title: "Jane Doe - Contract A",
		Parent: "parent-1", Dynatype: "Contract", Tags: []string{"nexudus", " nexudus-file-42 ", ""}})
	if err != nil {
		t.Fatal(e.check(err))
	}

	reqs := e.sim.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3: %+v", len(reqs), reqs)
	}
	wantAuth := "apikey " + e.sim.APIUser() + ":" + e.sim.APIKey()
	for i, want := range []coredatatest.Route{coredatatest.RouteBlob, coredatatest.RouteStorage, coredatatest.RouteCreate} {
		r := reqs[i]
		if r.Route != want {
			t.Fatalf("request %d is %s, want %s", i, r.Route, want)
		}
		if want != coredatatest.RouteStorage && (!strings.HasSuffix(r.Path, "/") || r.Header.Get("Authorization") != wantAuth) {
			t.Errorf("%s: path %q, Authorization %q", want, r.Path, r.Header.Get("Authorization"))
		}
	}
	blobReq, put, create := reqs[0], reqs[1], reqs[2]
	if blobReq.Method != "POST" || blobReq.Query["content_type"][0] != "application/pdf" || blobReq.Query["content_length"][0] != strconv.Itoa(len(content)) {
		t.Errorf("blob request: %+v", blobReq)
	}
	if put.Method != "PUT" || put.Header.Get("Content-Type") != "application/pdf" || put.Header.Get("Slug") != "Contract A.pdf" ||
		put.ContentLength != int64(len(content)) || put.Status != 201 {
		t.Errorf("storage PUT: %+v", put)
	}
	if put.Header.Get("Authorization") != "" {
		t.Error("the api key was sent to the storage backend")
	}
	if mt, _, _ := mime.ParseMediaType(create.Header.Get("Content-Type")); mt != "multipart/form-data" {
		t.Errorf("create content type %q", create.Header.Get("Content-Type"))
	}
	wantForm := map[string]string{"blob_name": b.Name, "filename": "Contract A.pdf", "title": "Jane Doe - Contract A",
		"parent": "parent-1", "dynatype": "Contract", "tags": "nexudus,nexudus-file-42"}
	for k, v := range wantForm {
		if create.Form[k] != v {
			t.Errorf("form %s = %q, want %q", k, create.Form[k], v)
		}
	}

	f, ok := e.sim.File(id)
	if !ok || f.Digest != hex.EncodeToString(sum[:]) || string(f.Content) != string(content) || f.Dynatype != "Contract" {
		t.Fatalf("sim file %+v", f)
	}
	got, err := e.c.GetFile(ctx, id)
	if err != nil {
		t.Fatal(e.check(err))
	}
	want := File{ID: id, Digest: f.Digest, SnapshotID: f.SnapshotID, Title: "Jane Doe - Contract A", Filename: "Contract A.pdf",
		Parent: "parent-1", MimeType: "application/pdf", BlobName: b.Name, Size: int64(len(content)),
		Tags: []string{"nexudus", "nexudus-file-42"}, Dynatype: "Contract"}
	got.Created, got.Modified = "", ""
	if !equalFiles(*got, want) {
		t.Fatalf("GetFile = %+v\nwant       %+v", *got, want)
	}

	for _, m := range []struct {
		api, code string
		want      float64
	}{{"coredata", "200", 2}, {"coredata", "201", 1}, {"storage", "201", 1}} {
		if v := e.metric("syncd_api_requests_total", map[string]string{"api": m.api, "code": m.code}); v != m.want {
			t.Errorf("requests{api=%s,code=%s} = %v, want %v", m.api, m.code, v, m.want)
		}
	}
}

func equalFiles(a, b File) bool {
	return reflect.DeepEqual(a, b)
}

func TestCreateFileLocationForms(t *testing.T) {
	for _, abs := range []bool{false, true} {
		t.Run("absolute="+strconv.FormatBool(abs), func(t *testing.T) {
			e := newEnv(t, coredatatest.Options{AbsoluteLocation: abs}, nil)
			id, err := e.upload(context.Background(), []byte("x"), newFile("T"))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := e.sim.File(id); !ok {
				t.Fatalf("id %q is not the sim's", id)
			}
		})
	}
}

func TestCreateFileValidation(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		f    NewFile
	}{
		{"no blob", NewFile{Filename: "a", Title: "a", Parent: "p"}},
		{"no title", NewFile{BlobName: "b", Filename: "a", Parent: "p"}},
		{"comma in tag", NewFile{BlobName: "b", Filename: "a", Title: "a", Parent: "p", Tags: []string{"a,b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.c.CreateFile(ctx, tt.f); e.check(err) == nil {
				t.Fatal("no error")
			}
		})
	}
	if n := e.sim.Count(coredatatest.RouteCreate); n != 0 {
		t.Fatalf("invalid input reached the server %d times", n)
	}
	// The server's own refusal (unknown blob) is a typed 400, not retried.
	_, err := e.c.CreateFile(ctx, NewFile{BlobName: "deadbeef", Filename: "a", Title: "a", Parent: "p"})
	if !errors.Is(e.check(err), ErrBadRequest) || errors.Is(err, ErrOutcomeUnknown) || e.sim.Count(coredatatest.RouteCreate) != 1 {
		t.Fatalf("unknown blob: %v (creates %d)", err, e.sim.Count(coredatatest.RouteCreate))
	}
}

func TestUnauthorized(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, func(c *Config) { c.APIKey = "wrong-key-value" })
	e.secrets = append(e.secrets, "wrong-key-value")
	ctx := context.Background()
	_, err := e.c.RequestBlob(ctx, "application/pdf", 1)
	if !errors.Is(e.check(err), ErrUnauthorized) {
		t.Fatalf("RequestBlob: %v", err)
	}
	_, err = e.c.GetFile(ctx, "abc")
	if !errors.Is(e.check(err), ErrUnauthorized) {
		t.Fatalf("GetFile: %v", err)
	}
	if n := e.sim.Count(coredatatest.RouteBlob) + e.sim.Count(coredatatest.RouteGet); n != 2 {
		t.Fatalf("401 was retried: %d requests", n)
	}
}

func TestGetFile(t *testing.T) {
	e := newEnv(t, coredatatest.Options{TagObjects: true}, nil)
	ctx := context.Background()
	id := e.sim.AddFile(coredatatest.NewFile{Parent: "p", Title: "T", Filename: "t.pdf", Tags: []string{"a", "b"}, Content: []byte("abc")})
	f, err := e.c.GetFile(ctx, id)
	if err != nil {
		t.Fatal(e.check(err))
	}
	if strings.Join(f.Tags, ",") != "a,b" || f.Digest != "900150983cd24fb0d6963f7d28e17f72" || f.Size != 3 || f.Dynatype != "File" || f.Created == "" {
		t.Fatalf("GetFile with tag objects: %+v", f)
	}
	e.sim.DeleteFile(id)
	if _, err := e.c.GetFile(ctx, id); !errors.Is(e.check(err), ErrNotFound) {
		t.Fatalf("deleted file: %v", err)
	}
	for _, bad := range []string{"", "../files", "a/b", "a?b", strings.Repeat("a", 200)} {
		if _, err := e.c.GetFile(ctx, bad); e.check(err) == nil {
			t.Fatalf("id %q accepted", bad)
		}
	}
	if n := e.sim.Count(coredatatest.RouteGet); n != 2 {
		t.Fatalf("%d gets, want 2 (invalid ids must not be sent)", n)
	}
}

func TestNotJSONAnswer(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	ctx := context.Background()
	id := e.sim.AddFile(coredatatest.NewFile{Parent: "p", Title: "T", Filename: "t.pdf"})
	e.sim.InjectFault(coredatatest.Fault{Route: coredatatest.RouteGet, Status: 200, HTML: true})
	_, err := e.c.GetFile(ctx, id)
	if e.check(err) == nil || !strings.Contains(err.Error(), "not JSON") || !strings.Contains(err.Error(), "200 OK") || strings.Contains(err.Error(), "<") {
		t.Fatalf("HTML answer: %v", err)
	}
	e.sim.InjectFault(coredatatest.Fault{Route: coredatatest.RouteBlob, Status: 200, HTML: true})
	if _, err := e.c.RequestBlob(ctx, "application/pdf", 1); e.check(err) == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("HTML blob answer: %v", err)
	}
	e.sim.InjectFault(coredatatest.Fault{Route: coredatatest.RouteList, Status: 200, HTML: true})
	if _, err := e.c.ListFiles(ctx, "p", ""); e.check(err) == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("HTML list answer: %v", err)
	}
}

func TestUpdateMetadata(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	ctx := context.Background()
	id := e.sim.AddFile(coredatatest.NewFile{Parent: "p", Title: "Old", Filename: "a.pdf", Tags: []string{"x"}})
	err := e.c.UpdateMetadata(ctx, id, Metadata{Title: "New", Filename: "b.pdf", Parent: "p2", Dynatype: "Contract", Tags: []string{"nexudus", "nexudus-file-1"}})
	if err != nil {
		t.Fatal(e.check(err))
	}
	f, _ := e.sim.File(id)
	if f.Title != "New" || f.Filename != "b.pdf" || f.Parent != "p2" || f.Dynatype != "Contract" || strings.Join(f.Tags, ",") != "nexudus,nexudus-file-1" {
		t.Fatalf("after update: %+v", f)
	}
	req := e.sim.Requests()[0]
	if req.Method != "PUT" || req.Header.Get("Content-Type") != "application/json" || req.Path != "/api/v2/files/"+id+"/" {
		t.Fatalf("request %+v", req)
	}
	tests := []struct {
		name string
		id   string
		m    Metadata
		want error
	}{
		{"no title", id, Metadata{Filename: "a", Parent: "p"}, nil},
		{"bad id", "../x", Metadata{Title: "a", Filename: "a", Parent: "p"}, nil},
		{"comma tag", id, Metadata{Title: "a", Filename: "a", Parent: "p", Tags: []string{"a,b"}}, nil},
		{"missing file", "0000", Metadata{Title: "a", Filename: "a", Parent: "p"}, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.check(e.c.UpdateMetadata(ctx, tt.id, tt.m))
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Idempotent: retried through a 502.
	e.sim.FailNext(coredatatest.RouteUpdateMetadata, 502, 1)
	if err := e.check(e.c.UpdateMetadata(ctx, id, Metadata{Title: "Newer", Filename: "b.pdf", Parent: "p2"})); err != nil {
		t.Fatal(err)
	}
	if f, _ := e.sim.File(id); f.Title != "Newer" || strings.Join(f.Tags, ",") != "nexudus,nexudus-file-1" {
		t.Fatalf("after retried update: %+v", f)
	}
}

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"/api/v2/files/cb2cca52-7422-11ee-91ce-dff1c719d262/", "cb2cca52-7422-11ee-91ce-dff1c719d262"},
		{"/api/v2/files/389a5280-8efc-11e6-a6e0-2f4ee7e36368", "389a5280-8efc-11e6-a6e0-2f4ee7e36368"},
		{"https://tenant.coredata.is/api/v2/files/abc-123/", "abc-123"},
		{"https://tenant.coredata.is/prefix/api/v2/files/abc/?x=1", "abc"},
		{"  /api/v2/files/abc/  ", "abc"},
		{"", ""},
		{"/api/v2/files/", ""},
		{"/api/v2/files/a/b/", ""},
		{"/api/v2/files/../", ""},
		{"/api/v2/projects/abc/", ""},
		{"/api/v2/files/a%2Fb/", ""},
		{"https://h/api/v2/files/a b/", ""},
		{"http://[::1/api/v2/files/a/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLocation(tt.in)
			if got != tt.want || (err == nil) != (tt.want != "") {
				t.Fatalf("ParseLocation(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	_, err := ParseLocation("https://h/laika/x?Signature=SECRETSIG")
	if err == nil || strings.Contains(err.Error(), "SECRETSIG") {
		t.Fatalf("error %v", err)
	}
}

func TestBlobNeverPrintsSignature(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	b, err := e.c.RequestBlob(context.Background(), "application/pdf", 3)
	if err != nil {
		t.Fatal(e.check(err))
	}
	u, _ := url.Parse(b.URL)
	sig := u.Query().Get("Signature")
	if sig == "" {
		t.Fatal("no signature in the URL")
	}
	e.c.log.Info("blob", zapAny("blob", b), zapAny("ptr", &b))
	js, _ := b.MarshalJSON()
	for _, s := range []string{b.String(), fmtV(b), fmtPlusV(b), fmtSharpV(b), fmtV(&b), string(js)} {
		if strings.Contains(s, sig) || strings.Contains(s, url.QueryEscape(sig)) {
			t.Errorf("signature printed: %s", s)
		}
		if !strings.Contains(s, b.Name) {
			t.Errorf("blob name missing: %s", s)
		}
	}
}
