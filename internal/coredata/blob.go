package coredata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// Blob is an upload slot: its name, used to create or update a file, and
// the presigned storage URL the bytes go to. URL is a credential: String,
// GoString and MarshalJSON redact its signature.
type Blob struct {
	Name string
	URL  string
}

// String prints the blob with its URL redacted.
func (b Blob) String() string {
	return fmt.Sprintf("blob %s (%s)", b.Name, httpx.RedactURL(b.URL))
}

// GoString keeps %#v from printing the signature.
func (b Blob) GoString() string {
	return fmt.Sprintf("coredata.Blob{Name:%q, URL:%q}", b.Name, httpx.RedactURL(b.URL))
}

// MarshalJSON keeps the signature out of structured logs.
func (b Blob) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"name":%s,"url":%s}`, strconv.Quote(b.Name), strconv.Quote(httpx.RedactURL(b.URL)))), nil
}

// secrets are the values of the presigned URL that must not be printed, in
// the forms they can take in a message: raw (an S3 error body echoes them)
// and query-escaped.
func (b Blob) secrets() []string {
	u, err := url.Parse(b.URL)
	if err != nil {
		return []string{b.URL}
	}
	var out []string
	for k, vs := range u.Query() {
		switch strings.ToLower(k) {
		case "signature", "awsaccesskeyid", "x-amz-signature", "x-amz-credential", "x-amz-security-token":
			for _, v := range vs {
				out = append(out, v, url.QueryEscape(v))
			}
		}
	}
	return out
}

// blobAnswer is the v3 answer: {"blobName": ..., "presignedUrl": ...}.
type blobAnswer struct {
	BlobName     string `json:"blobName"`
	PresignedURL string `json:"presignedUrl"`
}

// RequestBlob asks for an upload slot for length bytes of contentType. The
// declared type and length must be those of the PutBlob that follows.
func (c *Client) RequestBlob(ctx context.Context, contentType string, length int64) (Blob, error) {
	if contentType == "" || length < 0 {
		return Blob{}, fmt.Errorf("coredata: request blob: need a content type and a length >= 0")
	}
	q := url.Values{}
	q.Set("content_type", contentType)
	q.Set("content_length", strconv.FormatInt(length, 10))
	// Asking again only leaves an unused slot behind, so this is retried
	// like a read.
	resp, err := c.do(ctx, call{op: "request blob", method: http.MethodPost,
		url: c.endpoint("/api/v3/blob/presigned-upload-url/", q), idempotent: true})
	if err != nil {
		return Blob{}, c.clean(err)
	}
	var a blobAnswer
	if err := decode(resp, &a); err != nil {
		return Blob{}, c.clean(fmt.Errorf("coredata: request blob: %w", err), Blob{URL: a.PresignedURL}.secrets()...)
	}
	b := Blob{Name: a.BlobName, URL: a.PresignedURL}
	if !validID(b.Name) {
		return Blob{}, c.clean(fmt.Errorf("coredata: request blob: answer has no usable blobName"), b.secrets()...)
	}
	if err := checkStorageURL(b.URL); err != nil {
		return Blob{}, fmt.Errorf("coredata: request blob %s: %w", b.Name, err)
	}
	return b, nil
}

// checkStorageURL refuses a presigned URL that would send the bytes in
// clear text off the machine, or that is not a URL at all. The message
// never contains the URL.
func checkStorageURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("presigned URL is not an absolute URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && httpx.IsLoopback(u.Hostname()):
	default:
		return fmt.Errorf("presigned URL scheme %q refused (https only, http for loopback)", u.Scheme)
	}
	return nil
}

// PutBlob uploads length bytes from body to the blob's presigned URL,
// streaming (the body is never held in memory). A 403 from storage is
// ErrURLExpired: request a new blob. Without an io.ReadSeeker body there is
// no retry, since the bytes cannot be read twice; with one, 429, 5xx and
// network failures are retried after seeking back to the start.
func (c *Client) PutBlob(ctx context.Context, b Blob, body io.Reader, length int64, contentType, filename string) error {
	secrets := b.secrets()
	err := c.putBlob(ctx, b, body, length, contentType, filename)
	return c.clean(err, secrets...)
}

func (c *Client) putBlob(ctx context.Context, b Blob, body io.Reader, length int64, contentType, filename string) error {
	op := "put blob " + b.Name
	if err := checkStorageURL(b.URL); err != nil {
		return fmt.Errorf("coredata: %s: %w", op, err)
	}
	if length < 0 || body == nil {
		return fmt.Errorf("coredata: %s: need a body and a length >= 0", op)
	}
	seeker, canRetry := body.(io.ReadSeeker)
	for attempt := 0; ; attempt++ {
		// Another worker's upload may have been told to wait (or this
		// one's previous attempt, by a later Retry-After than its backoff).
		if err := c.waitStoragePause(ctx); err != nil {
			return fmt.Errorf("coredata: %s: waiting out storage Retry-After: %w", op, err)
		}
		tb := &trackedBody{r: body, limit: length, closed: make(chan struct{})}
		status, retryAfter, err := c.putOnce(ctx, b, tb, length, contentType, filename)
		switch {
		case err == nil:
			return nil
		case tb.readErr() != nil:
			// The source failed (a broken download, say): nothing to retry
			// here; the caller fetches the bytes again.
			return fmt.Errorf("coredata: %s: reading the content: %w", op, tb.readErr())
		case tb.short():
			return fmt.Errorf("coredata: %s: body ended after %d of %d bytes", op, tb.count(), length)
		case status == http.StatusForbidden:
			return fmt.Errorf("coredata: %s: %w: %w", op, ErrURLExpired, err)
		case ctx.Err() != nil:
			return fmt.Errorf("coredata: %s: %w", op, err)
		}
		reason := ""
		switch {
		case status == 0:
			reason = "network"
		case status == http.StatusTooManyRequests:
			reason = "throttled"
		case status >= 500:
			reason = "server"
		}
		if reason == "" || !canRetry || attempt >= c.maxRetries {
			if reason != "" && canRetry {
				return fmt.Errorf("coredata: %s: giving up after %d attempts: %w", op, attempt+1, err)
			}
			return fmt.Errorf("coredata: %s: %w", op, err)
		}
		// The transport may still be reading the previous attempt's body
		// in its own goroutine; seeking under it would race.
		if werr := tb.wait(ctx); werr != nil {
			return fmt.Errorf("coredata: %s: %w (last error: %w)", op, werr, err)
		}
		if _, serr := seeker.Seek(0, io.SeekStart); serr != nil {
			return fmt.Errorf("coredata: %s: rewinding the body for a retry: %w (last error: %w)", op, serr, err)
		}
		wait := c.backoff.Wait(attempt, retryAfter, retryAfter > 0)
		c.m.ObserveRetry("storage", reason)
		c.log.Warn("coredata: retrying upload",
			zap.String("blob", b.Name), zap.String("reason", reason), zap.Int("attempt", attempt+1),
			zap.Duration("wait", wait), zap.Error(c.clean(err, b.secrets()...)))
		if serr := c.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("coredata: %s: waiting to retry: %w (last error: %w)", op, serr, err)
		}
	}
}

// putOnce makes one upload attempt; status is 0 when no answer came.
func (c *Client) putOnce(ctx context.Context, b Blob, tb *trackedBody, length int64, contentType, filename string) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.URL, nil)
	if err != nil {
		return 0, 0, errors.New("presigned URL refused by the HTTP client")
	}
	if length == 0 {
		req.Body = http.NoBody
		_ = tb.Close()
	} else {
		req.Body = tb
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", contentType)
	if slug := slugHeader(filename); slug != "" {
		req.Header.Set("Slug", slug)
	}
	// No Authorization: the presigned URL is the credential, and the api
	// key has no business reaching the storage backend.
	start := time.Now()
	resp, err := c.storage.Do(req)
	if err != nil {
		c.m.ObserveRequest("storage", 0, time.Since(start))
		return 0, 0, err
	}
	c.m.ObserveRequest("storage", resp.StatusCode, time.Since(start))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		drain(resp)
		return resp.StatusCode, 0, nil
	}
	ra, hasRA := httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), c.now())
	if hasRA {
		// Every worker's next PUT waits it out, also when this upload
		// gives up now (a body that cannot be replayed, the last retry).
		c.pauseStorage(ra)
	}
	return resp.StatusCode, ra, c.statusError("storage", resp)
}

// slugHeader makes a filename fit for a header value: control characters
// would make the request invalid (or split the header).
func slugHeader(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || httpx.IsBidi(r) {
			return -1
		}
		return r
	}, name)
}

// trackedBody is the request body of one upload attempt: it stops at the
// declared length, remembers whether the source ended early or failed, and
// signals when the transport has closed it.
type trackedBody struct {
	r     io.Reader
	limit int64

	mu     sync.Mutex
	n      int64
	err    error // a read error of the source (not io.EOF)
	eof    bool
	once   sync.Once
	closed chan struct{}
}

func (t *trackedBody) Read(p []byte) (int, error) {
	t.mu.Lock()
	remaining := t.limit - t.n
	t.mu.Unlock()
	if remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > remaining {
		p = p[:remaining]
	}
	n, err := t.r.Read(p)
	t.mu.Lock()
	t.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		t.eof = true
	case err != nil:
		t.err = err
	}
	t.mu.Unlock()
	return n, err
}

func (t *trackedBody) Close() error {
	t.once.Do(func() { close(t.closed) })
	return nil
}

func (t *trackedBody) readErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func (t *trackedBody) short() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.eof && t.n < t.limit
}

func (t *trackedBody) count() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// wait blocks until the transport is done with the body.
func (t *trackedBody) wait(ctx context.Context) error {
	select {
	case <-t.closed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
