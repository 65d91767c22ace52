package coredata

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/httpx"
)

// TestCreateFileNeverBlindlyRetried: once a create may have reached the
// server, the client reports ErrOutcomeUnknown instead of sending it again;
// only answers that prove it was not processed are retried.
func TestCreateFileNeverBlindlyRetried(t *testing.T) {
	tests := []struct {
		name        string
		fault       func(s *coredatatest.Server)
		wantUnknown bool
		wantKind    error // also required when set
		wantCreates int
		wantFiles   int
		wantSleep   time.Duration // first wait, when retried with Retry-After
	}{
		{name: "dropped after apply", fault: func(s *coredatatest.Server) { s.DropNext(coredatatest.RouteCreate, true, 1) },
			wantUnknown: true, wantCreates: 1, wantFiles: 1},
		{name: "dropped before apply", fault: func(s *coredatatest.Server) { s.DropNext(coredatatest.RouteCreate, false, 1) },
			wantUnknown: true, wantCreates: 1, wantFiles: 0},
		{name: "500", fault: func(s *coredatatest.Server) { s.FailNext(coredatatest.RouteCreate, 500, 1) },
			wantUnknown: true, wantKind: ErrServer, wantCreates: 1},
		{name: "502 HTML page", fault: func(s *coredatatest.Server) {
			s.InjectFault(coredatatest.Fault{Route: coredatatest.RouteCreate, HTML: true})
		}, wantUnknown: true, wantKind: ErrServer, wantCreates: 1},
		{name: "503 without Retry-After", fault: func(s *coredatatest.Server) { s.FailNext(coredatatest.RouteCreate, 503, 1) },
			wantUnknown: true, wantCreates: 1},
		// A 503 with Retry-After may come from a proxy after CoreData
		// created the file: it is reported unknown, never resent.
		{name: "503 with Retry-After", fault: func(s *coredatatest.Server) {
			s.InjectFault(coredatatest.Fault{Route: coredatatest.RouteCreate, Status: 503, RetryAfter: "2"})
		}, wantUnknown: true, wantKind: ErrServer, wantCreates: 1, wantFiles: 0},
		{name: "503 with Retry-After after apply", fault: func(s *coredatatest.Server) {
			s.InjectFault(coredatatest.Fault{Route: coredatatest.RouteCreate, Status: 503, RetryAfter: "2", AfterApply: true})
		}, wantUnknown: true, wantKind: ErrServer, wantCreates: 1, wantFiles: 1},
		{name: "429 with Retry-After", fault: func(s *coredatatest.Server) { s.ThrottleNext(coredatatest.RouteCreate, "3", 1) },
			wantCreates: 2, wantFiles: 1, wantSleep: 3 * time.Second},
		{name: "429 without Retry-After", fault: func(s *coredatatest.Server) { s.ThrottleNext(coredatatest.RouteCreate, "", 1) },
			wantCreates: 2, wantFiles: 1},
		{name: "429 until giving up", fault: func(s *coredatatest.Server) { s.ThrottleNext(coredatatest.RouteCreate, "1", 100) },
			wantKind: ErrThrottled, wantCreates: DefaultMaxRetries + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, coredatatest.Options{}, nil)
			b := e.uploadedBlob([]byte("contract"))
			tt.fault(e.sim)
			f := newFile("T")
			f.BlobName = b.Name
			id, err := e.c.CreateFile(context.Background(), f)
			e.check(err)
			if errors.Is(err, ErrOutcomeUnknown) != tt.wantUnknown {
				t.Fatalf("err = %v, want unknown=%v", err, tt.wantUnknown)
			}
			if tt.wantKind != nil && !errors.Is(err, tt.wantKind) {
				t.Fatalf("err = %v, want %v", err, tt.wantKind)
			}
			if err == nil && tt.wantFiles == 1 {
				if _, ok := e.sim.File(id); !ok {
					t.Fatalf("returned id %q is not the created file", id)
				}
			}
			if got := e.sim.Count(coredatatest.RouteCreate); got != tt.wantCreates {
				t.Fatalf("server saw %d creates, want %d", got, tt.wantCreates)
			}
			if got := len(e.sim.Files()); got != tt.wantFiles {
				t.Fatalf("%d files, want %d", got, tt.wantFiles)
			}
			if s := e.slept(); tt.wantSleep > 0 && (len(s) == 0 || s[0] != tt.wantSleep) {
				t.Fatalf("waits %v, want Retry-After %v first", s, tt.wantSleep)
			}
		})
	}
}

func TestCreateFileTimeoutIsOutcomeUnknown(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	b := e.uploadedBlob([]byte("x"))
	e.sim.SetAPILatency(10 * time.Second) // the server answers long after the deadline
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	f := newFile("T")
	f.BlobName = b.Name
	_, err := e.c.CreateFile(ctx, f)
	if !errors.Is(e.check(err), ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The simulator applies the create before its latency: the file exists
	// although the client gave up, which is what reconciliation is for.
	if n := e.sim.Count(coredatatest.RouteCreate); n != 1 || len(e.sim.Files()) != 1 {
		t.Fatalf("%d creates, %d files", n, len(e.sim.Files()))
	}
}

// TestDialErrorIsRetried: a refused connection never carried the request,
// so even a create may be sent again.
func TestDialErrorIsRetried(t *testing.T) {
	var dials atomic.Int32
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) == 1 {
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	e := newEnv(t, coredatatest.Options{}, nil)
	b := e.uploadedBlob([]byte("x"))
	c := *e.c
	c.api = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	f := newFile("T")
	f.BlobName = b.Name
	id, err := c.CreateFile(context.Background(), f)
	if e.check(err) != nil {
		t.Fatalf("CreateFile: %v", err)
	}
	if _, ok := e.sim.File(id); !ok || e.sim.Count(coredatatest.RouteCreate) != 1 || len(e.slept()) != 1 {
		t.Fatalf("creates %d, waits %v", e.sim.Count(coredatatest.RouteCreate), e.slept())
	}
	if v := e.metric("syncd_api_retries_total", map[string]string{"api": "coredata", "reason": "network"}); v != 1 {
		t.Fatalf("network retries metric = %v", v)
	}
}

func TestUpdateContent(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	ctx := context.Background()
	id, err := e.upload(ctx, []byte("v1"), newFile("T"))
	if err != nil {
		t.Fatal(err)
	}
	snap1 := mustFile(t, e, id).SnapshotID
	b := e.uploadedBlob([]byte("v2"))
	md5v2 := md5hex([]byte("v2"))

	// A stale snapshot is a typed conflict, and not retried.
	_, err = e.c.UpdateContent(ctx, id, b.Name, md5v2, "stale-snapshot", "")
	if !errors.Is(e.check(err), ErrConflict) || errors.Is(err, ErrOutcomeUnknown) || e.sim.Count(coredatatest.RouteUpdateContent) != 1 {
		t.Fatalf("stale snapshot: %v (%d requests)", err, e.sim.Count(coredatatest.RouteUpdateContent))
	}
	// A wrong digest is refused by the server.
	_, err = e.c.UpdateContent(ctx, id, b.Name, "00000000000000000000000000000000", snap1, "")
	if !errors.Is(e.check(err), ErrBadRequest) {
		t.Fatalf("wrong digest: %v", err)
	}
	v, err := e.c.UpdateContent(ctx, id, b.Name, md5v2, snap1, "v2-signed.pdf")
	if err != nil {
		t.Fatal(e.check(err))
	}
	f, _ := e.sim.File(id)
	if v.Digest != md5v2 || v.SnapshotID != f.SnapshotID || v.SnapshotID == snap1 || len(f.Versions) != 2 {
		t.Fatalf("version %+v, sim %+v", v, f)
	}
	if f.Filename != "v2-signed.pdf" {
		t.Fatalf("filename after a content update with a new name: %q", f.Filename)
	}
	req := e.sim.Requests()[len(e.sim.Requests())-1]
	if req.Path != "/api/v2/files/"+id+"/content/" || req.Query["blob_name"][0] != b.Name || req.Query["digest"][0] != md5v2 || req.Query["snapshot_id"][0] != snap1 {
		t.Fatalf("request %+v", req)
	}

	for _, tt := range []struct{ id, blob, md5 string }{{"../x", "b", "m"}, {id, "", "m"}, {id, "b", ""}} {
		if _, err := e.c.UpdateContent(ctx, tt.id, tt.blob, tt.md5, "", ""); e.check(err) == nil {
			t.Fatalf("UpdateContent(%q, %q, %q) accepted", tt.id, tt.blob, tt.md5)
		}
	}
}

func TestUpdateContentNeverBlindlyRetried(t *testing.T) {
	for _, after := range []bool{true, false} {
		name := map[bool]string{true: "after apply", false: "before apply"}[after]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, coredatatest.Options{}, nil)
			ctx := context.Background()
			id, err := e.upload(ctx, []byte("v1"), newFile("T"))
			if err != nil {
				t.Fatal(err)
			}
			b := e.uploadedBlob([]byte("v2"))
			e.sim.DropNext(coredatatest.RouteUpdateContent, after, 1)
			_, err = e.c.UpdateContent(ctx, id, b.Name, md5hex([]byte("v2")), "", "")
			if !errors.Is(e.check(err), ErrOutcomeUnknown) {
				t.Fatalf("err = %v", err)
			}
			f, _ := e.sim.File(id)
			if n := e.sim.Count(coredatatest.RouteUpdateContent); n != 1 || len(f.Versions) != map[bool]int{true: 2, false: 1}[after] {
				t.Fatalf("%d requests, %d versions", n, len(f.Versions))
			}
		})
	}
}

func mustFile(t *testing.T, e *env, id string) *File {
	t.Helper()
	f, err := e.c.GetFile(context.Background(), id)
	if err != nil {
		t.Fatal(e.check(err))
	}
	return f
}

// TestIdempotentCallsRetry: reads and metadata updates go through 5xx,
// 429 and dropped connections, waiting at least Retry-After.
func TestIdempotentCallsRetry(t *testing.T) {
	calls := map[string]struct {
		route coredatatest.Route
		call  func(e *env, id string) error
	}{
		"get": {coredatatest.RouteGet, func(e *env, id string) error {
			_, err := e.c.GetFile(context.Background(), id)
			return err
		}},
		"list": {coredatatest.RouteList, func(e *env, id string) error {
			fs, err := e.c.ListFiles(context.Background(), "p", "")
			if err == nil && len(fs) != 1 {
				return errors.New("wrong list")
			}
			return err
		}},
		"blob": {coredatatest.RouteBlob, func(e *env, id string) error {
			_, err := e.c.RequestBlob(context.Background(), "application/pdf", 1)
			return err
		}},
		"metadata": {coredatatest.RouteUpdateMetadata, func(e *env, id string) error {
			return e.c.UpdateMetadata(context.Background(), id, Metadata{Title: "t", Filename: "f", Parent: "p"})
		}},
	}
	httpDate := fixedNow.Add(20 * time.Second).Format(http.TimeFormat)
	faults := []struct {
		name      string
		fault     func(s *coredatatest.Server, r coredatatest.Route)
		attempts  int
		waits     []time.Duration // exact first waits (Retry-After floors); nil: any
		reason    string
		nRetryMin float64
	}{
		{"two 500s", func(s *coredatatest.Server, r coredatatest.Route) { s.FailNext(r, 500, 2) }, 3, nil, "server", 2},
		{"HTML 502", func(s *coredatatest.Server, r coredatatest.Route) {
			s.InjectFault(coredatatest.Fault{Route: r, HTML: true})
		}, 2, nil, "server", 1},
		{"429 Retry-After seconds", func(s *coredatatest.Server, r coredatatest.Route) { s.ThrottleNext(r, "10", 1) }, 2, []time.Duration{10 * time.Second}, "throttled", 1},
		{"429 Retry-After date", func(s *coredatatest.Server, r coredatatest.Route) { s.ThrottleNext(r, httpDate, 1) }, 2, []time.Duration{20 * time.Second}, "throttled", 1},
		{"503 Retry-After", func(s *coredatatest.Server, r coredatatest.Route) {
			s.InjectFault(coredatatest.Fault{Route: r, Status: 503, RetryAfter: "4", Times: 2})
		}, 3, []time.Duration{4 * time.Second, 4 * time.Second}, "server", 2},
		{"dropped connection", func(s *coredatatest.Server, r coredatatest.Route) { s.DropNext(r, false, 1) }, 2, nil, "", 0},
	}
	for name, c := range calls {
		for _, ft := range faults {
			t.Run(name+"/"+ft.name, func(t *testing.T) {
				e := newEnv(t, coredatatest.Options{}, nil)
				id := e.sim.AddFile(coredatatest.NewFile{Parent: "p", Title: "T", Filename: "f.pdf"})
				ft.fault(e.sim, c.route)
				if err := e.check(c.call(e, id)); err != nil {
					t.Fatalf("call failed: %v", err)
				}
				if got := e.sim.Count(c.route); got != ft.attempts {
					t.Fatalf("%d attempts, want %d", got, ft.attempts)
				}
				waits := e.slept()
				for i, w := range ft.waits {
					if i >= len(waits) || waits[i] != w {
						t.Fatalf("waits %v, want %v first", waits, ft.waits)
					}
				}
				for _, w := range waits {
					if ft.waits == nil && (w <= 0 || w > 80*time.Millisecond) {
						t.Fatalf("backoff wait %v outside (0, Max]", w)
					}
				}
				if ft.reason != "" {
					if v := e.metric("syncd_api_retries_total", map[string]string{"api": "coredata", "reason": ft.reason}); v != ft.nRetryMin {
						t.Fatalf("retries{reason=%s} = %v, want %v", ft.reason, v, ft.nRetryMin)
					}
				}
			})
		}
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, func(c *Config) { c.MaxRetries = 2 })
	id := e.sim.AddFile(coredatatest.NewFile{Parent: "p", Title: "T", Filename: "f.pdf"})
	e.sim.FailNext(coredatatest.RouteGet, 500, 10)
	_, err := e.c.GetFile(context.Background(), id)
	if !errors.Is(e.check(err), ErrServer) || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Fatalf("err = %v", err)
	}
	if n := e.sim.Count(coredatatest.RouteGet); n != 3 {
		t.Fatalf("%d attempts", n)
	}
	// Backoff grows: each ceiling doubles (10ms, 20ms), jitter keeps at least half.
	w := e.slept()
	if len(w) != 2 || w[0] < 5*time.Millisecond || w[0] > 10*time.Millisecond || w[1] < 10*time.Millisecond || w[1] > 20*time.Millisecond {
		t.Fatalf("waits %v", w)
	}

	e2 := newEnv(t, coredatatest.Options{}, func(c *Config) { c.MaxRetries = -1 })
	e2.sim.FailNext(coredatatest.RouteList, 500, 1)
	if _, err := e2.c.ListFiles(context.Background(), "p", ""); !errors.Is(e2.check(err), ErrServer) || e2.sim.Count(coredatatest.RouteList) != 1 {
		t.Fatalf("MaxRetries -1: %v", err)
	}
}

// TestWaitRespectsContext uses the real httpx.Sleep: a Retry-After of an
// hour must not hold a cancelled caller.
func TestWaitRespectsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t, coredatatest.Options{}, func(c *Config) {
		c.Sleep = func(ctx context.Context, d time.Duration) error {
			if d != time.Hour {
				t.Errorf("wait %v, want the Retry-After hour", d)
			}
			cancel()
			return httpx.Sleep(ctx, d)
		}
	})
	e.sim.ThrottleNext(coredatatest.RouteList, "3600", 1)
	done := make(chan error, 1)
	go func() {
		_, err := e.c.ListFiles(ctx, "p", "")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(e.check(err), context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ListFiles kept waiting after the context was cancelled")
	}
	if n := e.sim.Count(coredatatest.RouteList); n != 1 {
		t.Fatalf("%d requests", n)
	}
}

func TestRetryLogsAreRedacted(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	e.sim.FailNext(coredatatest.RouteBlob, 500, 1)
	b, err := e.c.RequestBlob(context.Background(), "application/pdf", 4)
	if err != nil {
		t.Fatal(e.check(err))
	}
	e.sim.FailNext(coredatatest.RouteStorage, 503, 1)
	if err := e.check(e.c.PutBlob(context.Background(), b, strings.NewReader("abcd"), 4, "application/pdf", "a.pdf")); err != nil {
		t.Fatal(err)
	}
	if n := len(e.logs.FilterMessageSnippet("retrying").All()); n != 2 {
		t.Fatalf("%d retry log lines, want 2", n)
	}
	// checkLogs (cleanup) asserts that none holds a secret.
}

// A Retry-After one request was given holds the client's other requests.
func TestRetryAfterPausesEveryRequest(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	id := e.sim.AddFile(coredatatest.NewFile{Parent: "p", Title: "T", Filename: "t.pdf", Content: []byte("x")})
	e.sim.ThrottleNext(coredatatest.RouteList, "9", 1)
	if _, err := e.c.ListFiles(context.Background(), "p", "T"); e.check(err) != nil {
		t.Fatal(err)
	}
	before := len(e.slept())
	// Another worker's call, while the 9 s are not over on the client clock.
	if _, err := e.c.GetFile(context.Background(), id); e.check(err) != nil {
		t.Fatal(err)
	}
	sleeps := e.slept()[before:]
	if len(sleeps) != 1 || sleeps[0] != 9*time.Second {
		t.Fatalf("sleeps %v: a request went out inside another's Retry-After", sleeps)
	}
}

// After any answer with Retry-After, no request goes out before it has
// passed: not after the request that got it gave up, and not after a
// create that is left for reconciliation.
func TestRetryAfterHoldsAfterGivingUp(t *testing.T) {
	tests := []struct {
		name  string
		fault func(s *coredatatest.Server)
		call  func(e *env) error
		wait  time.Duration
	}{
		{"429 until giving up", func(s *coredatatest.Server) { s.ThrottleNext(coredatatest.RouteList, "7", 100) },
			func(e *env) error { _, err := e.c.ListFiles(context.Background(), "p", "T"); return err }, 7 * time.Second},
		{"503 with Retry-After on a create", func(s *coredatatest.Server) {
			s.InjectFault(coredatatest.Fault{Route: coredatatest.RouteCreate, Status: 503, RetryAfter: "11", AfterApply: true})
		}, func(e *env) error {
			f := newFile("T")
			f.BlobName = e.uploadedBlob([]byte("contract")).Name
			_, err := e.c.CreateFile(context.Background(), f)
			return err
		}, 11 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, coredatatest.Options{}, nil)
			tt.fault(e.sim)
			if err := e.check(tt.call(e)); err == nil {
				t.Fatal("the call succeeded; want it to give up")
			}
			e.sim.ClearFaults()
			before := len(e.slept())
			if _, err := e.c.ListFiles(context.Background(), "p", "T"); e.check(err) != nil {
				t.Fatal(err)
			}
			s := e.slept()[before:]
			if len(s) == 0 || s[0] != tt.wait {
				t.Fatalf("the next request waited %v, want the Retry-After %v first", s, tt.wait)
			}
		})
	}
}
