package coredata

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

	"github.com/coworkdocs/syncd/internal/httpx"
)

// Config is what the client needs to reach one CoreData tenant.
type Config struct {
	// BaseURL is https://tenant.coredata.is; plain http is accepted only
	// for loopback hosts (the simulator).
	BaseURL         string
	APIUser, APIKey string
	// MaxRetries is how many times a retryable failure is retried: 0 means
	// the default 5, a negative value means never.
	MaxRetries int
	Backoff    httpx.Backoff
	// Sleep waits between retries; nil is httpx.Sleep. Tests inject a fake
	// so that Retry-After floors do not cost wall time.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now reads Retry-After dates; nil is time.Now.
	Now func() time.Time
}

// DefaultMaxRetries is Config.MaxRetries when left at zero.
const DefaultMaxRetries = 5

// Client talks to the CoreData API and to its storage backend. It is safe
// for concurrent use.
type Client struct {
	base       *url.URL
	auth       string // "apikey USER:KEY"
	secrets    []string
	api        *http.Client
	storage    *http.Client
	m          *httpx.Metrics
	log        *zap.Logger
	maxRetries int
	backoff    httpx.Backoff
	sleep      func(context.Context, time.Duration) error
	now        func() time.Time

	// gate holds every API request until the latest Retry-After CoreData
	// gave: throttling is per API user, so every worker waits it out, not
	// only the one told.
	gate *gate
	// storageGate does the same for the presigned PUTs. It is a gate of
	// its own because storage is another host (the blob backend behind
	// the presigned URLs) with its own throttling: its Retry-After says
	// nothing about the API, and holding API calls (or uploads on an API
	// Retry-After) would only stall work the other host would accept.
	storageGate *gate
}

// gate is a pause shared by the workers of one client.
type gate struct {
	mu    sync.Mutex
	until time.Time
}

// wait holds a request until the gate's latest Retry-After has passed. It
// checks again after every sleep, since another worker may have been told
// a later one meanwhile; a pause already waited out is not waited again,
// so a clock that does not move (tests) cannot keep it looping.
func (g *gate) wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	var waited time.Time
	for {
		g.mu.Lock()
		until := g.until
		g.mu.Unlock()
		d := until.Sub(now())
		if d <= 0 || !until.After(waited) {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
		waited = until
	}
}

// extend moves the gate's end to now+d unless it already ends later.
func (g *gate) extend(now time.Time, d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until := now.Add(d); until.After(g.until) {
		g.until = until
	}
}

// waitPause holds an API request until the latest API Retry-After has
// passed.
func (c *Client) waitPause(ctx context.Context) error {
	return c.gate.wait(ctx, c.now, c.sleep)
}

// pause records an API Retry-After for every API request of the client.
func (c *Client) pause(d time.Duration) {
	c.gate.extend(c.now(), d)
}

// waitStoragePause holds a storage PUT until the latest storage
// Retry-After has passed.
func (c *Client) waitStoragePause(ctx context.Context) error {
	return c.storageGate.wait(ctx, c.now, c.sleep)
}

// pauseStorage records a storage Retry-After for every storage PUT of the
// client.
func (c *Client) pauseStorage(d time.Duration) {
	c.storageGate.extend(c.now(), d)
}

// New checks cfg and builds a client. api carries the API calls, storage
// the presigned uploads (they have different timeouts: an upload of a large
// file takes longer than any API answer). A nil client gets a private one
// with timeouts; m and log may be nil.
func New(cfg Config, api *http.Client, storage *http.Client, m *httpx.Metrics, log *zap.Logger) (*Client, error) {
	base, err := httpx.ParseBaseURL("coredata", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if err := checkCredential("api_user", cfg.APIUser); err != nil {
		return nil, err
	}
	if err := checkCredential("api_key", cfg.APIKey); err != nil {
		return nil, err
	}
	if strings.Contains(cfg.APIUser, ":") {
		return nil, errors.New("coredata: api_user must not contain ':'")
	}
	if api == nil {
		api = &http.Client{Timeout: time.Minute}
	}
	if storage == nil {
		storage = &http.Client{Timeout: 15 * time.Minute}
	}
	if log == nil {
		log = zap.NewNop()
	}
	c := &Client{
		base:        base,
		auth:        "apikey " + cfg.APIUser + ":" + cfg.APIKey,
		secrets:     []string{cfg.APIKey},
		api:         api,
		storage:     storage,
		m:           m,
		log:         log,
		maxRetries:  cfg.MaxRetries,
		backoff:     cfg.Backoff,
		sleep:       cfg.Sleep,
		now:         cfg.Now,
		gate:        &gate{},
		storageGate: &gate{},
	}
	if c.maxRetries == 0 {
		c.maxRetries = DefaultMaxRetries
	} else if c.maxRetries < 0 {
		c.maxRetries = 0
	}
	if c.sleep == nil {
		c.sleep = httpx.Sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// checkCredential rejects empty values and values that would break the
// Authorization header; the message names the key, never the value.
func checkCredential(key, v string) error {
	if v == "" {
		return fmt.Errorf("coredata: %s is empty", key)
	}
	for _, r := range v {
		if r < 0x21 || r == 0x7f {
			return fmt.Errorf("coredata: %s contains white space or control characters", key)
		}
	}
	return nil
}

// endpoint is the absolute URL of an API path (slash-terminated).
func (c *Client) endpoint(path string, q url.Values) *url.URL {
	u := *c.base
	u.Path = c.base.Path + path
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return &u
}

// scrub removes the api key from text that came from elsewhere (a response
// body excerpt); a misbehaving proxy may echo request headers.
func (c *Client) scrub(s string, extra ...string) string {
	for _, list := range [][]string{c.secrets, extra} {
		for _, secret := range list {
			// Very short values would blank out unrelated text, and no
			// real key or signature is that short.
			if len(secret) >= 4 {
				s = strings.ReplaceAll(s, secret, "REDACTED")
			}
		}
	}
	return s
}

// clean is the last step of every error the client returns: the URL inside
// a *url.Error is redacted and any secret left in the message (an excerpt
// echoing a signature, say) is replaced, keeping the chain for errors.Is.
func (c *Client) clean(err error, extra ...string) error {
	return httpx.Scrub(err, append(append([]string(nil), c.secrets...), extra...)...)
}
