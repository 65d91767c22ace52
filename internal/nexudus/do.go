package nexudus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// request is one API call: a GET of path (already escaped) with query.
type request struct {
	op     string // names the call in logs, e.g. "list page 2"
	path   string
	query  url.Values
	accept string
}

// do sends r until it gets a 2xx answer, which it returns with its body
// unread. On the way it waits on the rate limiters, retries throttled (409,
// 429), failed (5xx) and network-broken attempts with backoff that honours
// Retry-After, and answers one 401 with a fresh login. Anything else becomes
// a typed error. Retries happen only before a body is handed out.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	target := c.endpoint(r.path, r.query)
	relogged := false
	for retry := 0; ; {
		if err := c.waitLimiters(ctx); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(context.WithValue(ctx, limitedKey{}, true), http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", r.accept)
		used, err := c.authorizeUnpaused(ctx, req)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			if !c.retryableNetErr(ctx, err) || retry >= c.cfg.MaxRetries {
				return nil, httpx.RedactError(err)
			}
			if werr := c.backoff(ctx, retry, "network", nil, r.op); werr != nil {
				return nil, werr
			}
			retry++
			continue
		}
		status := resp.StatusCode
		if status >= 200 && status < 300 {
			return resp, nil
		}
		if status == http.StatusUnauthorized && c.cfg.Auth == AuthOAuth2 && !relogged && !fromStorage(resp) {
			drain(resp)
			relogged = true
			c.metrics.ObserveRetry("nexudus", "auth")
			c.log.Info("nexudus answered 401, logging in again", zap.String("op", r.op))
			if err := c.forceLogin(ctx, used); err != nil {
				return nil, err
			}
			continue
		}
		// Any Retry-After holds every request of this client, this one's
		// retry or not: also after the last retry gave up.
		c.holdFor(resp.Header.Get("Retry-After"))
		if reason := retryReason(status); reason != "" && retry < c.cfg.MaxRetries {
			header := resp.Header
			drain(resp)
			if werr := c.backoff(ctx, retry, reason, header, r.op); werr != nil {
				return nil, werr
			}
			retry++
			continue
		}
		return nil, responseError(resp)
	}
}

// authorizeUnpaused authorises req and returns once no Retry-After is in
// force. Authorising can take long (waiting on another worker's login,
// which may itself be throttled), and a Retry-After another worker got
// meanwhile must hold this request too. After waiting one out it authorises
// again: the token may have expired or been replaced during the pause.
func (c *Client) authorizeUnpaused(ctx context.Context, req *http.Request) (string, error) {
	var waited time.Time
	for {
		used, err := c.authorize(ctx, req)
		if err != nil {
			return "", err
		}
		until, err := c.waitPause(ctx, waited)
		if err != nil {
			return "", err
		}
		if !until.After(waited) {
			return used, nil // no pause was in force
		}
		waited = until
	}
}

// getJSON runs r and decodes its JSON answer (size-capped) into v.
func (c *Client) getJSON(ctx context.Context, r request, v any) error {
	r.accept = "application/json"
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return httpx.DecodeJSON("nexudus", resp, v)
}

// backoff waits before retry number n (0-based) and counts it. Retry-After
// is a floor: the wait is never shorter than what the server asked for.
func (c *Client) backoff(ctx context.Context, n int, reason string, h http.Header, op string) error {
	var ra string
	if h != nil {
		ra = h.Get("Retry-After")
	}
	after, ok := httpx.ParseRetryAfter(ra, c.now())
	d := c.cfg.Backoff.Wait(n, after, ok)
	c.metrics.ObserveRetry("nexudus", reason)
	c.log.Debug("nexudus request retried", zap.String("op", op), zap.String("reason", reason),
		zap.Int("retry", n+1), zap.Duration("wait", d))
	return c.sleep(ctx, d)
}

// holdFor records a Retry-After value for every request of the client.
func (c *Client) holdFor(retryAfter string) {
	after, ok := httpx.ParseRetryAfter(retryAfter, c.now())
	if !ok || after <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if until := c.now().Add(after); until.After(c.pauseUntil) {
		c.pauseUntil = until
	}
}

// retryReason names why a status is worth retrying, or "" when it is not.
// 409 is Nexudus' legacy throttle answer.
func retryReason(status int) string {
	switch {
	case status == http.StatusConflict || status == http.StatusTooManyRequests:
		return "throttled"
	case status == http.StatusNotImplemented || status == http.StatusHTTPVersionNotSupported:
		return ""
	case status >= 500:
		return "server"
	}
	return ""
}

// retryableNetErr reports whether a transport error may pass on a retry:
// not when ctx is done, and not for certificate or redirect-policy errors,
// which no retry fixes.
func (c *Client) retryableNetErr(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		verify    *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &verify) ||
		errors.Is(err, errTooManyRedirects) || errors.Is(err, errRedirectRefused) {
		return false
	}
	// An unparsable redirect Location comes back the same every time.
	if strings.Contains(err.Error(), "failed to parse Location header") {
		return false
	}
	return true
}

// responseError reads a capped excerpt of a failed answer and closes it.
func responseError(resp *http.Response) error {
	body, _ := httpx.ReadBody(resp.Body, errorBodyLimit)
	resp.Body.Close()
	if fromStorage(resp) {
		return storageError(resp.StatusCode, body)
	}
	return statusError("nexudus", resp.StatusCode, body)
}

// fromStorage reports whether resp came from a redirect target.
func fromStorage(resp *http.Response) bool {
	return resp.Request != nil && resp.Request.Response != nil
}

// drain reads a little of a body before closing it, so the connection can
// be reused for the retry.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}

// wrap adds the package and operation to err and scrubs secrets.
func (c *Client) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return c.scrub(fmt.Errorf("nexudus: "+format+": %w", append(args, err)...))
}
