package daemon

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// MinStuckAfter is the floor of the default stuck bound: a poll that
// catches up after an outage may legitimately run for many schedule
// intervals, so a fast schedule alone must not make a long poll "stuck".
const MinStuckAfter = time.Hour

// DefaultStuckAfter is the bound used when none is configured:
// max(10 × the schedule's interval, MinStuckAfter). The interval is the
// gap between the schedule's next two runs after now.
func DefaultStuckAfter(s cron.Schedule, now time.Time) time.Duration {
	first := s.Next(now)
	interval := s.Next(first).Sub(first)
	if d := 10 * interval; d > MinStuckAfter {
		return d
	}
	return MinStuckAfter
}

// Health tracks what /healthz and /readyz report, and whether the
// scheduler makes progress.
//
// /healthz is liveness: it fails when the scheduler is stuck, that is when
// a poll has run longer than the stuck bound, or when no poll has started
// for longer than it. The systemd watchdog is pinged only while /healthz
// would pass, so both restart a daemon whose process lives but whose polls
// do not move. /readyz is readiness: the last poll succeeded.
type Health struct {
	mu         sync.Mutex
	now        func() time.Time
	stuckAfter time.Duration
	since      time.Time // when Health was made: "no poll yet" counts from here

	running   bool
	pollStart time.Time

	polled   bool
	lastErr  error
	lastPoll time.Time // end of the last poll
	lastDur  time.Duration
	detail   string // the last poll's own summary
	pending  string // the running poll's summary, set before it ends

	// The audit counts as progress too: while it runs no poll can start,
	// and it is bounded as a poll is.
	auditing   bool
	auditStart time.Time
	audited    bool
	auditErr   error
	lastAudit  time.Time // end of the last audit
}

// HealthOption configures NewHealth.
type HealthOption func(*Health)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) HealthOption { return func(h *Health) { h.now = now } }

// WithStuckAfter sets the stuck bound; without it, a Scheduler sets
// DefaultStuckAfter of its schedule (or its own StuckAfter).
func WithStuckAfter(d time.Duration) HealthOption { return func(h *Health) { h.stuckAfter = d } }

// NewHealth returns a Health that is live but not ready.
func NewHealth(opts ...HealthOption) *Health {
	h := &Health{now: time.Now}
	for _, o := range opts {
		o(h)
	}
	h.since = h.now()
	return h
}

// setStuckAfter sets the bound unless one was given to NewHealth.
func (h *Health) setStuckAfter(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stuckAfter == 0 {
		h.stuckAfter = d
	}
}

// StuckAfter is the bound in force (0: none yet).
func (h *Health) StuckAfter() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stuckAfter
}

func (h *Health) begin() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.running = true
	h.pollStart = h.now()
	h.pending = ""
}

func (h *Health) observe(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if h.running {
		h.lastDur = now.Sub(h.pollStart)
	}
	h.running = false
	h.polled = true
	h.lastErr = err
	h.lastPoll = now
	h.detail, h.pending = h.pending, ""
}

// start and end mark a job of the scheduler.
func (h *Health) start(k jobKind) {
	if k == jobPoll {
		h.begin()
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.auditing, h.auditStart = true, h.now()
}

func (h *Health) end(k jobKind, err error) {
	if k == jobPoll {
		h.observe(err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.auditing, h.audited, h.auditErr, h.lastAudit = false, true, err, h.now()
}

// Observe records a poll's result (for callers that poll without a
// Scheduler, and for tests).
func (h *Health) Observe(err error) { h.observe(err) }

// SetDetail gives the running poll's summary (counts of files), shown by
// Status once the poll ends.
func (h *Health) SetDetail(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = s
}

// Check returns nil while the scheduler makes progress, else why not.
func (h *Health) Check() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stuckAfter <= 0 {
		return nil
	}
	now := h.now()
	for _, job := range []struct {
		running bool
		start   time.Time
		what    string
	}{{h.running, h.pollStart, "poll"}, {h.auditing, h.auditStart, "audit"}} {
		if !job.running {
			continue
		}
		if d := now.Sub(job.start); d > h.stuckAfter {
			return fmt.Errorf("daemon: stuck: the %s started at %s has run for %s, longer than %s",
				job.what, job.start.UTC().Format(time.RFC3339), d.Round(time.Second), h.stuckAfter)
		}
		return nil
	}
	ref, what := h.since, "start"
	if h.polled {
		ref, what = h.lastPoll, "the last poll ended"
	}
	if h.audited && h.lastAudit.After(ref) {
		// A poll waiting for an audit has not started, yet the
		// scheduler moved.
		ref, what = h.lastAudit, "the last audit ended"
	}
	if d := now.Sub(ref); d > h.stuckAfter {
		return fmt.Errorf("daemon: stuck: no poll has started in the %s since %s (%s), longer than %s",
			d.Round(time.Second), what, ref.UTC().Format(time.RFC3339), h.stuckAfter)
	}
	return nil
}

// maxStatusError bounds the error text in STATUS=: systemctl status shows
// one line.
const maxStatusError = 200

// Status is one line on the last poll (and the running one), for
// systemd's STATUS= and the health endpoints.
func (h *Health) Status() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var parts []string
	if h.running {
		parts = append(parts, "polling since "+h.pollStart.UTC().Format(time.RFC3339))
	}
	if h.auditing {
		parts = append(parts, "auditing since "+h.auditStart.UTC().Format(time.RFC3339))
	}
	switch {
	case !h.polled && !h.running:
		parts = append(parts, "waiting for the first poll")
	case !h.polled:
	case h.lastErr != nil:
		msg := strings.ReplaceAll(h.lastErr.Error(), "\n", "; ")
		if len(msg) > maxStatusError {
			msg = msg[:maxStatusError-3] + "..."
		}
		parts = append(parts, fmt.Sprintf("last poll %s failed after %s: %s", h.lastPoll.UTC().Format(time.RFC3339), h.lastDur.Round(time.Millisecond), msg))
	default:
		s := fmt.Sprintf("last poll %s ok in %s", h.lastPoll.UTC().Format(time.RFC3339), h.lastDur.Round(time.Millisecond))
		if h.detail != "" {
			s += ": " + h.detail
		}
		parts = append(parts, s)
	}
	if h.audited && !h.auditing {
		result := "ok"
		if h.auditErr != nil {
			result = "failed"
		}
		parts = append(parts, fmt.Sprintf("last audit %s %s", h.lastAudit.UTC().Format(time.RFC3339), result))
	}
	return strings.Join(parts, "; ")
}

// ServeLive is /healthz: 200 while the scheduler makes progress, 503 when
// it is stuck.
func (h *Health) ServeLive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := h.Check(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unhealthy: %v\n", err)
		return
	}
	fmt.Fprintf(w, "ok: %s\n", h.Status())
}

// ServeReady is /readyz: 200 once the last poll succeeded.
func (h *Health) ServeReady(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	polled, lastErr, at := h.polled, h.lastErr, h.lastPoll
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case !polled:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: first poll not finished")
	case lastErr != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: last poll at %s failed\n", at.UTC().Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "ready: last poll at %s succeeded\n", at.UTC().Format(time.RFC3339))
	}
}
