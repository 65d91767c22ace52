package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"strings"
	"testing"
	"time"
)

// The durations are small; the tests assert outcomes, never how long
// anything took, so a slow machine can only make them slower. Every
// "slow but steady" case keeps its gaps several times below the stall
// bound and lasts several times the bound in total.
const (
	testStall = 100 * time.Millisecond
	testGap   = 10 * time.Millisecond
	testBytes = 40 // one per testGap: 400ms, four stall bounds
	// giveUp bounds how long a test waits for something that must
	// happen, so a regression fails instead of hanging.
	giveUp = 20 * time.Second
)

func stallClient(t *testing.T, base *http.Transport, stall time.Duration) *http.Client {
	t.Helper()
	if base == nil {
		base = &http.Transport{}
	}
	t.Cleanup(base.CloseIdleConnections)
	return &http.Client{Transport: NewStallTransport(base, stall)}
}

// trickle writes n bytes, one every gap, flushing each; it stops early
// when the client goes away.
func trickle(w http.ResponseWriter, r *http.Request, n int, gap time.Duration) {
	f := w.(http.Flusher)
	for i := 0; i < n; i++ {
		if _, err := w.Write([]byte{'x'}); err != nil {
			return
		}
		f.Flush()
		select {
		case <-time.After(gap):
		case <-r.Context().Done():
			return
		}
	}
}

// blockServer starts a server whose handler runs before, then blocks until
// the client goes away or the test ends; gone is closed when the request's
// context ends, which for a request without a body (or with its body read)
// is when the client tore the connection down.
func blockServer(t *testing.T, before func(w http.ResponseWriter, r *http.Request)) (srv *httptest.Server, gone chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	gone = make(chan struct{}, 1)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before(w, r)
		}
		select {
		case <-r.Context().Done():
			gone <- struct{}{}
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for handlers
	return srv, gone
}

// assertStall checks that err is the stall, in every form the callers
// classify a timeout by.
func assertStall(t *testing.T, err error, phase string) {
	t.Helper()
	if err == nil {
		t.Fatal("a stalled transfer succeeded")
	}
	var se *StallError
	if !errors.As(err, &se) {
		t.Fatalf("not a *StallError: %v", err)
	}
	if se.Phase != phase {
		t.Errorf("phase %q, want %q (%v)", se.Phase, phase, err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("not a net.Error timeout: %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("not a deadline exceeded: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "stalled") || !strings.Contains(msg, testStall.String()) {
		t.Errorf("message does not name the stall and its bound: %q", msg)
	}
}

func waitGone(t *testing.T, gone <-chan struct{}) {
	t.Helper()
	select {
	case <-gone:
	case <-time.After(giveUp):
		t.Fatal("the server never saw the connection torn down")
	}
}

func TestStallSlowSteadyDownloadCompletes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trickle(w, r, testBytes, testGap)
	}))
	t.Cleanup(srv.Close)
	resp, err := stallClient(t, nil, testStall).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("a slow but steady body failed: %v", err)
	}
	if len(b) != testBytes {
		t.Fatalf("got %d bytes, want %d", len(b), testBytes)
	}
}

func TestStallSilentBodyFails(t *testing.T) {
	srv, gone := blockServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		trickle(w, r, 3, testGap) // then silence
	})
	resp, err := stallClient(t, nil, testStall).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	assertStall(t, err, stallReading)
	if len(b) != 3 {
		t.Errorf("got %d bytes before the stall, want 3", len(b))
	}
	waitGone(t, gone)
}

func TestStallHeadersNeverComeFails(t *testing.T) {
	srv, gone := blockServer(t, nil)
	resp, err := stallClient(t, nil, testStall).Get(srv.URL)
	if err == nil {
		resp.Body.Close()
	}
	assertStall(t, err, stallHeaders)
	var ue interface{ Timeout() bool }
	if !errors.As(err, &ue) || !ue.Timeout() {
		t.Errorf("the client's *url.Error does not report a timeout: %v", err)
	}
	waitGone(t, gone)
}

func TestStallUploadServerStopsReadingFails(t *testing.T) {
	srv, _ := blockServer(t, nil) // never reads the body, never answers
	// Far more than the socket buffers hold, so the writes block; not a
	// ReadSeeker, so nothing can replay it.
	const n = 256 << 20
	req, err := http.NewRequest(http.MethodPut, srv.URL, io.LimitReader(zeros{}, n))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = n
	c := stallClient(t, nil, testStall)
	done := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		assertStall(t, err, stallSending)
	case <-time.After(giveUp):
		t.Fatal("a stalled upload never failed")
	}
}

// slowLink is a connection whose writes go out at a slow but steady rate:
// chunk bytes, then a pause of gap, and so on.
type slowLink struct {
	net.Conn
	chunk int
	gap   time.Duration
}

func (c *slowLink) Write(p []byte) (int, error) {
	var n int
	for len(p) > 0 {
		k := min(len(p), c.chunk)
		time.Sleep(c.gap)
		w, err := c.Conn.Write(p[:k])
		n += w
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

func TestStallUploadOverSlowSteadyLinkCompletes(t *testing.T) {
	// 1 KB per ms: one 32 KB write of the transport takes about a third
	// of the bound, the whole body five bounds.
	const n = 512 << 10
	got := make(chan int64, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := io.Copy(io.Discard, r.Body)
		got <- k
	}))
	t.Cleanup(srv.Close)
	d := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &slowLink{Conn: c, chunk: 1 << 10, gap: time.Millisecond}, nil
	}}
	req, err := http.NewRequest(http.MethodPut, srv.URL, io.LimitReader(zeros{}, n))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = n
	resp, err := stallClient(t, tr, testStall).Do(req)
	if err != nil {
		t.Fatalf("an upload over a slow but steady link failed: %v", err)
	}
	resp.Body.Close()
	if total := <-got; total != n {
		t.Fatalf("server got %d bytes, want %d", total, n)
	}
}

func TestStallSlowUploadSourceIsNotAStall(t *testing.T) {
	// Our own source taking its time is not the peer's fault.
	got := make(chan int, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- len(b)
	}))
	t.Cleanup(srv.Close)
	body := &slowReader{r: bytes.NewReader(bytes.Repeat([]byte{'x'}, testBytes)), gap: testGap}
	req, err := http.NewRequest(http.MethodPut, srv.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = testBytes
	resp, err := stallClient(t, nil, testStall).Do(req)
	if err != nil {
		t.Fatalf("a slow upload source failed the upload: %v", err)
	}
	resp.Body.Close()
	if k := <-got; k != testBytes {
		t.Fatalf("server got %d bytes, want %d", k, testBytes)
	}

	// Even when one Read of it takes longer than the bound.
	body = &slowReader{r: strings.NewReader("ab"), gap: 3 * testStall}
	req, _ = http.NewRequest(http.MethodPut, srv.URL, body)
	req.ContentLength = 2
	resp, err = stallClient(t, nil, testStall).Do(req)
	if err != nil {
		t.Fatalf("a source slower than the bound failed the upload: %v", err)
	}
	resp.Body.Close()
	if k := <-got; k != 2 {
		t.Fatalf("server got %d bytes, want 2", k)
	}
}

func TestStallSlowCallerIsNotAStall(t *testing.T) {
	// The time the caller spends between Reads does not count.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("abc"))
	}))
	t.Cleanup(srv.Close)
	resp, err := stallClient(t, nil, testStall).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	time.Sleep(3 * testStall)
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "abc" {
		t.Fatalf("got %q, %v", b, err)
	}
}

func TestStallKeepsConnectionsReusable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	c := stallClient(t, nil, testStall)
	var reused []bool
	for i := 0; i < 2; i++ {
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) },
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(reused) != 2 || !reused[1] {
		t.Fatalf("second request did not reuse the connection: %v", reused)
	}
	// Nothing fires after a request is done.
	time.Sleep(2 * testStall)
}

func TestStallCallerCancelIsNotAStall(t *testing.T) {
	srv, _ := blockServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(testGap, cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := stallClient(t, nil, time.Hour).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a cancelled request succeeded")
	}
	var se *StallError
	if errors.As(err, &se) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want the caller's cancellation, got %v", err)
	}
}

func TestStallDisabled(t *testing.T) {
	base := &http.Transport{}
	st := NewStallTransport(base, 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(st.CloseIdleConnections)
	resp, err := (&http.Client{Transport: st}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, ok := resp.Body.(*stallResponseBody); ok {
		t.Fatal("stall 0 still watched the request")
	}
}

// slowReader hands out one byte per gap.
type slowReader struct {
	r   io.Reader
	gap time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.gap)
	if len(p) > 1 {
		p = p[:1]
	}
	return s.r.Read(p)
}

// zeros is an endless source that never blocks.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
