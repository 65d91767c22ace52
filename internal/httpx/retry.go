package httpx

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
// ok is false for a missing or malformed value. A date in the past gives 0.
func ParseRetryAfter(value string, now time.Time) (d time.Duration, ok bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Cap absurd values instead of overflowing: a day is longer than any
		// throttle window either API documents.
		if secs > 86400 {
			secs = 86400
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// Backoff computes capped exponential delays with full jitter.
type Backoff struct {
	Base time.Duration // first delay ceiling; default 200ms
	Max  time.Duration // cap; default 30s
}

// Delay returns the wait before retry number attempt (0-based): a random
// duration in [ceiling/2, ceiling], ceiling = min(Max, Base*2^attempt).
// Half the ceiling is kept so that retries never bunch at zero.
func (b Backoff) Delay(attempt int) time.Duration {
	base, max := b.Base, b.Max
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	if max <= 0 {
		max = 30 * time.Second
	}
	ceil := base
	for i := 0; i < attempt && ceil < max; i++ {
		ceil *= 2
	}
	if ceil > max {
		ceil = max
	}
	half := ceil / 2
	return half + time.Duration(rand.Int64N(int64(ceil-half)+1))
}

// Wait returns the delay before the next try: the backoff delay, raised to
// Retry-After when the server gave one (Retry-After is a floor, never a cap).
func (b Backoff) Wait(attempt int, retryAfter time.Duration, hasRetryAfter bool) time.Duration {
	d := b.Delay(attempt)
	if hasRetryAfter && retryAfter > d {
		return retryAfter
	}
	return d
}

// Sleep waits d or until ctx is done, whichever is first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
