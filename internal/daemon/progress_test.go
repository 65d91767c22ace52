package daemon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for Health.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestDefaultStuckAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		schedule string
		want     time.Duration
	}{
		{"@every 5m", MinStuckAfter}, // 10 × 5m is under the floor
		{"@every 10m", 100 * time.Minute},
		{"*/30 * * * *", 5 * time.Hour},
		{"0 3 * * *", 240 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.schedule, func(t *testing.T) {
			s, err := parser.Parse(tt.schedule)
			if err != nil {
				t.Fatal(err)
			}
			if got := DefaultStuckAfter(s, now); got != tt.want {
				t.Fatalf("DefaultStuckAfter(%s) = %s, want %s", tt.schedule, got, tt.want)
			}
		})
	}
}

func TestHealthCallsALongPollOrALongSilenceStuck(t *testing.T) {
	const bound = time.Hour
	tests := []struct {
		name    string
		steps   func(h *Health, c *clock)
		stuck   string // empty: healthy
		status  string
		healthz int
	}{
		{"fresh", func(h *Health, c *clock) {}, "", "waiting for the first poll", 200},
		{"first poll not started within the bound", func(h *Health, c *clock) { c.Advance(bound + time.Second) }, "no poll has started", "waiting", 503},
		{"poll running under the bound", func(h *Health, c *clock) { h.begin(); c.Advance(bound) }, "", "polling since 2026-03-01T12:00:00Z", 200},
		{"poll running past the bound", func(h *Health, c *clock) { h.begin(); c.Advance(bound + time.Minute) }, "has run for 1h1m0s, longer than 1h0m0s", "polling since", 503},
		{"stuck poll that ends is healthy again", func(h *Health, c *clock) {
			h.begin()
			c.Advance(2 * bound)
			h.SetDetail("created=3 failed=0")
			h.observe(nil)
		}, "", "last poll 2026-03-01T14:00:00Z ok in 2h0m0s: created=3 failed=0", 200},
		{"failed poll shows its error", func(h *Health, c *clock) {
			h.begin()
			c.Advance(1500 * time.Millisecond)
			h.observe(errors.New("nexudus: list: 503\nsecond line"))
		}, "", "last poll 2026-03-01T12:00:01Z failed after 1.5s: nexudus: list: 503; second line", 200},
		{"no poll since the last one ended, past the bound", func(h *Health, c *clock) {
			h.begin()
			h.observe(nil)
			c.Advance(bound + time.Second)
		}, "no poll has started in the 1h0m1s since the last poll ended", "last poll", 503},
		{"an audit running under the bound is progress", func(h *Health, c *clock) {
			h.begin()
			h.observe(nil)
			c.Advance(bound / 2)
			h.start(jobAudit)
			c.Advance(bound)
		}, "", "auditing since 2026-03-01T12:30:00Z", 200},
		{"an audit running past the bound is stuck", func(h *Health, c *clock) {
			h.start(jobAudit)
			c.Advance(bound + time.Minute)
		}, "the audit started at 2026-03-01T12:00:00Z has run for 1h1m0s", "auditing since", 503},
		{"the silence counts from the last audit's end", func(h *Health, c *clock) {
			h.begin()
			h.observe(nil)
			c.Advance(bound / 2)
			h.start(jobAudit)
			c.Advance(bound / 4)
			h.end(jobAudit, errors.New("coredata: list: 503"))
			c.Advance(bound - time.Minute)
		}, "", "last audit 2026-03-01T12:45:00Z failed", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			h := NewHealth(WithClock(c.Now), WithStuckAfter(bound))
			tt.steps(h, c)
			err := h.Check()
			switch {
			case tt.stuck == "" && err != nil:
				t.Fatalf("want healthy, got %v", err)
			case tt.stuck != "" && (err == nil || !strings.Contains(err.Error(), tt.stuck)):
				t.Fatalf("want stuck with %q, got %v", tt.stuck, err)
			}
			if got := h.Status(); !strings.Contains(got, tt.status) {
				t.Fatalf("Status() = %q, want it to contain %q", got, tt.status)
			}
			rec := httptest.NewRecorder()
			h.ServeLive(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != tt.healthz {
				t.Fatalf("/healthz = %d %q, want %d", rec.Code, rec.Body, tt.healthz)
			}
		})
	}
}

func TestWatchdogWithholdsPingsWhileStuck(t *testing.T) {
	c := newClock()
	h := NewHealth(WithClock(c.Now), WithStuckAfter(time.Hour))
	var sent []string
	w := &Watchdog{Health: h, Notify: func(s string) error { sent = append(sent, s); return nil }}

	steps := []struct {
		name string
		do   func()
		ping bool
	}{
		{"idle daemon", func() {}, true},
		{"poll running", func() { h.begin(); c.Advance(30 * time.Minute) }, true},
		{"poll stuck", func() { c.Advance(31 * time.Minute) }, false},
		{"still stuck", func() { c.Advance(time.Hour) }, false},
		{"poll ends", func() { h.observe(nil) }, true},
	}
	for _, st := range steps {
		st.do()
		if got := w.Tick(); got != st.ping {
			t.Fatalf("%s: pinged %v, want %v", st.name, got, st.ping)
		}
	}
	if len(sent) != 3 || sent[0] != "WATCHDOG=1" {
		t.Fatalf("sent %q", sent)
	}
}

func TestWatchdogRunStopsWithItsContext(t *testing.T) {
	h := NewHealth(WithStuckAfter(time.Hour))
	pings := make(chan string, 1)
	w := &Watchdog{Health: h, Notify: func(s string) error { pings <- s; return nil }}
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx, ticks); close(done) }()
	ticks <- time.Time{}
	if got := <-pings; got != "WATCHDOG=1" {
		t.Fatalf("ping %q", got)
	}
	cancel()
	<-done
}

// The scheduler marks polls in Health and sends STATUS= at each poll's
// start and end; a poll that hangs past the bound makes /healthz fail.
func TestSchedulerReportsProgressAndStatus(t *testing.T) {
	c := newClock()
	h := NewHealth(WithClock(c.Now))
	statuses := make(chan string, 8)
	started, release := make(chan struct{}), make(chan struct{})
	s := &Scheduler{
		Schedule: "@every 5m", Parser: parser, ShutdownTimeout: 5 * time.Second, Health: h, Now: c.Now,
		Notify: func(st string) error { statuses <- st; return nil },
		Poll: func(stop, abort context.Context) error {
			close(started)
			<-release
			h.SetDetail("created=2 failed=0")
			return nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-started
	if got := <-statuses; got != "STATUS=polling since 2026-03-01T12:00:00Z" {
		t.Fatalf("status at start: %q", got)
	}
	if h.StuckAfter() != MinStuckAfter {
		t.Fatalf("default bound %s, want %s", h.StuckAfter(), MinStuckAfter)
	}
	c.Advance(MinStuckAfter + time.Minute)
	if err := h.Check(); err == nil || !strings.Contains(err.Error(), "stuck") {
		t.Fatalf("a poll hung past the bound must be stuck: %v", err)
	}
	close(release)
	if got := <-statuses; !strings.HasPrefix(got, "STATUS=last poll 2026-03-01T13:01:00Z ok in 1h1m0s: created=2 failed=0") {
		t.Fatalf("status at the end: %q", got)
	}
	if err := h.Check(); err != nil {
		t.Fatalf("healthy again after the poll: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSchedulerUsesAConfiguredBound(t *testing.T) {
	h := NewHealth()
	polled := make(chan struct{})
	s := &Scheduler{Schedule: "@every 5m", Parser: parser, ShutdownTimeout: time.Second, Health: h, StuckAfter: 3 * time.Hour,
		Poll: func(stop, abort context.Context) error { close(polled); return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-polled
	cancel()
	<-done
	if h.StuckAfter() != 3*time.Hour {
		t.Fatalf("bound %s", h.StuckAfter())
	}
}
