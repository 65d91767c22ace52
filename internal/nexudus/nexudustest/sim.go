// Package nexudustest is a Nexudus API simulator for tests, the demo and
// benchmarks. It serves the endpoints syncd uses on an httptest server and
// behaves as the Nexudus documents say, traps included: minute-resolution
// range filters, partial list records, the 409 legacy throttle with
// Retry-After, expiring tokens, 302 downloads to presigned storage URLs,
// bodies without Content-Length, and optionally local wall-clock times
// written with a literal "Z".
//
// It deliberately does not import the client package, so the client's
// tests can use it and it stays an independent reading of the documents.
// Its answers follow the payloads recorded from those documents in the
// module's testdata/api/nexudus (package syncd embeds them): the static
// ones (401, throttle, wrong password, HTML error page) are sent as
// recorded, and its tests compare the shape of every other answer with
// the recorded one, as the client's contract tests decode the same files.
//
// Besides CoworkerDataFiles it serves terms acceptances
// (CoworkerLegalContentAudits, documented) and the versions of the legal
// texts they name (LegalContentAudits, which no document describes): what
// it does on the texts' endpoints, and wherever else the documents are
// silent, is a choice, each written down and marked as one in legal.go.
package nexudustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Route names a group of endpoints, for counters and faults.
type Route string

// Routes of the simulator.
const (
	RouteToken          Route = "token"           // POST /api/token
	RouteList           Route = "list"            // GET /api/spaces/coworkerdatafiles
	RouteGet            Route = "get"             // GET /api/spaces/coworkerdatafiles/{id}
	RouteCreate         Route = "create"          // POST /api/spaces/coworkerdatafiles
	RouteDownload       Route = "download"        // GET .../getFileData/{id}
	RouteSignedDownload Route = "signed-download" // GET .../getSignedFileData/{id}
	RouteStorage        Route = "storage"         // GET /storage/{key} (redirect target)
	RouteAudits         Route = "audits"          // GET /api/sys/coworkerlegalcontentaudits (acceptances)
	RouteTexts          Route = "texts"           // GET /api/sys/legalcontentaudits
	RouteTextGet        Route = "text-get"        // GET /api/sys/legalcontentaudits/{id}
)

// Defaults for Options.
const (
	DefaultUsername = "admin@example.com"
	DefaultPassword = "sim-Passw0rd!"
	DefaultTokenTTL = time.Hour
	DefaultPageSize = 25
	MaxPageSize     = 1000
)

// Options configures a Server. The zero value is a well-behaved tenant.
type Options struct {
	// Username and Password are the accepted credentials (defaults above).
	Username, Password string
	// TokenTTL is the access token lifetime on the simulator clock
	// (expires_in); default one hour.
	TokenTTL time.Duration
	// AllowBasic accepts HTTP Basic credentials besides bearer tokens.
	AllowBasic bool

	// LocalTimeWithZ writes times as the tenant's local wall clock followed
	// by a literal "Z", and reads range-filter bounds in that same local
	// time: the trap of the spec. TenantZone is the tenant's zone (default
	// a fixed UTC+01:00).
	LocalTimeWithZ bool
	TenantZone     *time.Location
	// FractionalSeconds writes times with seven fractional digits, as .NET
	// does ("2025-01-15T10:30:00.1234567Z").
	FractionalSeconds bool
	// FormatTime, when set, overrides both options above.
	FormatTime func(time.Time) string
	// IgnoreSignedFilter makes the list ignore CoworkerDataFile_Signed, so
	// clients must check Signed on each record themselves.
	IgnoreSignedFilter bool
	// AuditTypeAsName writes LegalContentType, of acceptances and texts,
	// as its enum name instead of its number.
	AuditTypeAsName bool

	// RedirectDownloads answers both download routes with a 302 to a
	// presigned storage URL. SeparateStorageHost serves that URL from a
	// second server (another origin).
	RedirectDownloads   bool
	SeparateStorageHost bool
	// ChunkedDownloads sends file bodies without Content-Length.
	ChunkedDownloads bool
	// Latency delays every answer (real time).
	Latency time.Duration

	// RequestsPerMinute and RequestsPerHour throttle on the simulator clock
	// (0: no limit), answering ThrottleStatus (409, Nexudus' legacy answer,
	// by default; or 429) with Retry-After in seconds.
	RequestsPerMinute, RequestsPerHour int
	ThrottleStatus                     int

	// Now is the base clock (default time.Now); see SetNow and Advance.
	Now func() time.Time
	// RequestLogLimit keeps only the newest n entries of the request log
	// (Requests, ListQueries); 0 keeps them all. Counters are exact
	// either way. Benchmarks sending a million requests set it.
	RequestLogLimit int
}

// Server is a running simulator.
type Server struct {
	// URL is the base URL to configure the client with.
	URL string

	srv     *httptest.Server
	storage *httptest.Server // nil unless SeparateStorageHost
	secret  []byte           // signs storage URLs

	mu     sync.Mutex
	opts   Options
	clock  clock
	nextID int64
	files  map[int64]*FileSpec
	// byUpdated is files in list order (UpdatedOn, then Id), built on
	// demand and dropped by every change, so that listing a large tenant
	// by UpdatedOn does not sort it on every page.
	byUpdated []*FileSpec
	// signedAfter[i] counts the signed files in byUpdated[i:].
	signedAfter []int
	acceptances map[int64]*AcceptanceSpec
	texts       map[int64]*TextSpec
	denied      map[string]bool // roles the API user lacks (DenyRole)
	blobs       map[string]blob
	tokens      map[string]time.Time // access token -> expiry (sim clock)
	renew       map[string]bool      // live refresh tokens
	issued      []string             // every token ever issued, for Secrets
	grants      map[string]int
	counts      map[Route]int
	log         []Request
	faults      []*faultRule
	window      []time.Time // accepted requests, for rate throttling
	// throttleNext and throttleAfter implement ThrottleNext.
	throttleNext  int
	throttleAfter time.Duration
	notBefore     time.Time // Retry-After given, on the sim clock
	throttled     int
	early         int
	storageAuth   int
}

// Request is one request the simulator received.
type Request struct {
	Route  Route
	Method string
	Path   string
	Query  url.Values
	// AuthScheme is "Bearer", "Basic" or "" (never the credentials).
	AuthScheme string
	At         time.Time // simulator clock
}

// New starts a simulator. Close it when done.
func New(opts Options) *Server {
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.TenantZone == nil {
		opts.TenantZone = time.FixedZone("UTC+01:00", 3600)
	}
	if opts.ThrottleStatus == 0 {
		opts.ThrottleStatus = http.StatusConflict
	}
	s := &Server{
		opts:        opts,
		clock:       clock{base: opts.Now},
		nextID:      1000,
		files:       map[int64]*FileSpec{},
		acceptances: map[int64]*AcceptanceSpec{},
		texts:       map[int64]*TextSpec{},
		denied:      map[string]bool{},
		blobs:       map[string]blob{},
		tokens:      map[string]time.Time{},
		renew:       map[string]bool{},
		grants:      map[string]int{},
		counts:      map[Route]int{},
		secret:      []byte(randomHex(16)),
	}
	mux := http.NewServeMux()
	mux.Handle("POST /api/token", s.wrap(RouteToken, s.handleToken))
	mux.Handle("GET /api/spaces/coworkerdatafiles", s.wrap(RouteList, s.handleList))
	mux.Handle("POST /api/spaces/coworkerdatafiles", s.wrap(RouteCreate, s.handleCreate))
	mux.Handle("GET /api/spaces/coworkerdatafiles/{id}", s.wrap(RouteGet, s.handleGet))
	mux.Handle("GET /api/spaces/coworkerdatafiles/getFileData/{id}", s.wrap(RouteDownload, s.handleDownload(false)))
	mux.Handle("GET /api/spaces/coworkerdatafiles/getSignedFileData/{id}", s.wrap(RouteSignedDownload, s.handleDownload(true)))
	mux.Handle("GET /api/sys/coworkerlegalcontentaudits", s.wrap(RouteAudits, s.handleAcceptances))
	mux.Handle("GET /api/sys/legalcontentaudits", s.wrap(RouteTexts, s.handleTexts))
	mux.Handle("GET /api/sys/legalcontentaudits/{id}", s.wrap(RouteTextGet, s.handleText))
	storage := s.wrap(RouteStorage, s.handleStorage)
	mux.Handle("GET /storage/{key}", storage)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	if opts.SeparateStorageHost {
		smux := http.NewServeMux()
		smux.Handle("GET /storage/{key}", storage)
		s.storage = httptest.NewServer(smux)
	}
	return s
}

// Close shuts the simulator down.
func (s *Server) Close() {
	s.srv.Close()
	if s.storage != nil {
		s.storage.Close()
	}
}

// Client returns an HTTP client for the simulator, with a timeout.
func (s *Server) Client() *http.Client {
	c := *s.srv.Client() // a copy: callers may set CheckRedirect
	c.Timeout = 30 * time.Second
	return &c
}

// Username and Password return the accepted credentials.
func (s *Server) Username() string { return s.opts.Username }

// Password returns the accepted password.
func (s *Server) Password() string { return s.opts.Password }

// wrap runs what every route shares: counting and logging, latency,
// throttling, faults and authentication, in that order.
func (s *Server) wrap(route Route, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		now := s.clock.now()
		s.counts[route]++
		if lim := s.opts.RequestLogLimit; lim > 0 && len(s.log) >= lim {
			s.log = append(s.log[:0], s.log[len(s.log)-lim+1:]...)
		}
		s.log = append(s.log, Request{
			Route: route, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
			AuthScheme: authScheme(r), At: now,
		})
		latency := s.opts.Latency
		s.mu.Unlock()

		if latency > 0 && !sleepCtx(r.Context(), latency) {
			return
		}
		if route != RouteStorage && s.throttle(w) {
			return
		}
		if f := s.takeFault(route, r); f != nil {
			if f.Truncate {
				s.truncated(w, r, route, h)
				return
			}
			s.fail(w, f)
			return
		}
		s.serve(w, r, route, h)
	})
}

// serve authenticates (except the token and storage routes), checks the
// route's role (DenyRole) and runs h.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, route Route, h http.HandlerFunc) {
	if route != RouteToken && route != RouteStorage && !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeRecorded(w, http.StatusUnauthorized, unauthorizedBody)
		return
	}
	if s.forbidden(w, route) {
		return
	}
	h(w, r)
}

// Count returns how many requests route received (all answers included).
func (s *Server) Count(route Route) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// Counts returns the request counters of every route.
func (s *Server) Counts() map[Route]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Route]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Requests returns the log of received requests, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ListQueries returns the query parameters of every list request received.
func (s *Server) ListQueries() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []url.Values
	for _, r := range s.log {
		if r.Route == RouteList {
			out = append(out, r.Query)
		}
	}
	return out
}

// ResetCounts clears the counters, the request log, grant counts and the
// throttling statistics.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[Route]int{}
	s.log = nil
	s.grants = map[string]int{}
	s.throttled, s.early, s.storageAuth = 0, 0, 0
}

// SetLatency changes the per-request latency.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Latency = d
}

// SetDownloads changes how downloads are answered: redirect to storage,
// and chunked (no Content-Length).
func (s *Server) SetDownloads(redirect, chunked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.RedirectDownloads, s.opts.ChunkedDownloads = redirect, chunked
}

// SetIgnoreSignedFilter toggles Options.IgnoreSignedFilter.
func (s *Server) SetIgnoreSignedFilter(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.IgnoreSignedFilter = ignore
}

func authScheme(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if i := strings.IndexByte(a, ' '); i > 0 {
		return a[:i]
	}
	return a
}

// sleepCtx waits d; false when the request went away first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
