package coredatatest

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coworkdocs/syncd"
)

// errorPage is the HTML error page a proxy in front of CoreData sends, as
// recorded in testdata/api/coredata/error_page.html (see its README.md);
// errorPageStatus is how it names its status, replaced for other ones.
var errorPage = string(syncd.MustAPIPayload("coredata/error_page.html"))

const errorPageStatus = "502 Bad Gateway"

// htmlErrorPage is the recorded error page for status.
func htmlErrorPage(status int) string {
	return strings.ReplaceAll(errorPage, errorPageStatus, fmt.Sprintf("%d %s", status, http.StatusText(status)))
}

// Drop says whether and when a fault breaks the connection instead of
// answering.
type Drop int

const (
	// NoDrop answers with the fault's status.
	NoDrop Drop = iota
	// DropBeforeApply closes the connection without touching any state:
	// the request was sent but never processed.
	DropBeforeApply
	// DropAfterApply processes the request (a create creates the file)
	// and then closes the connection without an answer: the trap that a
	// blind retry turns into a duplicate.
	DropAfterApply
)

// Fault is one injected failure. The first queued fault whose Route
// matches a request is used, Times times.
type Fault struct {
	Route Route // RouteAny matches every route
	// Status is the code to answer without processing the request
	// (500, 502, 503, 429...). With HTML and no Status: 502.
	Status int
	// RetryAfter is sent as the Retry-After header with Status.
	RetryAfter string
	// HTML makes the body an HTML error page, as a proxy in front of the
	// API would send (the recorded testdata/api/coredata/error_page.html,
	// naming Status). With Status 200 it is a success that is not JSON.
	HTML bool
	Drop Drop
	// AfterApply processes the request first and then answers Status
	// instead of the real answer: a proxy that gave up waiting on CoreData
	// (a 503 with Retry-After, a 504) after the file was created.
	AfterApply bool
	// Times is how many matching requests the fault hits; 0 means once.
	Times int
}

// InjectFault queues f.
func (s *Server) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.HTML && f.Status == 0 {
		f.Status = http.StatusBadGateway
	}
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
}

// FailNext answers the next n requests to route with status.
func (s *Server) FailNext(route Route, status, n int) {
	s.InjectFault(Fault{Route: route, Status: status, Times: n})
}

// ThrottleNext answers the next n requests to route with 429 and the given
// Retry-After value ("" for none).
func (s *Server) ThrottleNext(route Route, retryAfter string, n int) {
	s.InjectFault(Fault{Route: route, Status: http.StatusTooManyRequests, RetryAfter: retryAfter, Times: n})
}

// DropNext breaks the connection of the next n requests to route, after
// processing them when afterApply is set.
func (s *Server) DropNext(route Route, afterApply bool, n int) {
	d := DropBeforeApply
	if afterApply {
		d = DropAfterApply
	}
	s.InjectFault(Fault{Route: route, Drop: d, Times: n})
}

// ExpireNextURLs makes the storage route reject the next n uploads as if
// their presigned URL had expired.
func (s *Server) ExpireNextURLs(n int) {
	s.mu.Lock()
	s.expireN += n
	s.mu.Unlock()
}

// SetAPILatency delays every answer of the API routes by d from now on.
func (s *Server) SetAPILatency(d time.Duration) {
	s.mu.Lock()
	s.apiLat = d
	s.mu.Unlock()
}

// SetStorageLatency delays every answer of the storage route by d.
func (s *Server) SetStorageLatency(d time.Duration) {
	s.mu.Lock()
	s.storLat = d
	s.mu.Unlock()
}

// ClearFaults drops every queued fault and pending URL expiry.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.expireN = 0
	s.mu.Unlock()
}

// PendingFaults is the number of queued faults not used up yet.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

func (s *Server) takeFaultLocked(route Route) (Fault, bool) {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Route != RouteAny && f.Route != route {
			continue
		}
		out := *f
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return out, true
	}
	return Fault{}, false
}

// apply answers a request according to a fault that acts before
// processing.
func (f Fault) apply(w http.ResponseWriter) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.HTML {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(htmlErrorPage(f.Status)))
		return
	}
	writeJSONError(w, f.Status, "injected fault: "+http.StatusText(f.Status))
}

// dropConnection closes the client connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// Without a hijackable connection, aborting the handler makes net/http
	// reset the stream without an answer.
	panic(http.ErrAbortHandler)
}
