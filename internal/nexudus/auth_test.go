package nexudus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

func list(t *testing.T, e *env) error {
	t.Helper()
	_, err := e.c.ListPage(context.Background(), ListQuery{}, 1)
	noSecrets(t, e.c, err)
	return err
}

func TestTokenRefreshAfterExpiry(t *testing.T) {
	e := newEnv(t, nexudustest.Options{TokenTTL: time.Hour}, nil)
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	if err := list(t, e); err != nil { // token reused
		t.Fatal(err)
	}
	if e.sim.Grants("password") != 1 || e.sim.Grants("refresh_token") != 0 || e.sim.Count(nexudustest.RouteToken) != 1 {
		t.Fatalf("grants: password %d, refresh %d", e.sim.Grants("password"), e.sim.Grants("refresh_token"))
	}
	// Both clocks pass the expiry: the client must refresh before sending.
	e.clock.Advance(2 * time.Hour)
	e.sim.Advance(2 * time.Hour)
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	if e.sim.Grants("refresh_token") != 1 || e.sim.Grants("password") != 1 {
		t.Fatalf("grants: password %d, refresh %d", e.sim.Grants("password"), e.sim.Grants("refresh_token"))
	}
	for _, r := range e.sim.Requests() {
		if r.Route == nexudustest.RouteList && r.AuthScheme != "Bearer" {
			t.Fatalf("list sent with %q", r.AuthScheme)
		}
	}
	// The refresh happened before the list, so no request drew a 401.
	if got := e.metric(t, "syncd_api_requests_total", map[string]string{"code": "401"}); got != 0 {
		t.Fatalf("%v 401 answers", got)
	}
}

func TestRefreshRefusedFallsBackToLogin(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	e.sim.RevokeTokens() // the refresh token dies too
	e.clock.Advance(2 * time.Hour)
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	if e.sim.Grants("password") != 2 || e.sim.Count(nexudustest.RouteToken) != 3 {
		t.Fatalf("password grants %d, token requests %d", e.sim.Grants("password"), e.sim.Count(nexudustest.RouteToken))
	}
}

func TestUnauthorizedLogsInAgainOnce(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	e.sim.RevokeTokens()
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	if e.sim.Grants("password") != 2 || e.sim.Grants("refresh_token") != 0 {
		t.Fatalf("grants: password %d, refresh %d", e.sim.Grants("password"), e.sim.Grants("refresh_token"))
	}
	if n := e.sim.Count(nexudustest.RouteList); n != 3 { // 1 + (401, retry)
		t.Fatalf("%d list requests", n)
	}
	if got := e.metric(t, "syncd_api_retries_total", map[string]string{"reason": "auth"}); got != 1 {
		t.Fatalf("auth retries %v", got)
	}

	// A 401 that a fresh login does not cure: exactly one retry, then fail.
	e.sim.ResetCounts()
	e.sim.FailNext(nexudustest.RouteList, 10, nexudustest.Fault{Status: 401})
	err := list(t, e)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err %v", err)
	}
	if n := e.sim.Count(nexudustest.RouteList); n != 2 {
		t.Fatalf("%d list requests, want 2", n)
	}
	if e.sim.Grants("password") != 1 {
		t.Fatalf("%d logins", e.sim.Grants("password"))
	}
}

func TestConcurrentCallersShareOneLogin(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	e.sim.RevokeTokens()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.c.ListPage(context.Background(), ListQuery{}, 1)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every caller may hit the 401, but the token lock lets one login serve
	// them all: at most one new password grant per wave of 401s.
	if n := e.sim.Grants("password"); n != 2 {
		t.Fatalf("%d password grants", n)
	}
}

func TestWrongPassword(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, func(c *Config) { c.Password = "not-the-password" })
	err := list(t, e)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "login") || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Fatalf("password in %q", err)
	}
	if e.sim.Count(nexudustest.RouteToken) != 1 {
		t.Fatal("bad credentials retried")
	}
}

func TestBasicAuth(t *testing.T) {
	e := newEnv(t, nexudustest.Options{AllowBasic: true}, func(c *Config) { c.Auth = AuthBasic })
	e.sim.AddFile(nexudustest.FileSpec{Name: "a", Signed: true})
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	if e.sim.Count(nexudustest.RouteToken) != 0 || e.sim.Requests()[0].AuthScheme != "Basic" {
		t.Fatalf("requests %+v", e.sim.Requests())
	}
	// Basic has nothing to renew: a 401 fails at once.
	e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Status: 401})
	if err := list(t, e); !errors.Is(err, ErrUnauthorized) || e.sim.Count(nexudustest.RouteList) != 2 {
		t.Fatalf("err %v after %d requests", err, e.sim.Count(nexudustest.RouteList))
	}
}

func TestTokenEndpointRetries(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	e.sim.FailNext(nexudustest.RouteToken, 1, nexudustest.Fault{Status: 409, RetryAfter: "4"})
	e.sim.FailNext(nexudustest.RouteToken, 1, nexudustest.Fault{Reset: true})
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	sleeps := e.clock.Sleeps()
	if len(sleeps) != 2 || sleeps[0] < 4*time.Second {
		t.Fatalf("sleeps %v", sleeps)
	}
	if e.sim.EarlyRetries() != 0 {
		t.Fatal("token request retried before Retry-After")
	}
	for reason, want := range map[string]float64{"throttled": 1, "network": 1} {
		if got := e.metric(t, "syncd_api_retries_total", map[string]string{"api": "nexudus", "reason": reason}); got != want {
			t.Fatalf("%s retries %v", reason, got)
		}
	}

	e2 := newEnv(t, nexudustest.Options{}, func(c *Config) { c.MaxRetries = 1 })
	e2.sim.FailNext(nexudustest.RouteToken, 5, nexudustest.Fault{HTML: true, Status: 503})
	err := list(t, e2)
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "<") {
		t.Fatalf("err %v", err)
	}
	if e2.sim.Count(nexudustest.RouteToken) != 2 {
		t.Fatalf("%d token requests", e2.sim.Count(nexudustest.RouteToken))
	}
	e2.sim.ClearFaults()
	e2.sim.FailNext(nexudustest.RouteToken, 5, nexudustest.Fault{Status: 409})
	if err := list(t, e2); !errors.Is(err, ErrThrottled) {
		t.Fatalf("throttled login: %v", err)
	}
}

func TestTokenEndpointOddAnswers(t *testing.T) {
	const password = "pw-that-leaks"
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
		is     error
		want   string
	}{
		{"password echoed", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":"invalid_grant","error_description":"bad password %s"}`, password)
		}, ErrUnauthorized, "invalid_grant"},
		{"400 without code", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"Message":"nope"}`)
		}, ErrBadRequest, "nope"},
		{"200 without token", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"token_type":"bearer"}`)
		}, nil, "missing access_token"},
		{"200 with error code", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"error":"server_error"}`)
		}, ErrUnauthorized, "server_error"},
		{"401 html", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(401)
			fmt.Fprint(w, `<html><body><b>Denied</b></body></html>`)
		}, ErrUnauthorized, "Denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.answer(w) }))
			defer srv.Close()
			c, err := New(Config{BaseURL: srv.URL, Username: "u", Password: password, RequestsPerMinute: -1, RequestsPerHour: -1}, srv.Client(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListPage(context.Background(), ListQuery{}, 1)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v", err)
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "<b>") {
				t.Fatalf("leak in %q", err)
			}
		})
	}
}
