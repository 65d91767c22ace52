package nexudus

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

func TestNewValidation(t *testing.T) {
	ok := Config{BaseURL: "https://spaces.nexudus.com", Username: "u", Password: "secret-pw"}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // "" for success
	}{
		{"https", func(*Config) {}, ""},
		{"trailing slash", func(c *Config) { c.BaseURL = "https://spaces.nexudus.com/" }, ""},
		{"http loopback v4", func(c *Config) { c.BaseURL = "http://127.0.0.1:8080" }, ""},
		{"http loopback 127/8", func(c *Config) { c.BaseURL = "http://127.9.9.9" }, ""},
		{"http localhost", func(c *Config) { c.BaseURL = "http://localhost:1" }, ""},
		{"http ::1", func(c *Config) { c.BaseURL = "http://[::1]:1" }, ""},
		{"http remote", func(c *Config) { c.BaseURL = "http://spaces.nexudus.com" }, "base_url"},
		{"http private ip", func(c *Config) { c.BaseURL = "http://10.0.0.1" }, "loopback"},
		{"empty", func(c *Config) { c.BaseURL = "" }, "base_url is required"},
		{"relative", func(c *Config) { c.BaseURL = "spaces.nexudus.com" }, "base_url"},
		{"ftp", func(c *Config) { c.BaseURL = "ftp://spaces.nexudus.com" }, "scheme"},
		{"userinfo", func(c *Config) { c.BaseURL = "https://u:hunter2@spaces.nexudus.com" }, "credentials"},
		{"query", func(c *Config) { c.BaseURL = "https://spaces.nexudus.com?x=1" }, "query"},
		{"auth", func(c *Config) { c.Auth = "digest" }, "auth"},
		{"basic", func(c *Config) { c.Auth = "Basic" }, ""},
		{"no username", func(c *Config) { c.Username = "" }, "username"},
		{"no password", func(c *Config) { c.Password = "" }, "password"},
		{"page size", func(c *Config) { c.PageSize = -1 }, "page_size"},
		{"file path", func(c *Config) { c.FilePath = "/x" }, "file_path"},
		{"signed file path", func(c *Config) { c.SignedFilePath = "x/{id}" }, "signed_file_path"},
		{"max file bytes", func(c *Config) { c.MaxFileBytes = -1 }, "max_file_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			c, err := New(cfg, nil, nil, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(c.base.Path, "/") {
					t.Fatalf("base path %q", c.base.Path)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("password in %q", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{BaseURL: "https://x.example", Username: "u", Password: "p", MaxRetries: -1}, &http.Client{Timeout: time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{BaseURL: "https://x.example", Auth: AuthOAuth2, Username: "u", Password: "p", PageSize: 100,
		RequestsPerMinute: 100, RequestsPerHour: 4500, FilePath: DefaultFilePath, SignedFilePath: DefaultSignedFilePath,
		MaxFileBytes: 10 << 20, MaxRetries: 0}
	if c.cfg != want {
		t.Fatalf("cfg %+v\nwant %+v", c.cfg, want)
	}
	if c.hc.Timeout != time.Second {
		t.Fatal("injected timeout lost")
	}
	// Burst small enough that burst + a minute of rate stays under 120,
	// and burst + an hour of rate under 5,000.
	if b := c.perMinute.Burst(); b < 1 || b+100 > 120 {
		t.Fatalf("minute burst %d", b)
	}
	if b := c.perHour.Burst(); b < 1 || b+4500 > 5000 {
		t.Fatalf("hour burst %d", b)
	}
	if got := c.oauth.Endpoint.TokenURL; got != "https://x.example/api/token" {
		t.Fatalf("token URL %q", got)
	}
}

// Every request, the token request included, waits on both budgets.
func TestRateLimiters(t *testing.T) {
	tests := []struct {
		name     string
		rpm, rph int
		lists    int
		want     []time.Duration
	}{
		// burst 3, one a second: token + 5 lists = 6 requests, 3 wait 1s.
		{"per minute", 60, -1, 5, []time.Duration{time.Second, time.Second, time.Second}},
		// burst 6, one a minute: token + 7 lists = 8 requests, 2 wait 1m.
		{"per hour", -1, 60, 7, []time.Duration{time.Minute, time.Minute}},
		{"unlimited", -1, -1, 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nexudustest.Options{}, func(c *Config) { c.RequestsPerMinute, c.RequestsPerHour = tt.rpm, tt.rph })
			for i := 0; i < tt.lists; i++ {
				if _, err := e.c.ListPage(context.Background(), ListQuery{}, 1); err != nil {
					t.Fatal(err)
				}
			}
			got := e.clock.Sleeps()
			if len(got) != len(tt.want) {
				t.Fatalf("waits %v, want %v", got, tt.want)
			}
			for i := range got {
				if d := got[i] - tt.want[i]; d < -time.Millisecond || d > time.Millisecond {
					t.Fatalf("waits %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestRateLimiterRespectsContext(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, func(c *Config) { c.RequestsPerMinute = 20 }) // burst 1
	if _, err := e.c.ListPage(context.Background(), ListQuery{}, 1); err != nil {       // token + list: one wait
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := e.sim.Count(nexudustest.RouteList)
	_, err := e.c.ListPage(ctx, ListQuery{}, 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if e.sim.Count(nexudustest.RouteList) != before {
		t.Fatal("request sent after ctx was cancelled")
	}
}
