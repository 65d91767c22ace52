package nexudustest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDownloads(t *testing.T) {
	data := []byte(strings.Repeat("contract ", 10000))
	tests := []struct {
		name              string
		redirect, chunked bool
		separate          bool
	}{{"direct", false, false, false}, {"chunked", false, true, false}, {"redirect", true, false, false},
		{"redirect chunked", true, true, false}, {"other storage host", true, false, true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, Options{RedirectDownloads: tt.redirect, ChunkedDownloads: tt.chunked, SeparateStorageHost: tt.separate})
			id := s.AddFile(FileSpec{Name: "c", FileName: "c.pdf", Data: data})
			tok := login(t, s)
			c := s.Client()
			c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
				req.Header.Del("Authorization")
				if !strings.Contains(req.URL.RawQuery, "Signature=") || !strings.Contains(req.URL.RawQuery, "Expires=") {
					t.Errorf("storage URL %s", req.URL)
				}
				if tt.separate == strings.HasPrefix(req.URL.String(), s.URL) {
					t.Errorf("storage host %s", req.URL.Host)
				}
				return nil
			}
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/spaces/coworkerdatafiles/getFileData/"+itoa(id), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != string(data) || resp.Header.Get("Content-Type") != "application/pdf" {
				t.Fatalf("body %d bytes, %v, %q", len(body), err, resp.Header.Get("Content-Type"))
			}
			if (resp.ContentLength == -1) != tt.chunked {
				t.Fatalf("ContentLength %d", resp.ContentLength)
			}
			if got := s.Count(RouteStorage); (got == 1) != tt.redirect {
				t.Fatalf("storage count %d", got)
			}
		})
	}

	s := newSim(t, Options{RedirectDownloads: true})
	id := s.AddFile(FileSpec{Name: "c", FileName: "c.pdf", Data: data, SignedFileName: "c-signed.pdf", SignedData: []byte("signed")})
	tok := login(t, s)
	// The default client forwards Authorization to a same-host redirect:
	// the storage answers as S3 does, and counts the leak.
	resp := get(t, s, "/api/spaces/coworkerdatafiles/getSignedFileData/"+itoa(id), tok)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(b), "InvalidArgument") || s.StorageRequestsWithAuth() != 1 {
		t.Fatalf("leak: %d %s", resp.StatusCode, b)
	}
	// An expired presigned URL.
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp = get(t, s, "/api/spaces/coworkerdatafiles/getSignedFileData/"+itoa(id), tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("signed download: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/spaces/coworkerdatafiles/getSignedFileData/"+itoa(id), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ = c.Do(req)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	s.Advance(presignTTL + time.Second)
	resp, _ = s.Client().Get(loc)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "AccessDenied") {
		t.Fatalf("expired: %d %s", resp.StatusCode, b)
	}
	resp, _ = s.Client().Get(strings.Replace(loc, "Signature=", "Signature=0", 1))
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("bad signature: %d", resp.StatusCode)
	}
	// No such file, no signed copy.
	other := s.AddFile(FileSpec{Name: "n"})
	for _, p := range []string{"getFileData/424242", "getSignedFileData/" + itoa(other), "getFileData/x"} {
		resp := get(t, s, "/api/spaces/coworkerdatafiles/"+p, tok)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
}
