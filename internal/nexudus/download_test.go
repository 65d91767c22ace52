package nexudus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

func download(t *testing.T, e *env, f File) ([]byte, *Download, error) {
	t.Helper()
	d, err := e.c.Download(context.Background(), f)
	noSecrets(t, e.c, err)
	if err != nil {
		return nil, nil, err
	}
	defer d.Body.Close()
	b, err := io.ReadAll(d.Body)
	noSecrets(t, e.c, err)
	return b, d, err
}

func TestDownloadVariants(t *testing.T) {
	original := bytes.Repeat([]byte("original "), 20000)
	signed := bytes.Repeat([]byte("signed "), 30000)
	tests := []struct {
		name                        string
		redirect, chunked, separate bool
		basic                       bool
	}{
		{"direct", false, false, false, false},
		{"chunked", false, true, false, false},
		{"302 same host", true, false, false, false},
		{"302 chunked", true, true, false, false},
		{"302 other host", true, false, true, false},
		{"302 basic auth", true, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nexudustest.Options{RedirectDownloads: tt.redirect, ChunkedDownloads: tt.chunked,
				SeparateStorageHost: tt.separate, AllowBasic: tt.basic}, func(c *Config) {
				if tt.basic {
					c.Auth = AuthBasic
				}
			})
			withSigned := e.sim.AddFile(nexudustest.FileSpec{Name: "a", FileName: "a.docx", Data: original,
				SignedFileName: "a-signed.pdf", SignedData: signed, Signed: true})
			plain := e.sim.AddFile(nexudustest.FileSpec{Name: "b", FileName: "b.docx", Data: original, Signed: true})
			var files []File
			if err := e.c.List(context.Background(), ListQuery{}, func(f File) error { files = append(files, f); return nil }); err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				got, d, err := download(t, e, f)
				if err != nil {
					t.Fatal(err)
				}
				want, wantType, fromSigned := original, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", false
				if f.ID == withSigned {
					want, wantType, fromSigned = signed, "application/pdf", true
				}
				if !bytes.Equal(got, want) || d.FromSignedCopy != fromSigned || d.ContentType != wantType {
					t.Fatalf("file %d: %d bytes, signed copy %v, type %q", f.ID, len(got), d.FromSignedCopy, d.ContentType)
				}
				if wantLen := int64(len(want)); (tt.chunked && d.Length != -1) || (!tt.chunked && d.Length != wantLen) {
					t.Fatalf("Length %d", d.Length)
				}
			}
			if e.sim.Count(nexudustest.RouteSignedDownload) != 1 || e.sim.Count(nexudustest.RouteDownload) != 1 {
				t.Fatalf("routes %v (plain %d)", e.sim.Counts(), plain)
			}
			if tt.redirect {
				if e.sim.Count(nexudustest.RouteStorage) != 2 {
					t.Fatalf("storage requests %d", e.sim.Count(nexudustest.RouteStorage))
				}
				// The credentials stay with Nexudus.
				if n := e.sim.StorageRequestsWithAuth(); n != 0 {
					t.Fatalf("%d storage requests carried Authorization", n)
				}
				// A hop to another host is storage; a hop back to the
				// Nexudus host itself is Nexudus, and costs its budget.
				api := "nexudus"
				if tt.separate {
					api = "storage"
				}
				if got := e.metric(t, "syncd_api_requests_total", map[string]string{"api": api, "code": "200"}); got < 2 {
					t.Fatalf("%s requests counted %v", api, got)
				}
			}
		})
	}
}

func TestDownloadSizeCap(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name    string
		size    int
		chunked bool
		// beforeRead: Download itself fails (Content-Length over the cap).
		beforeRead, fail bool
	}{
		{"length at cap", limit, false, false, false},
		{"length over cap", limit + 1, false, true, true},
		{"chunked at cap", limit, true, false, false},
		{"chunked over cap", 100 * limit, true, false, true},
		{"chunked just over cap", limit + 1, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nexudustest.Options{ChunkedDownloads: tt.chunked}, func(c *Config) { c.MaxFileBytes = limit })
			id := e.sim.AddFile(nexudustest.FileSpec{Name: "big", FileName: "big.bin", Data: bytes.Repeat([]byte{'x'}, tt.size)})
			d, err := e.c.Download(context.Background(), File{ID: id})
			if tt.beforeRead {
				if !errors.Is(err, ErrTooLarge) || d != nil || !strings.Contains(err.Error(), fmt.Sprint(id)) {
					t.Fatalf("Download: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.Body.Close()
			got, err := io.ReadAll(d.Body)
			if len(got) > limit {
				t.Fatalf("read %d bytes past the cap", len(got))
			}
			if tt.fail != errors.Is(err, ErrTooLarge) {
				t.Fatalf("read %d bytes, err %v", len(got), err)
			}
			if !tt.fail && len(got) != tt.size {
				t.Fatalf("read %d of %d", len(got), tt.size)
			}
			if tt.fail {
				if _, err2 := d.Body.Read(make([]byte, 10)); !errors.Is(err2, ErrTooLarge) {
					t.Fatalf("error not sticky: %v", err2)
				}
			}
		})
	}
}

func TestDownloadTruncated(t *testing.T) {
	for _, redirect := range []bool{false, true} {
		e := newEnv(t, nexudustest.Options{RedirectDownloads: redirect}, nil)
		id := e.sim.AddFile(nexudustest.FileSpec{Name: "a", FileName: "a.pdf", Data: bytes.Repeat([]byte("y"), 5000)})
		route := nexudustest.RouteDownload
		if redirect {
			route = nexudustest.RouteStorage
		}
		e.sim.FailNext(route, 1, nexudustest.Fault{Truncate: true})
		_, _, err := download(t, e, File{ID: id})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("redirect=%v: %v", redirect, err)
		}
	}
}

// cappedBody reports a short body itself, whatever the transport does.
func TestCappedBodyShortRead(t *testing.T) {
	b := &cappedBody{rc: io.NopCloser(strings.NewReader("12345")), limit: 100, want: 10, id: 7}
	got, err := io.ReadAll(b)
	if string(got) != "12345" || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "5 of 10") {
		t.Fatalf("%q %v", got, err)
	}
	b = &cappedBody{rc: io.NopCloser(strings.NewReader("12345")), limit: 100, want: -1}
	if got, err := io.ReadAll(b); string(got) != "12345" || err != nil || b.Close() != nil {
		t.Fatalf("%q %v", got, err)
	}
}

func TestDownloadRetriesBeforeTheBody(t *testing.T) {
	e := newEnv(t, nexudustest.Options{RedirectDownloads: true}, nil)
	id := e.sim.AddFile(nexudustest.FileSpec{Name: "a", FileName: "a.pdf", Data: []byte("%PDF-1.7")})
	e.sim.FailNext(nexudustest.RouteStorage, 1, nexudustest.Fault{Status: 503})
	e.sim.FailNext(nexudustest.RouteDownload, 1, nexudustest.Fault{Status: 409, RetryAfter: "2"})
	got, _, err := download(t, e, File{ID: id})
	if err != nil || string(got) != "%PDF-1.7" {
		t.Fatalf("%q %v", got, err)
	}
	if e.sim.Count(nexudustest.RouteDownload) != 3 || e.sim.Count(nexudustest.RouteStorage) != 2 {
		t.Fatalf("counts %v", e.sim.Counts())
	}
	if e.sim.EarlyRetries() != 0 {
		t.Fatal("retried before Retry-After")
	}
}

func TestDownloadErrors(t *testing.T) {
	e := newEnv(t, nexudustest.Options{RedirectDownloads: true}, nil)
	id := e.sim.AddFile(nexudustest.FileSpec{Name: "a", FileName: "a.pdf", Data: []byte("x")})
	if _, err := e.c.Download(context.Background(), File{ID: 424242}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown file: %v", err)
	}
	// A storage refusal: status and S3 code, no signature, no 401 re-login.
	e.sim.FailNext(nexudustest.RouteStorage, 1, nexudustest.Fault{Status: 403,
		Body: `<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code><SignatureProvided>c2lnbmF0dXJl</SignatureProvided></Error>`})
	_, err := e.c.Download(context.Background(), File{ID: id})
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "storage: HTTP 403") ||
		!strings.Contains(err.Error(), "SignatureDoesNotMatch") || strings.Contains(err.Error(), "c2lnbmF0dXJl") {
		t.Fatalf("storage 403: %v", err)
	}
	e.sim.FailNext(nexudustest.RouteStorage, 1, nexudustest.Fault{Status: 401})
	if _, err := e.c.Download(context.Background(), File{ID: id}); !errors.Is(err, ErrUnauthorized) || e.sim.Grants("password") != 1 {
		t.Fatalf("storage 401: %v, logins %d", err, e.sim.Grants("password"))
	}
}

func TestDownloadPathsAndRedirectLimit(t *testing.T) {
	var paths []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if strings.Contains(r.URL.Path, "/loop") {
			http.Redirect(w, r, srv.URL+"/loop", http.StatusFound)
			return
		}
		fmt.Fprint(w, "data")
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL + "/tenant/", Auth: AuthBasic, Username: "u", Password: "p", MaxRetries: 3,
		FilePath: "/files/{id}/raw", SignedFilePath: "/loop/{id}", RequestsPerMinute: -1, RequestsPerHour: -1}, srv.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Download(context.Background(), File{ID: 12})
	if err != nil {
		t.Fatal(err)
	}
	d.Body.Close()
	if paths[0] != "/tenant/files/12/raw" {
		t.Fatalf("path %q", paths[0])
	}
	_, err = c.Download(context.Background(), File{ID: 13, SignedFileDataFileName: "s.pdf"})
	if err == nil || !strings.Contains(err.Error(), "too many redirects") {
		t.Fatalf("redirect loop: %v", err)
	}
	if len(paths) != 1+maxRedirects {
		t.Fatalf("redirect loop retried: %d requests", len(paths))
	}
}
