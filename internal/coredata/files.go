package coredata

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// GetFile returns the details of file id; a file that does not exist (or
// was deleted) is ErrNotFound.
func (c *Client) GetFile(ctx context.Context, id string) (*File, error) {
	if !validID(id) {
		return nil, fmt.Errorf("coredata: get file: invalid file id %q", httpx.Excerpt([]byte(id), 64))
	}
	op := "get file " + id
	resp, err := c.do(ctx, call{op: op, method: http.MethodGet,
		url: c.endpoint("/api/v2/files/"+id+"/", nil), idempotent: true})
	if err != nil {
		return nil, c.clean(err)
	}
	var j fileJSON
	if err := decode(resp, &j); err != nil {
		return nil, c.clean(fmt.Errorf("coredata: %s: %w", op, err))
	}
	f, err := j.file()
	if err != nil {
		return nil, fmt.Errorf("coredata: %s: %w", op, err)
	}
	return f, nil
}

// listPageSize is the limit ListFiles asks for: Tastypie's usual cap
// (max_limit), so that `state rebuild` of 100,000 files takes 100 requests
// rather than 1,000 (at the default 20, 5,000). A server with a lower cap
// answers fewer objects and a meta.next, which ListFiles follows.
const listPageSize = 1000

// maxListPages stops a server whose paging never ends.
const maxListPages = 10000

// listEnvelope is the document's {"meta": {...}, "objects": [...]}.
type listEnvelope struct {
	Meta *struct {
		Limit      *int    `json:"limit"`
		Next       *string `json:"next"`
		Offset     *int    `json:"offset"`
		TotalCount *int    `json:"total_count"`
	} `json:"meta"`
	Objects []fileJSON `json:"objects"`
}

// ListFiles returns every file under parent whose title is exactly title
// ("" lists every file under parent), following meta.next (or the offset)
// until the last page. The title filter is applied again on the answers
// (a server matching titles loosely must not make a caller adopt another
// file); the parent is left to the server, because a file in a project
// may report one of the project's folders as its parent.
func (c *Client) ListFiles(ctx context.Context, parent, title string) ([]File, error) {
	var out []File
	err := c.EachFile(ctx, parent, title, func(f File) error {
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EachFile is ListFiles one file at a time, page by page: the audit of a
// parent of 100,000 files keeps what it needs of each, not every File.
// An error from fn stops the walk and is returned as it is.
func (c *Client) EachFile(ctx context.Context, parent, title string, fn func(File) error) error {
	q := url.Values{}
	if parent != "" {
		q.Set("parent", parent)
	}
	if title != "" {
		q.Set("title", title)
	}
	q.Set("limit", strconv.Itoa(listPageSize))
	q.Set("offset", "0")
	next := c.endpoint("/api/v2/files/", q)
	seen := map[string]bool{}
	for page := 1; ; page++ {
		op := fmt.Sprintf("list files page %d", page)
		if page > maxListPages {
			return fmt.Errorf("coredata: %s: more than %d pages, giving up", op, maxListPages)
		}
		if seen[next.String()] {
			return fmt.Errorf("coredata: %s: the next page link repeats an earlier page", op)
		}
		seen[next.String()] = true
		resp, err := c.do(ctx, call{op: op, method: http.MethodGet, url: next, idempotent: true})
		if err != nil {
			return c.clean(err)
		}
		var env listEnvelope
		if err := decode(resp, &env); err != nil {
			return c.clean(fmt.Errorf("coredata: %s: %w", op, err))
		}
		files := make([]File, 0, len(env.Objects))
		for i, j := range env.Objects {
			f, err := j.file()
			if err != nil {
				return fmt.Errorf("coredata: %s: object %d: %w", op, i, err)
			}
			if title != "" && f.Title != title {
				continue
			}
			files = append(files, *f)
		}
		// The page is whole before fn sees it: a page that fails to
		// decode gives fn nothing of it.
		for _, f := range files {
			if err := fn(f); err != nil {
				return err
			}
		}
		if next, err = c.nextPage(next, env); err != nil {
			return fmt.Errorf("coredata: %s: %w", op, err)
		}
		if next == nil {
			return nil
		}
	}
}

// nextPage is the URL of the page after cur, or nil at the end: meta.next
// when the server gives it, else the offset moved past this page while
// total_count says more remain.
func (c *Client) nextPage(cur *url.URL, env listEnvelope) (*url.URL, error) {
	if env.Meta != nil && env.Meta.Next != nil && *env.Meta.Next != "" {
		ref, err := url.Parse(*env.Meta.Next)
		if err != nil {
			return nil, fmt.Errorf("meta.next is not a URL")
		}
		u := c.base.ResolveReference(ref)
		// The api key goes with every request: never to another host.
		if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			return nil, fmt.Errorf("meta.next points to another host (%s), refused", httpx.Excerpt([]byte(u.Host), 80))
		}
		return u, nil
	}
	if env.Meta == nil || env.Meta.TotalCount == nil || len(env.Objects) == 0 {
		return nil, nil
	}
	offset := 0
	if env.Meta.Offset != nil {
		offset = *env.Meta.Offset
	} else if n, err := strconv.Atoi(cur.Query().Get("offset")); err == nil {
		offset = n
	}
	offset += len(env.Objects)
	if offset >= *env.Meta.TotalCount {
		return nil, nil
	}
	u := *cur
	q := u.Query()
	q.Set("offset", strconv.Itoa(offset))
	u.RawQuery = q.Encode()
	return &u, nil
}

// Metadata is what UpdateMetadata sets. Title, Filename and Parent are
// required by the API (send the current values to keep them); Dynatype and
// Tags are left unchanged when empty.
type Metadata struct {
	Title, Filename, Parent, Dynatype string
	Tags                              []string
}

// metadataJSON is the documented body; tags are a comma-separated string.
type metadataJSON struct {
	Title    string `json:"title"`
	Filename string `json:"filename"`
	Parent   string `json:"parent"`
	Dynatype string `json:"dynatype,omitempty"`
	Tags     string `json:"tags,omitempty"`
}

// UpdateMetadata sets the title, filename, parent and optionally the
// dynatype and tags of file id (PUT, 204). Setting the same values twice is
// harmless, so it is retried like a read.
func (c *Client) UpdateMetadata(ctx context.Context, id string, m Metadata) error {
	if !validID(id) {
		return fmt.Errorf("coredata: update metadata: invalid file id %q", httpx.Excerpt([]byte(id), 64))
	}
	op := "update metadata of " + id
	for _, kv := range [][2]string{{"title", m.Title}, {"filename", m.Filename}, {"parent", m.Parent}} {
		if strings.TrimSpace(kv[1]) == "" {
			return fmt.Errorf("coredata: %s: %s is required", op, kv[0])
		}
	}
	tags, err := joinTags(m.Tags)
	if err != nil {
		return fmt.Errorf("coredata: %s: %w", op, err)
	}
	body, err := json.Marshal(metadataJSON{Title: m.Title, Filename: m.Filename, Parent: m.Parent, Dynatype: m.Dynatype, Tags: tags})
	if err != nil {
		return fmt.Errorf("coredata: %s: %w", op, err)
	}
	resp, err := c.do(ctx, call{op: op, method: http.MethodPut, url: c.endpoint("/api/v2/files/"+id+"/", nil),
		body: body, ctype: "application/json", idempotent: true})
	if err != nil {
		return c.clean(err)
	}
	drain(resp)
	return nil
}
