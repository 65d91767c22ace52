package daemon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
)

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

func TestSchedulerPollsAtStartAndNeverOverlaps(t *testing.T) {
	var running, maxRunning, polls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	h := NewHealth()
	s := &Scheduler{
		Schedule: "@every 1s", Parser: parser, ShutdownTimeout: 5 * time.Second, Health: h,
		Poll: func(stop, abort context.Context) error {
			n := running.Add(1)
			defer running.Add(-1)
			if n > maxRunning.Load() {
				maxRunning.Store(n)
			}
			polls.Add(1)
			// Longer than the schedule interval: the next runs must be
			// skipped, not stacked.
			select {
			case <-time.After(2500 * time.Millisecond):
			case <-stop.Done():
			}
			return nil
		},
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(4 * time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if maxRunning.Load() != 1 {
		t.Fatalf("%d polls ran at once", maxRunning.Load())
	}
	if p := polls.Load(); p < 1 || p > 3 {
		t.Fatalf("%d polls in 4s with 2.5s polls", p)
	}
}

func TestSchedulerAbandonsAfterShutdownTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var aborted atomic.Bool
	s := &Scheduler{
		Schedule: "@every 1h", Parser: parser, ShutdownTimeout: 100 * time.Millisecond,
		Poll: func(stop, abort context.Context) error {
			close(started)
			<-stop.Done() // asked to stop: ignores it, as a long upload would
			<-abort.Done()
			aborted.Store(true)
			return abort.Err()
		},
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-started
	cancel()
	select {
	case err := <-done:
		if err != nil || !aborted.Load() {
			t.Fatalf("abandoning within the timeout is a clean stop: err %v, aborted %v", err, aborted.Load())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown hung")
	}
}

func TestSchedulerSurvivesAPanickingPoll(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := NewHealth()
	polled := make(chan struct{})
	s := &Scheduler{Schedule: "@every 1h", Parser: parser, ShutdownTimeout: time.Second, Health: h,
		Poll: func(stop, abort context.Context) error { close(polled); panic("boom") }}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-polled
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		polledOK, lastErr := h.polled, h.lastErr
		h.mu.Unlock()
		if polledOK {
			if lastErr == nil || !strings.Contains(lastErr.Error(), "panicked") {
				t.Fatalf("health after a panic: %v", lastErr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("panic not observed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSchedulerRejectsBadSchedule(t *testing.T) {
	s := &Scheduler{Schedule: "whenever", Parser: parser}
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "whenever") {
		t.Fatalf("err %v", err)
	}
}

func TestServerEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "syncd_test_total", Help: "x"})
	reg.MustRegister(c)
	h := NewHealth()
	srv, err := Listen("127.0.0.1:0", reg, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Shutdown(context.Background())
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name   string
		before func()
		path   string
		code   int
		body   string
	}{
		{"live", nil, "/healthz", 200, "ok"},
		{"not ready before a poll", nil, "/readyz", 503, "first poll"},
		{"not ready after a failed poll", func() { h.Observe(errors.New("boom")) }, "/readyz", 503, "failed"},
		{"ready after a good poll", func() { h.Observe(nil) }, "/readyz", 200, "succeeded"},
		{"metrics", nil, "/metrics", 200, "syncd_test_total 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			code, body := get(tt.path)
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Fatalf("%s: %d %q", tt.path, code, body)
			}
		})
	}
	if _, err := Listen(srv.Addr(), reg, h, nil); err == nil {
		t.Fatal("a taken port must fail at Listen")
	}
}

// The audit's turn comes while the poll at start runs: it waits for the
// poll instead of being skipped, then keeps to its own schedule.
func TestSchedulerAuditsBetweenPolls(t *testing.T) {
	var running, maxRunning, audits atomic.Int32
	pollEnded := make(chan time.Time, 1)
	firstAudit := make(chan time.Time, 1)
	track := func() func() {
		n := running.Add(1)
		if n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		return func() { running.Add(-1) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := NewHealth()
	s := &Scheduler{
		Schedule: "@every 1h", AuditSchedule: "@every 1s", Parser: parser, ShutdownTimeout: 5 * time.Second, Health: h,
		Poll: func(stop, abort context.Context) error {
			defer track()()
			time.Sleep(1500 * time.Millisecond)
			pollEnded <- time.Now()
			return nil
		},
		Audit: func(stop, abort context.Context) error {
			defer track()()
			if audits.Add(1) == 1 {
				firstAudit <- time.Now()
			}
			return nil
		},
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	ended := <-pollEnded
	audited := <-firstAudit
	time.Sleep(2200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if audited.Before(ended) {
		t.Fatal("the audit started before the poll ended")
	}
	if maxRunning.Load() != 1 {
		t.Fatalf("%d jobs ran at once", maxRunning.Load())
	}
	if n := audits.Load(); n < 2 {
		t.Fatalf("%d audits in about 4s on @every 1s", n)
	}
	if st := h.Status(); !strings.Contains(st, "last audit") || !strings.Contains(st, "last poll") {
		t.Fatalf("status %q", st)
	}
}
