package nexudustest

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// Fault is an answer injected in place of the real one.
type Fault struct {
	// Status to answer (default 500).
	Status int
	// Body to send (default a JSON {"Message": ...}).
	Body string
	// HTML answers an HTML error page, as a proxy in front of the API does:
	// the recorded testdata/api/nexudus/error_page.html, naming Status.
	HTML bool
	// MalformedJSON answers 200 with a JSON body cut short.
	MalformedJSON bool
	// Truncate sends the real answer with its full Content-Length but only
	// half its bytes, then closes the connection.
	Truncate bool
	// Reset breaks the connection mid-answer: a few bytes of a status line,
	// then close. (A connection closed before any byte would be retried
	// silently by net/http on a reused connection, so tests could not count
	// on seeing it.)
	Reset bool
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
}

type faultRule struct {
	route     Route
	match     func(route Route, r Request) bool
	remaining int // < 0: forever
	fault     Fault
}

// FailNext answers the next n requests on route with f.
func (s *Server) FailNext(route Route, n int, f Fault) {
	s.addFault(&faultRule{route: route, remaining: n, fault: f})
}

// FailWhen answers the next n requests that match with f (n < 0: every
// one). match sees the route and the logged request.
func (s *Server) FailWhen(match func(route Route, r Request) bool, n int, f Fault) {
	s.addFault(&faultRule{match: match, remaining: n, fault: f})
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) addFault(r *faultRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, r)
}

func (s *Server) takeFault(route Route, r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Route: route, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), AuthScheme: authScheme(r), At: s.clock.now()}
	for _, rule := range s.faults {
		if rule.remaining == 0 {
			continue
		}
		if rule.match != nil && !rule.match(route, req) || rule.match == nil && rule.route != route {
			continue
		}
		if rule.remaining > 0 {
			rule.remaining--
		}
		f := rule.fault
		return &f
	}
	return nil
}

func (s *Server) fail(w http.ResponseWriter, f *Fault) {
	if f.Reset {
		hijackClose(w, func(bw *bufio.Writer) { _, _ = bw.WriteString("HTTP/1.1 5") })
		return
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
		if f.MalformedJSON {
			status = http.StatusOK
		}
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	body, ctype := f.Body, "application/json; charset=utf-8"
	switch {
	case f.HTML:
		ctype = "text/html; charset=utf-8"
		if body == "" {
			body = htmlErrorPage(status)
		}
	case f.MalformedJSON:
		if body == "" {
			body = `{"Records":[{"BusinessId":1,"Name":"cut`
		}
	case body == "":
		body = fmt.Sprintf(`{"Message":%q}`, http.StatusText(status))
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// truncated renders the real answer, then sends its headers with the full
// Content-Length and only half the body before closing the connection.
func (s *Server) truncated(w http.ResponseWriter, r *http.Request, route Route, h http.HandlerFunc) {
	rec := httptest.NewRecorder()
	s.serve(rec, r, route, h)
	res := rec.Result()
	body := rec.Body.Bytes()
	hijackClose(w, func(bw *bufio.Writer) {
		fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", res.StatusCode, http.StatusText(res.StatusCode))
		res.Header.Del("Content-Length")
		res.Header.Del("Transfer-Encoding")
		_ = res.Header.Write(bw)
		fmt.Fprintf(bw, "Content-Length: %d\r\nConnection: close\r\n\r\n", len(body)+1)
		_, _ = bw.Write(body[:len(body)/2])
	})
}

// hijackClose takes the connection over, writes what write writes and
// closes it.
func hijackClose(w http.ResponseWriter, write func(*bufio.Writer)) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("nexudustest: connection cannot be hijacked")
	}
	conn, bufrw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if write != nil {
		write(bufrw.Writer)
		_ = bufrw.Flush()
	}
}

// ThrottleNext answers the next n API requests (storage excluded) with the
// throttle status and Retry-After: retryAfter rounded up to seconds
// (negative: no Retry-After header).
func (s *Server) ThrottleNext(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleNext, s.throttleAfter = n, retryAfter
}

// SetRateLimit changes the per-minute and per-hour limits (0: none).
func (s *Server) SetRateLimit(perMinute, perHour int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.RequestsPerMinute, s.opts.RequestsPerHour = perMinute, perHour
}

// Throttled counts throttle answers sent.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// EarlyRetries counts requests that arrived before the Retry-After of an
// earlier throttle answer had passed on the simulator clock.
func (s *Server) EarlyRetries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.early
}

// throttle answers the throttle status when a limit is hit and reports
// whether it did.
func (s *Server) throttle(w http.ResponseWriter) bool {
	s.mu.Lock()
	now := s.clock.now()
	if now.Before(s.notBefore) {
		s.early++
	}
	wait, hit := time.Duration(0), false
	switch {
	case s.throttleNext > 0:
		s.throttleNext--
		wait, hit = s.throttleAfter, true
	default:
		wait, hit = s.windowWait(now)
	}
	if !hit {
		s.window = append(s.window, now)
		s.mu.Unlock()
		return false
	}
	s.throttled++
	if wait >= 0 {
		s.notBefore = now.Add(wait)
	}
	status := s.opts.ThrottleStatus
	s.mu.Unlock()
	if wait >= 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	}
	writeRecorded(w, status, throttledBody)
	return true
}

// windowWait checks the sliding windows; on a hit it returns how long until
// the oldest request in the full window leaves it (at least a second).
// Callers hold s.mu.
func (s *Server) windowWait(now time.Time) (time.Duration, bool) {
	// Keep an hour of history at most.
	cut := 0
	for cut < len(s.window) && now.Sub(s.window[cut]) >= time.Hour {
		cut++
	}
	s.window = s.window[cut:]
	for _, lim := range []struct {
		n   int
		per time.Duration
	}{{s.opts.RequestsPerMinute, time.Minute}, {s.opts.RequestsPerHour, time.Hour}} {
		if lim.n <= 0 {
			continue
		}
		var inWindow []time.Time
		for i, t := range s.window {
			if now.Sub(t) < lim.per {
				inWindow = s.window[i:]
				break
			}
		}
		if len(inWindow) >= lim.n {
			oldest := inWindow[len(inWindow)-lim.n]
			return max(oldest.Add(lim.per).Sub(now), time.Second), true
		}
	}
	return 0, false
}
