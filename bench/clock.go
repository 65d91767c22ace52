package main

import (
	"context"
	"sync"
	"time"
)

// skipClock is the simulated clock of the backfill measurement. It runs at
// real speed, except that a wait on it does not sleep: it moves the clock
// forward to the instant waited for. Work (requests, hashing, state
// writes) thus costs its real time, and the hours a rate limit imposes
// pass at once. The Nexudus client's limiters, the Nexudus simulator's
// own throttling and the engine all read it.
type skipClock struct {
	mu      sync.Mutex
	origin  time.Time // the clock's reading at real0
	real0   time.Time // carries the monotonic reading
	skipped time.Duration
}

func newSkipClock(origin time.Time) *skipClock {
	return &skipClock{origin: origin, real0: time.Now()}
}

func (c *skipClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *skipClock) nowLocked() time.Time {
	return c.origin.Add(time.Since(c.real0) + c.skipped)
}

// SleepUntil moves the clock to t if it is not there yet.
func (c *skipClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := t.Sub(c.nowLocked()); d > 0 {
		c.skipped += d
	}
	return nil
}

// Skipped is how much waiting the clock skipped.
func (c *skipClock) Skipped() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.skipped
}
