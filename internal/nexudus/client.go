package nexudus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// Defaults for the zero values of Config.
const (
	DefaultPageSize          = 100
	DefaultRequestsPerMinute = 100
	DefaultRequestsPerHour   = 4500
	DefaultFilePath          = "/api/spaces/coworkerdatafiles/getFileData/{id}"
	DefaultSignedFilePath    = "/api/spaces/coworkerdatafiles/getSignedFileData/{id}"
	DefaultMaxFileBytes      = 10 << 20
	DefaultMaxRetries        = 5
)

// Auth modes.
const (
	AuthOAuth2 = "oauth2"
	AuthBasic  = "basic"
)

// Config configures a Client. Zero values take the defaults above.
type Config struct {
	// BaseURL is e.g. https://spaces.nexudus.com. Plain http is accepted
	// only for loopback hosts (simulators, tunnels).
	BaseURL string
	// Auth is "oauth2" (default when empty) or "basic".
	Auth               string
	Username, Password string
	PageSize           int
	// RequestsPerMinute and RequestsPerHour are client-side budgets that
	// every request waits on, token requests included. Negative: no limit
	// (tests and benchmarks against the simulator).
	RequestsPerMinute int
	RequestsPerHour   int
	// FilePath and SignedFilePath are download paths with an {id} placeholder.
	FilePath, SignedFilePath string
	MaxFileBytes             int64
	// MaxRetries bounds retries of throttled, failed (5xx) and network-broken
	// requests; negative disables retries.
	MaxRetries int
	Backoff    httpx.Backoff
	// Clock, when set, is the time the rate limiters, token expiry and
	// Retry-After waits run on instead of the real clock. Benchmarks pass
	// a simulated one to run hours of rate-limited traffic in seconds;
	// the daemon leaves it nil.
	Clock Clock
}

// Clock is a source of time that can wait.
type Clock interface {
	Now() time.Time
	// SleepUntil returns once Now() has reached t, or ctx's error if ctx
	// is done first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// Client talks to one Nexudus tenant. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    *url.URL
	hc      *http.Client // the injected client, wrapped: limits, metrics, redirect policy
	metrics *httpx.Metrics
	log     *zap.Logger
	oauth   oauth2.Config

	perMinute, perHour *rate.Limiter

	// tokenSem serializes token fetches so that concurrent callers that all
	// see an expired token cause one login, and can still give up on ctx.
	tokenSem chan struct{}
	mu       sync.Mutex // guards tok, tokIssued, held and pauseUntil
	// reserveMu keeps limiter reservations in clock order.
	reserveMu sync.Mutex
	tok       *oauth2.Token
	// tokIssued is when tok was obtained, on the client's clock.
	tokIssued time.Time
	// pauseUntil is the latest Retry-After any answer gave: throttling is
	// per client, so every worker waits it out, not only the one told.
	pauseUntil time.Time
	held       []string // recent tokens, scrubbed from error messages

	// now and sleep are the clock; tests replace them to check waits
	// exactly. clock is Config.Clock: with it, waits are given as the
	// instant to wake at, so that concurrent waiters on a simulated clock
	// do not add up their delays.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	clock Clock
}

// New checks cfg and returns a Client that sends its requests through hc
// (nil: a client with a 5-minute overall timeout). m and log may be nil.
func New(cfg Config, hc *http.Client, m *httpx.Metrics, log *zap.Logger) (*Client, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	base, err := httpx.ParseBaseURL("nexudus", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		base:      base,
		metrics:   m,
		log:       log.With(zap.String("api", "nexudus")),
		perMinute: newLimiter(cfg.RequestsPerMinute, time.Minute, 20),
		perHour:   newLimiter(cfg.RequestsPerHour, time.Hour, 10),
		tokenSem:  make(chan struct{}, 1),
		now:       time.Now,
		sleep:     httpx.Sleep,
	}
	if cfg.Clock != nil {
		c.clock = cfg.Clock
		c.now = cfg.Clock.Now
		c.sleep = func(ctx context.Context, d time.Duration) error {
			return cfg.Clock.SleepUntil(ctx, cfg.Clock.Now().Add(d))
		}
	}
	c.oauth = oauth2.Config{Endpoint: oauth2.Endpoint{
		TokenURL:  c.endpoint("/api/token", nil),
		AuthStyle: oauth2.AuthStyleInParams,
	}}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	userCheck := hc.CheckRedirect
	c.hc = &http.Client{
		Transport: &transport{c: c, base: rt},
		Jar:       hc.Jar,
		Timeout:   hc.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return checkRedirect(req, via, userCheck)
		},
	}
	return c, nil
}

func (cfg *Config) setDefaults() error {
	switch strings.ToLower(cfg.Auth) {
	case "", AuthOAuth2:
		cfg.Auth = AuthOAuth2
	case AuthBasic:
		cfg.Auth = AuthBasic
	default:
		return fmt.Errorf("nexudus: auth: %q is neither %q nor %q", cfg.Auth, AuthOAuth2, AuthBasic)
	}
	if cfg.Username == "" {
		return errors.New("nexudus: username is required")
	}
	if cfg.Password == "" {
		return errors.New("nexudus: password is required")
	}
	if cfg.PageSize < 0 {
		return fmt.Errorf("nexudus: page_size: %d is negative", cfg.PageSize)
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.RequestsPerMinute == 0 {
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if cfg.RequestsPerHour == 0 {
		cfg.RequestsPerHour = DefaultRequestsPerHour
	}
	if cfg.FilePath == "" {
		cfg.FilePath = DefaultFilePath
	}
	if cfg.SignedFilePath == "" {
		cfg.SignedFilePath = DefaultSignedFilePath
	}
	for key, p := range map[string]string{"file_path": cfg.FilePath, "signed_file_path": cfg.SignedFilePath} {
		if !strings.HasPrefix(p, "/") || !strings.Contains(p, "{id}") {
			return fmt.Errorf("nexudus: %s: %q must start with / and contain {id}", key, p)
		}
	}
	if cfg.MaxFileBytes < 0 {
		return fmt.Errorf("nexudus: max_file_bytes: %d is negative", cfg.MaxFileBytes)
	}
	if cfg.MaxFileBytes == 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	return nil
}

// newLimiter allows perPeriod events per period with a burst of
// perPeriod/burstDivisor (at least 1). The burst is kept small so that a
// burst plus the steady rate stays under the server's own window: 100/min
// with a burst of 5 never exceeds 120 in any minute; 4,500/h with a burst
// of 450 never exceeds 5,000 in any hour.
func newLimiter(perPeriod int, period time.Duration, burstDivisor int) *rate.Limiter {
	if perPeriod < 0 {
		return rate.NewLimiter(rate.Inf, 1)
	}
	burst := max(perPeriod/burstDivisor, 1)
	return rate.NewLimiter(rate.Limit(float64(perPeriod)/period.Seconds()), burst)
}

// endpoint joins path (already escaped) and query to the base URL.
func (c *Client) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = q.Encode()
	return u.String()
}

// limitedKey marks a request context whose limiter wait is already done,
// so the transport does not wait twice.
type limitedKey struct{}

// waitLimiters waits for a slot in both budgets. Reservations go through
// c.now and c.sleep so that tests see the exact waits.
//
// A Retry-After that another worker received while this one waited for its
// slot holds it too: the pause is checked again after every wait.
func (c *Client) waitLimiters(ctx context.Context) error {
	waited, err := c.waitPause(ctx, time.Time{})
	if err != nil {
		return err
	}
	// Reading the clock and reserving happen together: a reservation at
	// a time older than the limiter's last one rewinds it and hands out
	// tokens twice (x/time/rate), which a clock that jumps makes large.
	c.reserveMu.Lock()
	now := c.now()
	rm := c.perMinute.ReserveN(now, 1)
	rh := c.perHour.ReserveN(now, 1)
	c.reserveMu.Unlock()
	d := max(rm.DelayFrom(now), rh.DelayFrom(now))
	if d > 0 {
		if err := c.wait(ctx, now, d); err != nil {
			rm.CancelAt(now)
			rh.CancelAt(now)
			return err
		}
	}
	_, err = c.waitPause(ctx, waited)
	return err
}

// waitPause sleeps until the latest Retry-After has passed, however often
// it moves while waiting, and returns the end of the last pause it waited
// out (waited when none). A pause that ends no later than waited is not
// waited again: that one is over, even on a clock that a test keeps still.
func (c *Client) waitPause(ctx context.Context, waited time.Time) (time.Time, error) {
	for {
		c.mu.Lock()
		until := c.pauseUntil
		c.mu.Unlock()
		now := c.now()
		pause := until.Sub(now)
		if pause <= 0 || !until.After(waited) {
			return waited, nil
		}
		if err := c.wait(ctx, now, pause); err != nil {
			return waited, err
		}
		waited = until
	}
}

// wait waits d counted from now: until now+d on an injected Clock (other
// waiters may have moved it since now was read), else c.sleep(ctx, d).
func (c *Client) wait(ctx context.Context, now time.Time, d time.Duration) error {
	if c.clock != nil {
		return c.clock.SleepUntil(ctx, now.Add(d))
	}
	return c.sleep(ctx, d)
}
