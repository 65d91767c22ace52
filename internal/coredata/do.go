package coredata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// maxErrorBody is how much of an error answer is read for its excerpt.
const maxErrorBody = 16 << 10

// call is one API request, described so that it can be sent again.
type call struct {
	op     string // for messages: "create file"
	method string
	url    *url.URL
	body   []byte
	ctype  string
	// idempotent calls may be resent after they may have reached the
	// server; the others only when the answer says they were not processed.
	idempotent bool
}

// do sends cl, retrying what may be retried, and returns a 2xx response
// whose body the caller must close. Errors are not yet cleaned.
func (c *Client) do(ctx context.Context, cl call) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, sent, err := c.send(ctx, cl)
		var (
			retryAfter time.Duration
			hasRA      bool
			reason     string
		)
		if err != nil {
			if sent && !cl.idempotent {
				// The server may have acted on it; only reconciliation can
				// tell. This includes a timeout or cancellation mid-request.
				return nil, fmt.Errorf("coredata: %s: %w: %w", cl.op, ErrOutcomeUnknown, err)
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("coredata: %s: %w", cl.op, err)
			}
			reason = "network"
		} else {
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				return resp, nil
			}
			serr := c.statusError("coredata", resp)
			retryAfter, hasRA = httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
			if hasRA {
				// Whatever comes next (a retry, another worker, the
				// caller's reconciliation) waits it out, even when this
				// request gives up now.
				c.pause(retryAfter)
			}
			code := resp.StatusCode
			switch {
			case code == http.StatusTooManyRequests:
				// Throttled requests are refused before any processing.
				reason = "throttled"
			case code >= 500 && cl.idempotent:
				reason = "server"
			case code >= 500:
				// Even a 503 with Retry-After may come from a proxy that
				// gave up after CoreData acted: only a lookup can tell.
				return nil, fmt.Errorf("coredata: %s: %w: %w", cl.op, ErrOutcomeUnknown, serr)
			default:
				return nil, fmt.Errorf("coredata: %s: %w", cl.op, serr)
			}
			err = serr
		}
		if attempt >= c.maxRetries {
			return nil, fmt.Errorf("coredata: %s: giving up after %d attempts: %w", cl.op, attempt+1, err)
		}
		wait := c.backoff.Wait(attempt, retryAfter, hasRA)
		c.m.ObserveRetry("coredata", reason)
		c.log.Warn("coredata: retrying",
			zap.String("op", cl.op), zap.String("reason", reason), zap.Int("attempt", attempt+1),
			zap.Duration("wait", wait), zap.Error(c.clean(err)))
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("coredata: %s: waiting to retry: %w (last error: %w)", cl.op, serr, err)
		}
	}
}

// send makes one attempt. sent reports whether the request may have
// reached the server: false only when no connection was obtained (dial,
// DNS or TLS handshake failure), which is what makes a resend safe.
func (c *Client) send(ctx context.Context, cl call) (resp *http.Response, sent bool, err error) {
	if err := c.waitPause(ctx); err != nil {
		return nil, false, err
	}
	var gotConn atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) },
	})
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url.String(), body)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if cl.ctype != "" {
		req.Header.Set("Content-Type", cl.ctype)
	}
	start := time.Now()
	resp, err = c.api.Do(req)
	if err != nil {
		c.m.ObserveRequest("coredata", 0, time.Since(start))
		return nil, gotConn.Load() && !isDialError(err), err
	}
	c.m.ObserveRequest("coredata", resp.StatusCode, time.Since(start))
	return resp, true, nil
}

// isDialError reports failures that happen before a request can be sent.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// statusError reads (a capped part of) a non-2xx answer, closes it and
// returns the typed error with a sanitized excerpt.
func (c *Client) statusError(api string, resp *http.Response) *httpx.StatusError {
	body, _ := httpx.ReadBody(resp.Body, maxErrorBody)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	return httpx.NewStatusError(api, resp.StatusCode, redactBody(body))
}

// decode reads a JSON answer into v and closes it.
func decode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return httpx.DecodeJSON("coredata", resp, v)
}

// drain lets the connection be reused after an answer whose body is not
// needed.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
}
