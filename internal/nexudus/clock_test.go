package nexudus

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// skipClock is a simulated Clock: a wait moves it forward to the instant
// asked for instead of sleeping, and nothing else moves it.
type skipClock struct {
	mu    sync.Mutex
	now   time.Time
	waits int
}

func (c *skipClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *skipClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.waits++
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
	// Let the other waiters run before this one goes on: they then wake
	// to a clock that moved since their reservation, as they would on a
	// busy machine.
	runtime.Gosched()
	return nil
}

// TestInjectedClockRunsTheLimiter: with Config.Clock, the limiters wait on
// that clock and nothing sleeps for real: n requests at 60 a minute
// (burst 3) end exactly (n-3) seconds after the start on that clock,
// however many goroutines send them, and the simulator (on the same
// clock) never throttles.
func TestInjectedClockRunsTheLimiter(t *testing.T) {
	clk := &skipClock{now: t0}
	sim := nexudustest.New(nexudustest.Options{Now: clk.Now, RequestsPerMinute: 120})
	t.Cleanup(sim.Close)
	cfg := baseConfig(sim)
	cfg.RequestsPerMinute, cfg.RequestsPerHour = 60, -1
	cfg.Clock = clk
	c, err := New(cfg, sim.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := c.ListPage(context.Background(), ListQuery{}, 1); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := sim.Count(nexudustest.RouteToken) + sim.Count(nexudustest.RouteList)
	if n != workers*each+1 {
		t.Fatalf("%d requests, want %d lists and one token", n, workers*each)
	}
	if got, want := clk.Now().Sub(t0), time.Duration(n-3)*time.Second; got != want {
		t.Fatalf("the clock moved %s for %d requests at 60/min with a burst of 3, want %s", got, n, want)
	}
	if th := sim.Throttled(); th != 0 {
		t.Fatalf("the simulator throttled %d requests", th)
	}
	if clk.waits == 0 {
		t.Fatal("the limiter never waited on the injected clock")
	}
}

// TestInjectedClockWaitsOutRetryAfter: a Retry-After pause is waited on
// the injected clock too, to the instant it ends.
func TestInjectedClockWaitsOutRetryAfter(t *testing.T) {
	clk := &skipClock{now: t0}
	sim := nexudustest.New(nexudustest.Options{Now: clk.Now})
	t.Cleanup(sim.Close)
	cfg := baseConfig(sim)
	cfg.Clock = clk
	c, err := New(cfg, sim.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.ThrottleNext(1, 30*time.Second)
	if _, err := c.ListPage(context.Background(), ListQuery{}, 1); err != nil {
		t.Fatal(err)
	}
	if got := clk.Now().Sub(t0); got < 30*time.Second {
		t.Fatalf("the clock moved %s, want at least the 30s of Retry-After", got)
	}
	if early := sim.EarlyRetries(); early != 0 {
		t.Fatalf("%d requests came before Retry-After had passed", early)
	}
}

// TestInjectedClockHonoursCancel: a wait on the injected clock still ends
// with the context.
func TestInjectedClockHonoursCancel(t *testing.T) {
	clk := &skipClock{now: t0}
	sim := nexudustest.New(nexudustest.Options{Now: clk.Now})
	t.Cleanup(sim.Close)
	cfg := baseConfig(sim)
	cfg.Clock = clk
	c, err := New(cfg, sim.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ListPage(ctx, ListQuery{}, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
