package coredata

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
)

// movingClock is a client clock that a sleep moves forward instead of
// sleeping, and that records when each request goes out (on that clock).
// onSleep, when set, runs once at the end of the first sleep: what another
// worker does while this one sleeps.
type movingClock struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  []time.Duration
	sent    map[string][]time.Time // by "api" or "storage"
	onSleep func()
}

func (m *movingClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

func (m *movingClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	m.sleeps = append(m.sleeps, d)
	m.now = m.now.Add(d)
	hook := m.onSleep
	m.onSleep = nil
	m.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

func (m *movingClock) Sleeps() []time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Duration(nil), m.sleeps...)
}

// Sent is when the requests to api ("api" or "storage") went out, counted
// from fixedNow.
func (m *movingClock) Sent(api string) []time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []time.Duration
	for _, t := range m.sent[api] {
		out = append(out, t.Sub(fixedNow))
	}
	return out
}

// record wraps hc so that each request it sends is logged as api.
func (m *movingClock) record(api string, hc *http.Client) *http.Client {
	out := *hc // a copy: the simulator shares its client
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = recordingTransport(func(r *http.Request) (*http.Response, error) {
		m.mu.Lock()
		if m.sent == nil {
			m.sent = map[string][]time.Time{}
		}
		m.sent[api] = append(m.sent[api], m.now)
		m.mu.Unlock()
		return base.RoundTrip(r)
	})
	return &out
}

type recordingTransport func(*http.Request) (*http.Response, error)

func (f recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newMovingEnv is newEnv on a movingClock, with the client's requests
// recorded.
func newMovingEnv(t *testing.T, mod func(*Config)) (*env, *movingClock) {
	t.Helper()
	clk := &movingClock{now: fixedNow}
	e := newEnv(t, coredatatest.Options{Now: fixedNow}, func(cfg *Config) {
		cfg.Sleep, cfg.Now = clk.Sleep, clk.Now
		if mod != nil {
			mod(cfg)
		}
	})
	e.c.api = clk.record("api", e.c.api)
	e.c.storage = clk.record("storage", e.c.storage)
	return e, clk
}

// A request waiting out a pause is held by a Retry-After that another
// worker receives while it sleeps: it checks the pause again on waking
// instead of going out at the end of the pause it first saw.
func TestCoreDataPauseExtendedDuringSleepHoldsTheRequest(t *testing.T) {
	e, clk := newMovingEnv(t, nil)
	id := e.sim.AddFile(coredatatest.NewFile{Parent: "p", Title: "T", Filename: "t.pdf", Content: []byte("x")})
	e.c.pause(10 * time.Second) // an earlier answer's Retry-After: 10
	clk.onSleep = func() {
		// At t0+10 s, before this request wakes, another worker is told
		// Retry-After: 60.
		e.c.pause(60 * time.Second)
	}
	if _, err := e.c.GetFile(context.Background(), id); e.check(err) != nil {
		t.Fatal(err)
	}
	sent := clk.Sent("api")
	if len(sent) != 1 || sent[0] < 70*time.Second {
		t.Fatalf("the request went out at t0+%v (sleeps %v), inside the pause that ran to t0+70s", sent, clk.Sleeps())
	}
}

// A storage Retry-After holds every worker's storage PUT, also after the
// upload that got it gave up, at once or after its last retry.
func TestStorageRetryAfterHoldsEveryWorker(t *testing.T) {
	content := []byte("0123456789abcdef")
	tests := []struct {
		name       string
		maxRetries int
		fault      func(s *coredatatest.Server)
		body       func() io.Reader // worker A's body
		until      time.Duration
	}{
		{"503, body cannot be replayed", 0, func(s *coredatatest.Server) {
			s.InjectFault(coredatatest.Fault{Route: coredatatest.RouteStorage, Status: 503, RetryAfter: "30"})
		}, func() io.Reader { return onlyReader{bytes.NewReader(content)} }, 30 * time.Second},
		{"429 until giving up", 1, func(s *coredatatest.Server) {
			s.ThrottleNext(coredatatest.RouteStorage, "30", 2)
		}, func() io.Reader { return bytes.NewReader(content) }, 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clk := newMovingEnv(t, func(cfg *Config) { cfg.MaxRetries = tt.maxRetries })
			ctx := context.Background()
			var blobs [2]Blob
			for i := range blobs {
				b, err := e.c.RequestBlob(ctx, "application/pdf", int64(len(content)))
				if err != nil {
					t.Fatal(e.check(err))
				}
				blobs[i] = b
			}
			tt.fault(e.sim)
			if err := e.check(e.c.PutBlob(ctx, blobs[0], tt.body(), int64(len(content)), "application/pdf", "a.pdf")); err == nil {
				t.Fatal("worker A's upload succeeded; want it to give up")
			}
			puts := len(clk.Sent("storage"))
			// Worker B uploads another blob.
			if err := e.check(e.c.PutBlob(ctx, blobs[1], bytes.NewReader(content), int64(len(content)), "application/pdf", "b.pdf")); err != nil {
				t.Fatal(err)
			}
			sent := clk.Sent("storage")
			if len(sent) != puts+1 || sent[puts] < tt.until {
				t.Fatalf("worker B's PUT went out at t0+%v (all PUTs %v), inside storage's Retry-After (until t0+%v)", sent[puts:], sent, tt.until)
			}
		})
	}
}

// The storage pause and the API pause are apart: storage is another host
// with its own throttling, so a storage Retry-After does not hold the API
// calls, nor an API Retry-After the storage PUTs.
func TestStorageAndAPIPausesAreApart(t *testing.T) {
	content := []byte("0123456789abcdef")
	e, clk := newMovingEnv(t, nil)
	ctx := context.Background()
	b, err := e.c.RequestBlob(ctx, "application/pdf", int64(len(content)))
	if err != nil {
		t.Fatal(e.check(err))
	}
	e.sim.InjectFault(coredatatest.Fault{Route: coredatatest.RouteStorage, Status: 503, RetryAfter: "30"})
	if err := e.c.PutBlob(ctx, b, onlyReader{bytes.NewReader(content)}, int64(len(content)), "application/pdf", "a.pdf"); !errors.Is(err, ErrServer) {
		t.Fatalf("err %v, want ErrServer", e.check(err))
	}
	if _, err := e.c.RequestBlob(ctx, "application/pdf", int64(len(content))); err != nil {
		t.Fatal(e.check(err))
	}
	if s := clk.Sleeps(); len(s) != 0 {
		t.Fatalf("an API call waited %v for a storage Retry-After", s)
	}

	// A fresh client: the storage pause above is still in force on this
	// one's clock.
	e, clk = newMovingEnv(t, nil)
	b2, err := e.c.RequestBlob(ctx, "application/pdf", int64(len(content)))
	if err != nil {
		t.Fatal(e.check(err))
	}
	e.c.pause(45 * time.Second) // an API Retry-After
	if err := e.check(e.c.PutBlob(ctx, b2, bytes.NewReader(content), int64(len(content)), "application/pdf", "b.pdf")); err != nil {
		t.Fatal(err)
	}
	if s := clk.Sleeps(); len(s) != 0 {
		t.Fatalf("a storage PUT waited %v for an API Retry-After", s)
	}
}
