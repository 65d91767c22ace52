package nexudus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// expiryMargin treats a token as expired this long before its expiry, so a
// request that waits on the rate limiter still carries a live token.
const expiryMargin = time.Minute

// heldTokens is how many recent tokens scrub remembers.
const heldTokens = 8

// authorize sets the request's credentials and returns the access token it
// used ("" for basic), so a 401 can tell whether someone renewed it since.
func (c *Client) authorize(ctx context.Context, req *http.Request) (string, error) {
	if c.cfg.Auth == AuthBasic {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
		return "", nil
	}
	tok, err := c.token(ctx)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return tok.AccessToken, nil
}

// token returns a live token: the cached one, else a refreshed one
// (refresh_token grant), else a new login (password grant).
func (c *Client) token(ctx context.Context) (*oauth2.Token, error) {
	if tok := c.cached(); c.valid(tok) {
		return tok, nil
	}
	if err := c.lockToken(ctx); err != nil {
		return nil, err
	}
	defer c.unlockToken()
	tok := c.cached()
	if c.valid(tok) {
		return tok, nil // renewed while we waited for the lock
	}
	if tok != nil && tok.RefreshToken != "" {
		fresh, err := c.fetchToken(ctx, "refresh token", func(octx context.Context) (*oauth2.Token, error) {
			return c.oauth.TokenSource(octx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		})
		if err == nil {
			c.store(fresh)
			return fresh, nil
		}
		if !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrBadRequest) {
			return nil, err
		}
		c.log.Info("nexudus token refresh refused, logging in again", zap.Error(c.scrub(err)))
	}
	return c.login(ctx)
}

// forceLogin replaces the token that drew a 401 with a new password grant,
// unless another caller already replaced it.
func (c *Client) forceLogin(ctx context.Context, stale string) error {
	if err := c.lockToken(ctx); err != nil {
		return err
	}
	defer c.unlockToken()
	if tok := c.cached(); tok != nil && tok.AccessToken != stale && c.valid(tok) {
		return nil
	}
	_, err := c.login(ctx)
	return err
}

// login runs the password grant; the caller holds the token lock.
func (c *Client) login(ctx context.Context) (*oauth2.Token, error) {
	tok, err := c.fetchToken(ctx, "login", func(octx context.Context) (*oauth2.Token, error) {
		return c.oauth.PasswordCredentialsToken(octx, c.cfg.Username, c.cfg.Password)
	})
	if err != nil {
		c.store(nil)
		return nil, err
	}
	c.store(tok)
	return tok, nil
}

// fetchToken runs one token request through oauth2 with the injected client,
// retrying throttled, failed and network-broken attempts like any request,
// and records a Retry-After for every request of the client.
func (c *Client) fetchToken(ctx context.Context, op string, fetch func(context.Context) (*oauth2.Token, error)) (*oauth2.Token, error) {
	octx := context.WithValue(ctx, oauth2.HTTPClient, c.hc)
	for retry := 0; ; retry++ {
		tok, err := fetch(octx)
		if err == nil {
			if tok.ExpiresIn > 0 {
				// Re-base the expiry on our clock (oauth2 uses its own).
				tok.Expiry = c.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
			}
			return tok, nil
		}
		var (
			reason string
			header http.Header
			re     *oauth2.RetrieveError
			ue     *url.Error // only transport failures come as *url.Error
		)
		switch {
		case errors.As(err, &re):
			if re.Response != nil {
				reason, header = retryReason(re.Response.StatusCode), re.Response.Header
				// /api/token is throttled with the rest of the API: its
				// Retry-After holds every request of the client, as in do,
				// also when this fetch gives up below.
				c.holdFor(header.Get("Retry-After"))
			}
		case errors.As(err, &ue) && c.retryableNetErr(ctx, err):
			reason = "network"
		}
		if reason == "" || retry >= c.cfg.MaxRetries {
			return nil, c.scrub(tokenError(op, err))
		}
		if werr := c.backoff(ctx, retry, reason, header, op); werr != nil {
			return nil, fmt.Errorf("nexudus: %s: %w", op, werr)
		}
	}
}

// tokenError turns an oauth2 error into one that errors.Is can classify and
// that never holds the raw response body.
func tokenError(op string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("nexudus: %s: %w", op, httpx.RedactError(err))
	}
	status := re.Response.StatusCode
	se := httpx.NewStatusError("nexudus", status, nil)
	switch {
	case re.ErrorCode != "":
		se.Excerpt = httpx.Excerpt([]byte(re.ErrorCode+" "+re.ErrorDescription), 200)
	default:
		se.Excerpt = jsonMessage(re.Body)
		if se.Excerpt == "" {
			se.Excerpt = excerpt(re.Body)
		}
	}
	switch re.ErrorCode {
	case "invalid_grant", "invalid_client", "unauthorized_client", "access_denied":
		// Wrong credentials or a dead refresh token: RFC 6749 says 400,
		// but the meaning is "unauthorized".
		se.Kind = httpx.ErrUnauthorized
	}
	if status == http.StatusConflict {
		se.Kind = httpx.ErrThrottled
	}
	if se.Kind == nil {
		se.Kind = httpx.ErrUnauthorized // a 2xx carrying an error code
	}
	return fmt.Errorf("nexudus: %s: %w", op, se)
}

func (c *Client) lockToken(ctx context.Context) error {
	select {
	case c.tokenSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) unlockToken() { <-c.tokenSem }

func (c *Client) cached() *oauth2.Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tok
}

func (c *Client) store(tok *oauth2.Token) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tok = tok
	if tok == nil {
		return
	}
	c.tokIssued = c.now()
	c.held = append(c.held, tok.AccessToken, tok.RefreshToken)
	if n := len(c.held); n > 2*heldTokens {
		c.held = append([]string(nil), c.held[n-2*heldTokens:]...)
	}
}

func (c *Client) valid(tok *oauth2.Token) bool {
	if tok == nil || tok.AccessToken == "" {
		return false
	}
	// The margin is at most a quarter of the token's life, so a server
	// issuing short-lived tokens does not make every request log in again.
	margin := expiryMargin
	c.mu.Lock()
	issued := c.tokIssued // guarded: a worker logging in again writes it
	c.mu.Unlock()
	if life := tok.Expiry.Sub(issued); life > 0 && life/4 < margin {
		margin = life / 4
	}
	return tok.Expiry.IsZero() || c.now().Add(margin).Before(tok.Expiry)
}

// secrets lists what scrub removes from error messages.
func (c *Client) secrets() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string{c.cfg.Password}, c.held...)
}
