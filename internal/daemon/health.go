package daemon

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Health tracks what /healthz and /readyz report.
//
// /healthz is liveness: the process serves. /readyz is readiness: the last
// poll succeeded. A failing Nexudus or CoreData makes syncd unready, which
// is what a rollout or an alert wants to see.
type Health struct {
	mu       sync.Mutex
	polled   bool
	lastErr  error
	lastPoll time.Time
	now      func() time.Time
}

// NewHealth returns a Health that is live but not ready.
func NewHealth() *Health { return &Health{now: time.Now} }

func (h *Health) observe(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.polled = true
	h.lastErr = err
	h.lastPoll = h.now()
}

// Observe records a poll's result (for callers that poll without a
// Scheduler, and for tests).
func (h *Health) Observe(err error) { h.observe(err) }

func (h *Health) ServeLive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

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
