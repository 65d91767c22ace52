package nexudus

import (
	"errors"
	"net/http"
	"time"
)

// maxRedirects bounds the hops of one request; a download needs one.
const maxRedirects = 5

var errTooManyRedirects = errors.New("too many redirects")

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
	case req.Response != nil:
		// A redirect hop goes to the storage host, which is not part of the
		// Nexudus budget.
		api = "storage"
	case req.Context().Value(limitedKey{}) == nil:
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
func checkRedirect(req *http.Request, via []*http.Request, next func(*http.Request, []*http.Request) error) error {
	req.Header.Del("Authorization")
	if len(via) >= maxRedirects {
		return errTooManyRedirects
	}
	if next != nil {
		return next(req, via)
	}
	return nil
}
