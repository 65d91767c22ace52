package nexudus

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// redirectServer answers the token endpoint and downloads with redirects
// chosen per test; other routes are 404.
func redirectServer(t *testing.T, token, download http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/token", token)
	if download != nil {
		mux.HandleFunc("GET /api/spaces/coworkerdatafiles/getFileData/{id}", download)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func okToken(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"access_token":"at-secret-1","token_type":"bearer","expires_in":3600,"refresh_token":"rt-secret-1"}`)
}

func TestTokenRequestIsNeverRedirected(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		okToken(w, r)
	}))
	defer other.Close()
	srv := redirectServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/token", http.StatusTemporaryRedirect)
	}, nil)
	c, err := New(Config{BaseURL: srv.URL, Username: "u", Password: "hunter2-password", MaxRetries: -1,
		RequestsPerMinute: -1, RequestsPerHour: -1}, srv.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Download(context.Background(), File{ID: 1})
	if err == nil || !strings.Contains(err.Error(), "redirect refused") {
		t.Fatalf("err %v", err)
	}
	if elsewhere.Load() != 0 {
		t.Fatal("the password grant followed a 307 to another host")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatal("password in the error")
	}
}

func TestDownloadRedirects(t *testing.T) {
	tests := []struct {
		name     string
		location string
		want     string
	}{
		{"plain http to a remote host", "http://storage.example.invalid/blob?Signature=sig-secret", "only https"},
		{"unparsable location", "http://[::1/blob?AWSAccessKeyId=key-secret&Signature=sig-secret&sig=x-secret", "Location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := redirectServer(t, okToken, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.Header().Set("Location", tt.location)
				w.WriteHeader(http.StatusFound)
			})
			c, err := New(Config{BaseURL: srv.URL, Username: "u", Password: "p", RequestsPerMinute: -1, RequestsPerHour: -1},
				srv.Client(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Download(context.Background(), File{ID: 1})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			for _, secret := range []string{"sig-secret", "key-secret", "x-secret", "at-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("%s in %v", secret, err)
				}
			}
			if hits.Load() != 1 {
				t.Fatalf("%d download requests: a refused redirect is not retried", hits.Load())
			}
			if !errors.Is(err, errRedirectRefused) && tt.want == "only https" {
				t.Fatalf("not errRedirectRefused: %v", err)
			}
		})
	}
}

func TestDownloadRefusesWhatIsNotTheFile(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"204 no content", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }},
		{"empty 200", func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Content-Length", "0") }},
		{"206 partial", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, "part")
		}},
		{"html page", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<html>Sign in</html>")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redirectServer(t, okToken, tt.handler)
			c, err := New(Config{BaseURL: srv.URL, Username: "u", Password: "p", RequestsPerMinute: -1, RequestsPerHour: -1}, srv.Client(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if d, err := c.Download(context.Background(), File{ID: 1}); err == nil || !strings.Contains(err.Error(), "is not the file") {
				if d != nil {
					d.Body.Close()
				}
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestCloseDelimitedBodyIsFlagged(t *testing.T) {
	srv := redirectServer(t, okToken, func(w http.ResponseWriter, _ *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nConnection: close\r\n\r\n%PDF-1.4 body")
		buf.Flush()
	})
	c, err := New(Config{BaseURL: srv.URL, Username: "u", Password: "p", RequestsPerMinute: -1, RequestsPerHour: -1}, srv.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Download(context.Background(), File{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Body.Close()
	if !d.CloseDelimited || d.Length != -1 {
		t.Fatalf("close-delimited body not flagged: %+v", d)
	}
}

// A short-lived token is still reused: the expiry margin shrinks to a
// quarter of its life instead of forcing a login before every request.
func TestShortLivedTokenIsReused(t *testing.T) {
	e := newEnv(t, nexudustest.Options{TokenTTL: 30 * time.Second}, nil)
	for i := 0; i < 5; i++ {
		if _, err := e.c.ListPage(context.Background(), ListQuery{}, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.sim.Count(nexudustest.RouteToken); n != 1 {
		t.Fatalf("%d token requests for 5 list calls with a 30s token", n)
	}
}

// A Retry-After one worker was given holds every request of the client.
func TestRetryAfterPausesEveryRequest(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	e.sim.ThrottleNext(1, 7*time.Second)
	if _, err := e.c.ListPage(context.Background(), ListQuery{}, 1); err != nil {
		t.Fatal(err)
	}
	e.c.mu.Lock()
	e.c.pauseUntil = e.clock.Now().Add(5 * time.Second) // as if another worker was just told
	e.c.mu.Unlock()
	before := len(e.clock.Sleeps())
	if _, err := e.c.ListPage(context.Background(), ListQuery{}, 1); err != nil {
		t.Fatal(err)
	}
	sleeps := e.clock.Sleeps()[before:]
	if len(sleeps) == 0 || sleeps[0] != 5*time.Second {
		t.Fatalf("sleeps %v: the request did not wait out the shared pause", sleeps)
	}
	if e.sim.EarlyRetries() != 0 {
		t.Fatalf("%d requests before their Retry-After", e.sim.EarlyRetries())
	}
}
