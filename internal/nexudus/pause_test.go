package nexudus

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// A Retry-After from /api/token holds the next worker's token request, also
// when the worker that got it gave up at once or after its last retry:
// SPEC "not after the last retry gave up", and the token endpoint is part
// of the same API.
func TestTokenRetryAfterHoldsTheNextWorker(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		maxRetries int
		throttles  int
		// until is when the pause ends, counted from t0: the last 30 s
		// Retry-After starts after the backoff of the retries before it.
		until time.Duration
	}{
		{"409, no retry", http.StatusConflict, -1, 1, 30 * time.Second},
		{"429, retries exhausted", http.StatusTooManyRequests, 1, 2, 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nexudustest.Options{ThrottleStatus: tt.status}, func(c *Config) { c.MaxRetries = tt.maxRetries })
			e.sim.ThrottleNext(tt.throttles, 30*time.Second)
			if err := list(t, e); !errors.Is(err, ErrThrottled) {
				t.Fatalf("first worker: err %v, want ErrThrottled from the token endpoint", err)
			}
			// The next worker: its login must not go out before the pause
			// the token endpoint asked for has passed.
			if err := list(t, e); err != nil {
				t.Fatal(err)
			}
			var logins []time.Time
			for _, r := range e.sim.Requests() {
				if r.Route == nexudustest.RouteToken {
					logins = append(logins, r.At)
				}
			}
			if len(logins) != tt.throttles+1 {
				t.Fatalf("%d token requests, want %d", len(logins), tt.throttles+1)
			}
			if at := logins[len(logins)-1].Sub(t0); at < tt.until {
				t.Fatalf("the next worker's token request went out at t0+%s, inside the token endpoint's Retry-After (until t0+%s)", at, tt.until)
			}
			if n := e.sim.EarlyRetries(); n != 0 {
				t.Fatalf("%d requests came before the token endpoint's Retry-After had passed", n)
			}
		})
	}
}

// A Retry-After that another worker is given while this one authorises
// (its token request in flight) holds this one's API request too: the
// pause is checked again after authorising, not only before.
func TestRetryAfterWhileAuthorisingHoldsTheRequest(t *testing.T) {
	s := newSim(t, nexudustest.Options{})
	var c *Client
	hc := s.Client()
	base := hc.Transport
	hc.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(req)
		if err == nil && req.URL.Path == "/api/token" {
			c.holdFor("60") // as if another worker's list was just told
		}
		return resp, err
	})
	c, err := New(baseConfig(s), hc, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeClock{now: t0, sim: s}
	c.now, c.sleep = fc.Now, fc.Sleep
	if _, err := c.ListPage(context.Background(), ListQuery{}, 1); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Requests() {
		if r.Route == nexudustest.RouteList {
			if at := r.At.Sub(t0); at < 60*time.Second {
				t.Fatalf("the list went out at t0+%s, inside the 60 s Retry-After given while it authorised (sleeps %v)", at, fc.Sleeps())
			}
			return
		}
	}
	t.Fatalf("no list request: %+v", s.Requests())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
