package httpx

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// StallError is a transfer that made no progress for Stall: no response
// headers, no request body bytes taken by the connection, or no response
// body bytes received, for that long.
//
// It is a timeout in every sense the callers test for: a net.Error whose
// Timeout is true, and errors.Is(err, context.DeadlineExceeded) (and
// os.ErrDeadlineExceeded) hold, so a stalled peer is classified exactly as
// a timed-out one was: the API is unavailable, the file is not to blame.
type StallError struct {
	// Phase is what was waited for: "response headers", "the request
	// body to be sent" or "response body bytes".
	Phase string
	Stall time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("transfer stalled: no progress for %s waiting for %s", e.Stall, e.Phase)
}

// Timeout reports true: a stall is a timeout (net.Error).
func (e *StallError) Timeout() bool { return true }

// Temporary reports true, for net.Error; a later try may well go through.
func (e *StallError) Temporary() bool { return true }

// Is makes a stall match context.DeadlineExceeded and os.ErrDeadlineExceeded,
// the errors a whole-request timeout or a connection deadline give.
func (e *StallError) Is(target error) bool {
	return target == context.DeadlineExceeded || target == os.ErrDeadlineExceeded
}

// Stall phases, the values of StallError.Phase.
const (
	stallHeaders = "response headers"
	stallSending = "the request body to be sent"
	stallReading = "response body bytes"
)

// StallTransport times a request out when its transfer stalls, never
// because it is slow: a request fails with a *StallError once Stall passes
// with no progress, and a transfer that keeps moving, however slowly and
// however long in total, never times out.
//
// Progress is measured on the peer's side of each phase:
//   - until the response headers arrive (connecting, sending the request,
//     the server's think time), every byte of request body the connection
//     takes is progress; the time spent reading our own request body
//     source does not count against the peer;
//   - while the caller is blocked in a Read of the response body, every
//     byte received is progress; the time the caller spends between Reads
//     (writing to disk, say) does not count against the peer.
//
// Upload progress is seen per chunk the transport takes from the body (up
// to 32 KB), and the bytes still in the socket buffers once the last chunk
// is taken drain within the wait for the headers; both are far below any
// sensible bound at any speed that deserves the name.
//
// When the stall bound passes, the request's context is cancelled, which
// tears the connection (or HTTP/2 stream) down, and the blocked RoundTrip
// or Read returns the *StallError. The base transport must honour the
// request context, as every net/http transport does.
type StallTransport struct {
	// Base sends the requests; nil is http.DefaultTransport.
	Base http.RoundTripper
	// Stall is the longest wait without progress; 0 or less disables the
	// watchdog (requests go to Base untouched).
	Stall time.Duration
}

// NewStallTransport wraps base (nil: http.DefaultTransport) so that a
// request fails once no progress is made for stall.
func NewStallTransport(base http.RoundTripper, stall time.Duration) *StallTransport {
	return &StallTransport{Base: base, Stall: stall}
}

func (t *StallTransport) base() http.RoundTripper {
	if t.Base == nil {
		return http.DefaultTransport
	}
	return t.Base
}

// RoundTrip sends req and watches it until its response body is closed or
// read to the end.
func (t *StallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Stall <= 0 {
		return t.base().RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	hasBody := req.Body != nil && req.Body != http.NoBody
	phase := stallHeaders
	if hasBody {
		phase = stallSending
	}
	w := newWatchdog(t.Stall, phase, cancel)
	r := req.WithContext(ctx) // a shallow copy: req itself is not modified
	if hasBody {
		r.Body = &stallRequestBody{rc: req.Body, w: w}
		if getBody := req.GetBody; getBody != nil {
			// The transport rewinds a body through GetBody to resend a
			// request on a fresh connection; that copy is watched alike.
			r.GetBody = func() (io.ReadCloser, error) {
				rc, err := getBody()
				if err != nil || rc == nil || rc == http.NoBody {
					return rc, err
				}
				return &stallRequestBody{rc: rc, w: w}, nil
			}
		}
	}
	resp, err := t.base().RoundTrip(r)
	w.gotHeaders()
	if err != nil {
		if serr := w.stalled(); serr != nil {
			err = serr
		}
		w.finish()
		return nil, err
	}
	if serr := w.stalled(); serr != nil {
		// The stall fired just as the headers came: the connection is
		// being torn down, the body is lost.
		resp.Body.Close()
		w.finish()
		return nil, serr
	}
	resp.Body = &stallResponseBody{rc: resp.Body, w: w}
	return resp, nil
}

// CloseIdleConnections closes the idle connections of Base, so that
// http.Client.CloseIdleConnections keeps working through the wrapper.
func (t *StallTransport) CloseIdleConnections() {
	if ci, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// watchdog is the stall timer of one request. The clock runs only while
// the peer owes us progress (see StallTransport) and restarts on every
// sign of it; the timer is re-armed lazily, from its own callback, so that
// progress costs a clock read, not a timer reset.
type watchdog struct {
	stall  time.Duration
	cancel context.CancelCauseFunc

	mu        sync.Mutex
	timer     *time.Timer
	armed     bool      // the timer is scheduled
	last      time.Time // last progress, or the start of the current wait
	headers   bool      // RoundTrip has not returned yet
	inSource  int       // Reads of our request body source in flight
	reading   int       // the caller's response body Reads in flight
	lastPhase string    // what a stall before the headers is waiting for
	err       *StallError
	done      bool
}

func newWatchdog(stall time.Duration, phase string, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{stall: stall, cancel: cancel, headers: true, lastPhase: phase, last: time.Now(), armed: true}
	w.mu.Lock()
	w.timer = time.AfterFunc(stall, w.fire)
	w.mu.Unlock()
	return w
}

// waiting reports whether the peer owes progress now, and on what.
// Called with mu held.
func (w *watchdog) waiting() (string, bool) {
	switch {
	case w.reading > 0:
		return stallReading, true
	case w.headers && w.inSource == 0:
		return w.lastPhase, true
	}
	return "", false
}

// progress restarts the clock and makes sure the timer runs when the peer
// owes progress. Called with mu held.
func (w *watchdog) progress() {
	w.last = time.Now()
	if _, ok := w.waiting(); ok && !w.armed && !w.done {
		w.timer.Reset(w.stall)
		w.armed = true
	}
}

func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	phase, ok := w.waiting()
	if w.done || w.err != nil || !ok {
		return
	}
	if left := w.stall - time.Since(w.last); left > 0 {
		w.timer.Reset(left)
		w.armed = true
		return
	}
	w.err = &StallError{Phase: phase, Stall: w.stall}
	w.cancel(w.err)
}

// enterSource and leaveSource bracket a Read of the request body source:
// the connection asking for more bytes is progress, and the time our own
// source takes to answer is not the peer's.
func (w *watchdog) enterSource() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inSource++
	w.lastPhase = stallSending
	w.progress()
}

func (w *watchdog) leaveSource(end bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inSource--
	if end {
		// All of it is with the connection; what is left to wait for
		// is the answer.
		w.lastPhase = stallHeaders
	}
	w.progress()
}

// sourceClosed: the transport is done with the request body.
func (w *watchdog) sourceClosed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastPhase = stallHeaders
	w.progress()
}

func (w *watchdog) gotHeaders() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.headers = false
	w.progress()
}

// enterRead and leaveRead bracket the caller's Reads of the response body;
// the clock runs only inside them.
func (w *watchdog) enterRead() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reading++
	w.progress()
}

func (w *watchdog) leaveRead() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reading--
	w.progress()
}

func (w *watchdog) stalled() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		return nil // not a nil *StallError in an error
	}
	return w.err
}

// finish stops the watchdog and releases the request's context. It is
// called once the response body is read to its end or closed (as
// http.Client does with its own timeout), when the connection is already
// back in the pool or gone.
func (w *watchdog) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.done = true
	w.timer.Stop()
	w.armed = false
	w.cancel(context.Canceled)
}

// stallRequestBody is the request body as the transport reads it.
type stallRequestBody struct {
	rc io.ReadCloser
	w  *watchdog
}

func (b *stallRequestBody) Read(p []byte) (int, error) {
	b.w.enterSource()
	n, err := b.rc.Read(p)
	b.w.leaveSource(err != nil)
	return n, err
}

func (b *stallRequestBody) Close() error {
	err := b.rc.Close()
	b.w.sourceClosed()
	return err
}

// stallResponseBody is the response body as the caller reads it.
type stallResponseBody struct {
	rc io.ReadCloser
	w  *watchdog
}

func (b *stallResponseBody) Read(p []byte) (int, error) {
	b.w.enterRead()
	n, err := b.rc.Read(p)
	b.w.leaveRead()
	if err != nil {
		if serr := b.w.stalled(); serr != nil {
			return n, serr
		}
		if err == io.EOF {
			b.w.finish()
		}
	}
	return n, err
}

func (b *stallResponseBody) Close() error {
	err := b.rc.Close()
	b.w.finish()
	return err
}
