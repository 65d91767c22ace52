package nexudus

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// maxRedirects bounds the hops of one request; a download needs one.
const maxRedirects = 5

var (
	errTooManyRedirects = errors.New("too many redirects")
	errRedirectRefused  = errors.New("redirect refused")
)

// transport waits on the rate limiters and counts every request. It sits
// under oauth2 as well, so token requests are limited and counted like the
// rest.
type transport struct {
	c    *Client
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	api := "nexudus"
	switch {
	case req.Response != nil && req.URL.Host != t.c.base.Host:
		// A redirect hop to the storage host is not part of the Nexudus
		// budget.
		api = "storage"
	case req.Response != nil || req.Context().Value(limitedKey{}) == nil:
		// A first request not yet limited (token requests), or a redirect
		// hop back to Nexudus itself: each hop costs one of the budget.
		if err := t.c.waitLimiters(req.Context()); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	t.c.metrics.ObserveRequest(api, code, time.Since(start))
	return resp, err
}

// checkRedirect drops credentials on every hop. Download redirects point at
// presigned storage URLs, which authenticate by their signature: our bearer
// token or password has no business there, even on the same host (net/http
// would forward it to a same-host target), and S3 rejects a request that
// carries both.
//
// Only GET is followed: a redirected token request would resend the
// password in its body to wherever the Location points. And only to https
// (or loopback): contracts and presigned URLs must not travel in clear.
func checkRedirect(req *http.Request, via []*http.Request, next func(*http.Request, []*http.Request) error) error {
	req.Header.Del("Authorization")
	if len(via) >= maxRedirects {
		return errTooManyRedirects
	}
	if m := via[0].Method; m != http.MethodGet {
		return fmt.Errorf("%w: a %s request was redirected", errRedirectRefused, m)
	}
	if req.URL.Scheme != "https" && !(req.URL.Scheme == "http" && httpx.IsLoopback(req.URL.Hostname())) {
		return fmt.Errorf("%w: to %s://%s (only https)", errRedirectRefused, req.URL.Scheme, req.URL.Host)
	}
	if next != nil {
		return next(req, via)
	}
	return nil
}
