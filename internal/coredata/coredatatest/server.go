package coredatatest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Route names one endpoint of the API, for request counters and faults.
type Route string

// The routes the simulator serves.
const (
	RouteAny            Route = "" // in a Fault: every route
	RouteBlob           Route = "blob"
	RouteStorage        Route = "storage"
	RouteCreate         Route = "create"
	RouteGet            Route = "get"
	RouteList           Route = "list"
	RouteUpdateContent  Route = "update-content"
	RouteUpdateMetadata Route = "update-metadata"
	RouteDelete         Route = "delete"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	APIUser string // default "sim-user"
	APIKey  string // default "sim-key-0123456789"
	// URLTTL is how long a presigned upload URL stays valid on the sim
	// clock; default 15 minutes.
	URLTTL time.Duration
	// KeepContent keeps uploaded bytes (FileInfo.Content); off by default so
	// that benchmarks pushing large files hold only md5 and size.
	KeepContent bool
	// PageLimit is the list page size when the request gives no limit;
	// default 20, as in the document.
	PageLimit int
	// AbsoluteLocation answers a create with an absolute Location URL
	// instead of the documented path.
	AbsoluteLocation bool
	// TagObjects renders tags as [{"name": ..., "title": ...}] instead of
	// strings, as some CoreData versions do.
	TagObjects bool
	// Now starts the sim clock at a fixed time; zero follows the wall clock
	// until SetNow or Advance is called.
	Now time.Time
	// APILatency and StorageLatency delay every answer of the API routes
	// and of the storage route (wall time, not the sim clock).
	APILatency     time.Duration
	StorageLatency time.Duration
	// StoreTitle is how the server stores a title it is sent on create
	// (Unicode normalisation, collapsed white space, a length cap, as
	// tenants do); nil stores it as sent.
	StoreTitle func(string) string
}

// Server is the simulator. It is an http.Handler; New also starts it on a
// loopback listener.
type Server struct {
	opts      Options
	ts        *httptest.Server
	signKey   []byte
	accessKey string

	mu       sync.Mutex
	clock    time.Time // zero: wall clock
	blobs    map[string]*blob
	files    map[string]*file
	order    []string // file ids in creation order
	counts   map[Route]int
	requests []Request
	faults   []Fault
	// refused holds the parents an admin took away (person.go).
	refused map[string]Refusal
	expireN int
	secrets []string
	apiLat  time.Duration
	storLat time.Duration
}

// Request is what the simulator recorded about one request it routed.
type Request struct {
	Route         Route
	Method        string
	Path          string
	Query         map[string][]string
	Header        http.Header
	ContentLength int64
	// Form holds the multipart fields of a create (the content part, if
	// any, is not kept).
	Form map[string]string
	// Status is the answer's code; 0 when the connection was dropped.
	Status int
}

// maxRequestLog bounds the request log so that a long demo or benchmark
// does not grow it without end; the newest entries are kept.
const maxRequestLog = 5000

// New starts a simulator on a loopback address. Close it when done.
func New(opts Options) *Server {
	s := NewHandler(opts)
	s.ts = httptest.NewServer(s)
	return s
}

// NewHandler builds a simulator without starting a listener, for callers
// that serve it themselves.
func NewHandler(opts Options) *Server {
	if opts.APIUser == "" {
		opts.APIUser = "sim-user"
	}
	if opts.APIKey == "" {
		opts.APIKey = "sim-key-0123456789"
	}
	if opts.URLTTL <= 0 {
		opts.URLTTL = 15 * time.Minute
	}
	if opts.PageLimit <= 0 {
		opts.PageLimit = 20
	}
	s := &Server{
		opts:      opts,
		signKey:   randomBytes(32),
		accessKey: "s3f:" + randomHex(8),
		clock:     opts.Now,
		blobs:     map[string]*blob{},
		files:     map[string]*file{},
		counts:    map[Route]int{},
		apiLat:    opts.APILatency,
		storLat:   opts.StorageLatency,
	}
	s.secrets = []string{opts.APIKey, s.accessKey}
	return s
}

// URL is the base URL of a started simulator ("" from NewHandler).
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Client is an *http.Client for the started simulator.
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return &http.Client{Timeout: time.Minute}
	}
	return s.ts.Client()
}

// Close stops the listener of a started simulator.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
}

// APIUser and APIKey are the credentials the simulator accepts.
func (s *Server) APIUser() string { return s.opts.APIUser }

// APIKey is the key part of the accepted credentials.
func (s *Server) APIKey() string { return s.opts.APIKey }

// Secrets lists every value that must never show in a client's errors or
// logs: the api key, the storage access key id and every signature handed
// out so far.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.secrets...)
}

// Now is the sim clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	if s.clock.IsZero() {
		return time.Now()
	}
	return s.clock
}

// SetNow freezes the sim clock at t.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	s.clock = t
	s.mu.Unlock()
}

// Advance moves the sim clock forward (freezing it if it followed the wall
// clock).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.clock = s.nowLocked().Add(d)
	s.mu.Unlock()
}

// Count is the number of requests routed to r so far (faulted ones
// included).
func (s *Server) Count(r Route) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[r]
}

// Counts is a copy of all request counters.
func (s *Server) Counts() map[Route]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Route]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ResetCounts zeroes the counters and empties the request log.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	s.counts = map[Route]int{}
	s.requests = nil
	s.mu.Unlock()
}

// Requests is a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ServeHTTP routes a request: trailing-slash redirect, route match,
// counters, faults, authentication, the handler, then the latency.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") && !strings.HasSuffix(p, "/") {
		// CoreData (Django APPEND_SLASH) redirects instead of serving.
		target := p + "/"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	route, h := s.route(r)
	if h == nil {
		writeJSONError(w, http.StatusNotFound, "not found")
		return
	}
	rec := Request{
		Route: route, Method: r.Method, Path: p, Query: r.URL.Query(),
		Header: r.Header.Clone(), ContentLength: r.ContentLength,
	}
	s.mu.Lock()
	s.counts[route]++
	lat := s.apiLat
	if route == RouteStorage {
		lat = s.storLat
	}
	fault, hasFault := s.takeFaultLocked(route)
	s.mu.Unlock()

	if hasFault && fault.Drop == DropBeforeApply {
		dropConnection(w)
		s.log(rec, 0)
		return
	}
	// Answers are recorded first and sent after the latency: a slow server
	// has usually applied the request by the time the client gives up.
	out := &recorder{header: http.Header{}}
	switch {
	case hasFault && fault.Drop == NoDrop && !fault.AfterApply:
		fault.apply(out)
	case route != RouteStorage && !s.authorized(r):
		out.Header().Set("WWW-Authenticate", `apikey realm="coredata"`)
		writeJSONError(out, http.StatusUnauthorized, "Authentication credentials were not provided or are invalid.")
	default:
		h(out, r, &rec)
	}
	if hasFault && fault.Drop == NoDrop && fault.AfterApply {
		out = &recorder{header: http.Header{}}
		fault.apply(out)
	}
	if hasFault && fault.Drop == DropAfterApply {
		dropConnection(w)
		s.log(rec, 0)
		return
	}
	if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			s.log(rec, 0)
			return
		}
	}
	out.flush(w)
	s.log(rec, out.code)
}

type handler func(w http.ResponseWriter, r *http.Request, rec *Request)

func (s *Server) route(r *http.Request) (Route, handler) {
	p := r.URL.Path
	switch {
	case p == "/api/v3/blob/presigned-upload-url/":
		return RouteBlob, s.methods(r, http.MethodPost, s.handleBlob)
	case strings.HasPrefix(p, "/laika/") && len(p) > len("/laika/") && !strings.Contains(p[len("/laika/"):], "/"):
		return RouteStorage, s.methods(r, http.MethodPut, s.handleStorage)
	case p == "/api/v2/files/":
		if r.Method == http.MethodPost {
			return RouteCreate, s.handleCreate
		}
		return RouteList, s.methods(r, http.MethodGet, s.handleList)
	}
	rest, ok := strings.CutPrefix(p, "/api/v2/files/")
	if !ok {
		return "", nil
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		switch r.Method {
		case http.MethodPut:
			return RouteUpdateMetadata, s.handleUpdateMetadata
		case http.MethodDelete:
			return RouteDelete, s.handleDelete
		}
		return RouteGet, s.methods(r, http.MethodGet, s.handleGet)
	case len(parts) == 2 && parts[0] != "" && parts[1] == "content":
		return RouteUpdateContent, s.methods(r, http.MethodPut, s.handleUpdateContent)
	}
	return "", nil
}

// methods answers 405 unless the request uses method.
func (s *Server) methods(r *http.Request, method string, h handler) handler {
	if r.Method == method {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, _ *Request) {
		w.Header().Set("Allow", method)
		writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (s *Server) authorized(r *http.Request) bool {
	return r.Header.Get("Authorization") == "apikey "+s.opts.APIUser+":"+s.opts.APIKey
}

func (s *Server) log(rec Request, status int) {
	rec.Status = status
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) >= maxRequestLog {
		s.requests = append(s.requests[:0], s.requests[len(s.requests)-maxRequestLog+1:]...)
	}
	s.requests = append(s.requests, rec)
}

// fileID extracts the <id> of /api/v2/files/<id>/...
func fileID(p string) string {
	rest := strings.TrimPrefix(p, "/api/v2/files/")
	id, _, _ := strings.Cut(rest, "/")
	return id
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// newUUID returns a random (version 4) UUID in the canonical form CoreData
// uses for ids.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// recorder holds an answer until the simulated latency has passed (or
// throws it away for a DropAfterApply fault).
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *recorder) flush(dst http.ResponseWriter) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	for k, v := range w.header {
		dst.Header()[k] = v
	}
	dst.WriteHeader(w.code)
	_, _ = dst.Write(w.body.Bytes())
}
