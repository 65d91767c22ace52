package nexudus

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// Retry-After is a floor: with a backoff far below it, the recorded wait is
// still at least what the server asked for, to the millisecond.
func TestRetryAfterIsAFloor(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter func() string
		floor      time.Duration
		reason     string
	}{
		{"409 seconds", 409, func() string { return "7" }, 7 * time.Second, "throttled"},
		{"429 seconds", 429, func() string { return "3" }, 3 * time.Second, "throttled"},
		{"503 http date", 503, func() string { return t0.Add(5 * time.Second).Format(http.TimeFormat) }, 4 * time.Second, "server"},
		{"500 no header", 500, func() string { return "" }, 0, "server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nexudustest.Options{}, nil)
			if err := list(t, e); err != nil { // log in first
				t.Fatal(err)
			}
			e.sim.ResetCounts()
			e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Status: tt.status, RetryAfter: tt.retryAfter()})
			if err := list(t, e); err != nil {
				t.Fatal(err)
			}
			sleeps := e.clock.Sleeps()
			if len(sleeps) != 1 {
				t.Fatalf("sleeps %v", sleeps)
			}
			if sleeps[0] < tt.floor {
				t.Fatalf("waited %v, Retry-After asked %v", sleeps[0], tt.floor)
			}
			// Without Retry-After, the (tiny) backoff alone applies.
			if tt.floor == 0 && sleeps[0] > 10*time.Millisecond {
				t.Fatalf("backoff %v over its cap", sleeps[0])
			}
			if e.sim.Count(nexudustest.RouteList) != 2 {
				t.Fatalf("%d list requests", e.sim.Count(nexudustest.RouteList))
			}
			if got := e.metric(t, "syncd_api_retries_total", map[string]string{"api": "nexudus", "reason": tt.reason}); got != 1 {
				t.Fatalf("retries{reason=%s} = %v", tt.reason, got)
			}
		})
	}
}

// The simulator's throttle sets Retry-After on its own clock; the fake sleep
// advances that clock, so an early retry would show in EarlyRetries.
func TestThrottleWindowNoEarlyRetry(t *testing.T) {
	e := newEnv(t, nexudustest.Options{RequestsPerMinute: 5}, func(c *Config) { c.MaxRetries = 10 })
	for i := 0; i < 12; i++ {
		if err := list(t, e); err != nil {
			t.Fatal(err)
		}
	}
	if e.sim.Throttled() == 0 {
		t.Fatal("the simulator never throttled")
	}
	if n := e.sim.EarlyRetries(); n != 0 {
		t.Fatalf("%d requests before Retry-After", n)
	}
}

func TestRetriesExhausted(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, func(c *Config) { c.MaxRetries = 2 })
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	e.sim.ResetCounts()
	e.sim.ThrottleNext(100, time.Second)
	err := list(t, e)
	if !errors.Is(err, ErrThrottled) {
		t.Fatalf("err %v", err)
	}
	if n := e.sim.Count(nexudustest.RouteList); n != 3 {
		t.Fatalf("%d list requests, want 1 + 2 retries", n)
	}
	if got := e.metric(t, "syncd_api_retries_total", map[string]string{"reason": "throttled"}); got != 2 {
		t.Fatalf("retries %v", got)
	}
	if got := e.metric(t, "syncd_api_requests_total", map[string]string{"api": "nexudus", "code": "409"}); got != 3 {
		t.Fatalf("409 requests %v", got)
	}

	e.sim.ThrottleNext(0, 0)
	e.sim.FailNext(nexudustest.RouteList, 3, nexudustest.Fault{Status: 502})
	if err := list(t, e); !errors.Is(err, ErrServer) {
		t.Fatalf("502: %v", err)
	}
	e.sim.FailNext(nexudustest.RouteList, 3, nexudustest.Fault{Reset: true})
	if err := list(t, e); err == nil {
		t.Fatal("reset: no error")
	}
}

func TestRetriesRecover(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Status: 503})
	e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Reset: true})
	e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Status: 429})
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.Count(nexudustest.RouteList); n != 4 {
		t.Fatalf("%d list requests", n)
	}
	for reason, want := range map[string]float64{"server": 1, "network": 1, "throttled": 1} {
		if got := e.metric(t, "syncd_api_retries_total", map[string]string{"reason": reason}); got != want {
			t.Fatalf("retries{%s} = %v", reason, got)
		}
	}
	if got := e.metric(t, "syncd_api_requests_total", map[string]string{"code": "error"}); got != 1 {
		t.Fatalf("network errors counted %v", got)
	}
	// Backoff grows: attempt n waits within [ceil/2, ceil], ceil = 1ms<<n.
	sleeps := e.clock.Sleeps()
	for i, d := range sleeps {
		ceil := time.Millisecond << i
		if d < ceil/2 || d > ceil {
			t.Fatalf("wait %d = %v outside [%v, %v]", i, d, ceil/2, ceil)
		}
	}
}

func TestNoRetryForClientErrors(t *testing.T) {
	for _, status := range []int{400, 403, 404, 501} {
		e := newEnv(t, nexudustest.Options{}, nil)
		e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Status: status})
		if err := list(t, e); err == nil {
			t.Fatalf("%d: no error", status)
		}
		if n := e.sim.Count(nexudustest.RouteList); n != 1 {
			t.Fatalf("%d retried: %d requests", status, n)
		}
	}
}

func TestBackoffRespectsContext(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	e.c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}
	e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Status: 503})
	_, err := e.c.ListPage(ctx, ListQuery{}, 1)
	if !errors.Is(err, context.Canceled) || e.sim.Count(nexudustest.RouteList) != 1 {
		t.Fatalf("err %v after %d requests", err, e.sim.Count(nexudustest.RouteList))
	}

	// The same while retrying a token request.
	e2 := newEnv(t, nexudustest.Options{}, nil)
	ctx2, cancel2 := context.WithCancel(context.Background())
	e2.c.sleep = func(ctx context.Context, d time.Duration) error { cancel2(); return ctx.Err() }
	e2.sim.FailNext(nexudustest.RouteToken, 1, nexudustest.Fault{Status: 503})
	if _, err := e2.c.ListPage(ctx2, ListQuery{}, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("token retry: %v", err)
	}
}

func TestRetryReason(t *testing.T) {
	for status, want := range map[int]string{409: "throttled", 429: "throttled", 500: "server", 503: "server", 501: "", 505: "", 400: "", 404: "", 200: ""} {
		if got := retryReason(status); got != want {
			t.Errorf("retryReason(%d) = %q, want %q", status, got, want)
		}
	}
}

// After any answer with Retry-After (a 503 too), no request goes out before
// it has passed, even when the request that got it gave up at once.
func TestRetryAfterHoldsAfterGivingUp(t *testing.T) {
	for _, status := range []int{409, 429, 503} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newEnv(t, nexudustest.Options{}, func(c *Config) { c.MaxRetries = -1 }) // no retry
			if err := list(t, e); err != nil {                                           // log in first
				t.Fatal(err)
			}
			e.sim.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Status: status, RetryAfter: "30"})
			if err := list(t, e); err == nil {
				t.Fatal("want the list to give up")
			}
			before := len(e.clock.Sleeps())
			if err := list(t, e); err != nil {
				t.Fatal(err)
			}
			s := e.clock.Sleeps()[before:]
			if len(s) == 0 || s[0] < 30*time.Second {
				t.Fatalf("next request waited %v, want the 30 s Retry-After first", s)
			}
		})
	}
}
