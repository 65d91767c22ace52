package coredata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// NewFile is what CreateFile sends: the uploaded blob and the metadata.
type NewFile struct {
	BlobName, Filename, Title, Parent string
	Dynatype                          string // "" lets CoreData use "File"
	Tags                              []string
}

// CreateFile creates a file from an uploaded blob and returns its id. It is
// never resent once it may have reached the server: a broken connection, a
// timeout, a 5xx (other than 503 with Retry-After) or a 201 without a
// usable Location all return an error wrapping ErrOutcomeUnknown.
func (c *Client) CreateFile(ctx context.Context, f NewFile) (string, error) {
	body, ctype, err := f.multipart()
	if err != nil {
		return "", fmt.Errorf("coredata: create file: %w", err)
	}
	resp, err := c.do(ctx, call{op: "create file", method: http.MethodPost,
		url: c.endpoint("/api/v2/files/", nil), body: body, ctype: ctype})
	if err != nil {
		return "", c.clean(err)
	}
	drain(resp)
	id, err := ParseLocation(resp.Header.Get("Location"))
	if err != nil {
		return "", c.clean(fmt.Errorf("coredata: create file: HTTP %d: %w: %w", resp.StatusCode, ErrOutcomeUnknown, err))
	}
	return id, nil
}

// multipart encodes the create form. It is small (no content), so it is
// built once and resent from memory when a retry is allowed.
func (f NewFile) multipart() ([]byte, string, error) {
	for _, kv := range [][2]string{{"blob_name", f.BlobName}, {"filename", f.Filename}, {"title", f.Title}, {"parent", f.Parent}} {
		if strings.TrimSpace(kv[1]) == "" {
			return nil, "", fmt.Errorf("%s is required", kv[0])
		}
	}
	tags, err := joinTags(f.Tags)
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields := [][2]string{{"blob_name", f.BlobName}, {"filename", f.Filename}, {"title", f.Title}, {"parent", f.Parent}}
	if f.Dynatype != "" {
		fields = append(fields, [2]string{"dynatype", f.Dynatype})
	}
	if tags != "" {
		fields = append(fields, [2]string{"tags", tags})
	}
	for _, kv := range fields {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// joinTags makes the documented comma-separated list. A tag holding a comma
// would silently become two, so it is refused.
func joinTags(tags []string) (string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if strings.Contains(t, ",") {
			return "", fmt.Errorf("tag %q contains a comma", t)
		}
		out = append(out, t)
	}
	return strings.Join(out, ","), nil
}

// maxIDLen bounds an id taken from a server answer.
const maxIDLen = 128

// validID accepts the ids CoreData hands out (UUIDs, hex blob names)
// and refuses anything that could change the path it is put into.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

// ParseLocation returns the file id of a create's Location header:
// "/api/v2/files/<id>/", or the same as an absolute URL (with or without
// the trailing slash, with any path prefix before /api/).
func ParseLocation(loc string) (string, error) {
	loc = strings.TrimSpace(loc)
	if loc == "" {
		return "", errors.New("no location header")
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", errors.New("location header is not a URL")
	}
	p := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndex(p, "/api/v2/files/")
	if i < 0 {
		return "", fmt.Errorf("location %q is not a file URL", httpx.Excerpt([]byte(httpx.RedactURL(loc)), 80))
	}
	id := p[i+len("/api/v2/files/"):]
	if !validID(id) {
		return "", fmt.Errorf("location %q holds no valid file id", httpx.Excerpt([]byte(httpx.RedactURL(loc)), 80))
	}
	return id, nil
}
