package nexudus

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

var t0 = time.Date(2025, 1, 15, 10, 30, 45, 0, time.UTC)

// fakeClock replaces the client's clock: Sleep records the wait and moves
// the clock (and, when set, the simulator's) instead of sleeping.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	sim    *nexudustest.Server
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	sim := f.sim
	f.mu.Unlock()
	if sim != nil {
		sim.Advance(d)
	}
	return nil
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// env is a client wired to a simulator with a fake clock, metrics and an
// observed logger.
type env struct {
	sim   *nexudustest.Server
	c     *Client
	clock *fakeClock
	reg   *prometheus.Registry
	logs  *observer.ObservedLogs
}

func newSim(t *testing.T, o nexudustest.Options) *nexudustest.Server {
	t.Helper()
	s := nexudustest.New(o)
	t.Cleanup(s.Close)
	s.SetNow(t0)
	return s
}

func baseConfig(s *nexudustest.Server) Config {
	return Config{
		BaseURL: s.URL, Username: s.Username(), Password: s.Password(),
		RequestsPerMinute: -1, RequestsPerHour: -1,
		Backoff: httpx.Backoff{Base: time.Millisecond, Max: 10 * time.Millisecond},
	}
}

func newEnv(t *testing.T, o nexudustest.Options, mutate func(*Config)) *env {
	t.Helper()
	s := newSim(t, o)
	cfg := baseConfig(s)
	if mutate != nil {
		mutate(&cfg)
	}
	return newEnvFor(t, s, cfg)
}

func newEnvFor(t *testing.T, s *nexudustest.Server, cfg Config) *env {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	core, logs := observer.New(zapcore.DebugLevel)
	c, err := New(cfg, s.Client(), httpx.NewMetrics(reg), zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeClock{now: t0, sim: s}
	c.now, c.sleep = fc.Now, fc.Sleep
	e := &env{sim: s, c: c, clock: fc, reg: reg, logs: logs}
	t.Cleanup(func() { e.checkLogs(t) })
	return e
}

// checkLogs fails if a log line holds the password or a token.
func (e *env) checkLogs(t *testing.T) {
	for _, entry := range e.logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += " " + k + "=" + toString(v)
		}
		for _, s := range e.c.secrets() {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("secret in log line %q", line)
			}
		}
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}

// noSecrets fails if err's message holds the password or a token.
func noSecrets(t *testing.T, c *Client, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range c.secrets() {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("secret %q in error %q", s, err)
		}
	}
}

// metric returns the value of a counter with the given labels.
func (e *env) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := labels[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}
