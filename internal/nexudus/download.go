package nexudus

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Download is a file body being streamed. The caller must Close Body.
type Download struct {
	Body io.ReadCloser
	// Length is the announced size, -1 when unknown.
	Length      int64
	ContentType string
	// FromSignedCopy is true when Body is the signed copy rather than the
	// original file.
	FromSignedCopy bool
	// CloseDelimited is true when the body has neither a length nor
	// chunked framing and ends when the connection closes: a cut
	// connection then looks like a clean end, so the caller should
	// confirm the bytes (download again and compare).
	CloseDelimited bool
}

// Download streams the signed copy of f when it has one
// (SignedFileDataFileName set), else its file. A redirect to a storage host
// is followed without our credentials. More than MaxFileBytes fails with an
// error wrapping ErrTooLarge: at once when Content-Length says so, else from
// Body's Read once the cap is passed. A body shorter than its
// Content-Length fails with io.ErrUnexpectedEOF.
func (c *Client) Download(ctx context.Context, f File) (*Download, error) {
	tmpl, signed := c.cfg.FilePath, false
	if f.SignedFileDataFileName != "" {
		tmpl, signed = c.cfg.SignedFilePath, true
	}
	path := strings.ReplaceAll(tmpl, "{id}", strconv.FormatInt(f.ID, 10))
	resp, err := c.do(ctx, request{op: "download file", path: path, accept: "*/*"})
	if err != nil {
		return nil, c.wrap(err, "download file %d", f.ID)
	}
	// A download is a 200 with a body; any other 2xx (204, 206) or an
	// HTML page (a proxy's login or error page answered 200) is not the
	// file.
	if resp.StatusCode != http.StatusOK || resp.ContentLength == 0 || isHTML(resp.Header.Get("Content-Type")) {
		drain(resp)
		return nil, c.wrap(fmt.Errorf("answer %d with %d bytes of %q is not the file", resp.StatusCode, resp.ContentLength, resp.Header.Get("Content-Type")), "download file %d", f.ID)
	}
	limit := c.cfg.MaxFileBytes
	if resp.ContentLength > limit {
		resp.Body.Close()
		return nil, c.wrap(fmt.Errorf("%d bytes announced, limit %d: %w", resp.ContentLength, limit, ErrTooLarge), "download file %d", f.ID)
	}
	return &Download{
		Body:           &cappedBody{rc: resp.Body, limit: limit, want: resp.ContentLength, id: f.ID},
		Length:         resp.ContentLength,
		ContentType:    resp.Header.Get("Content-Type"),
		FromSignedCopy: signed,
		CloseDelimited: resp.ContentLength < 0 && resp.ProtoMajor == 1 && !chunked(resp),
	}, nil
}

func chunked(resp *http.Response) bool {
	for _, te := range resp.TransferEncoding {
		if strings.EqualFold(te, "chunked") {
			return true
		}
	}
	return false
}

func isHTML(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "text/html"
}

// cappedBody fails once more than limit bytes arrive, and turns a body that
// ends before its announced length into io.ErrUnexpectedEOF (net/http does
// too; this holds whatever transport is injected).
type cappedBody struct {
	rc    io.ReadCloser
	limit int64
	want  int64 // announced length, -1 unknown
	n     int64
	id    int64
	err   error
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// Read at most one byte past the cap: enough to know it was passed.
	if room := b.limit - b.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	if b.n > b.limit {
		n -= int(b.n - b.limit)
		b.n = b.limit
		b.err = fmt.Errorf("nexudus: download file %d: more than %d bytes: %w", b.id, b.limit, ErrTooLarge)
		return n, b.err
	}
	if err == io.EOF && b.want >= 0 && b.n < b.want {
		b.err = fmt.Errorf("nexudus: download file %d: %d of %d bytes: %w", b.id, b.n, b.want, io.ErrUnexpectedEOF)
		return n, b.err
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
