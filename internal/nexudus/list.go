package nexudus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	gosync "sync"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/httpx"
)

const filesPath = "/api/spaces/coworkerdatafiles"

// ListQuery selects records by update (or creation) time: signed files
// (ListPage), acceptances (ListAcceptancesPage) and legal texts
// (ListTextsPage).
type ListQuery struct {
	// UpdatedFrom is sent rounded down to the minute (the filter's
	// resolution); zero: no lower bound.
	UpdatedFrom time.Time
	// UpdatedTo is sent as its minute, which the server reads as "up to
	// the end of that minute"; zero: open.
	UpdatedTo time.Time
	// CreatedFrom and CreatedTo bound CreatedOn the same way (the
	// documented from_/to_<Entity>_CreatedOn); zero: open.
	CreatedFrom, CreatedTo time.Time
	// Business restricts to one location; 0: all.
	Business int64
}

// Page is one list page. Records holds only signed records.
type Page struct {
	Records     []File
	Page        int
	PageSize    int
	TotalItems  int
	TotalPages  int
	HasNextPage bool
	// Unsigned counts records the server returned despite the Signed
	// filter; they are dropped from Records.
	Unsigned int
	// Bad holds records that did not decode (an odd time, a wrong type):
	// one bad record must not hide the rest of its page.
	Bad []BadRecord `json:",omitempty"`
}

// BadRecord is a list record that did not decode. ID is 0 when even the
// Id could not be read.
type BadRecord struct {
	ID  int64
	Err error
}

// envelope is Nexudus' paging wrapper, shared by every list endpoint.
type envelope[T any] struct {
	Records              []T
	CurrentPage          int
	CurrentPageSize      int
	PageNumber           int
	PageSize             int
	TotalItems           int
	TotalPages           int
	HasNextPage          bool
	HasPreviousPage      bool
	FirstItem            int
	LastItem             int
	CurrentOrderField    string
	CurrentSortDirection int
}

func (e *envelope[T]) pageNumber() int {
	if e.CurrentPage > 0 {
		return e.CurrentPage
	}
	return e.PageNumber
}

func (e *envelope[T]) pageSize() int {
	if e.PageSize > 0 {
		return e.PageSize
	}
	return e.CurrentPageSize
}

// listValues builds the documented query for q and page.
func (c *Client) listValues(q ListQuery, page int) url.Values {
	v := c.rangeValues(filePrefix, q, page)
	v.Set(filePrefix+"Signed", "true")
	return v
}

// filePrefix starts the names of the files list's filters.
const filePrefix = "CoworkerDataFile_"

// rangeValues is the query every list of syncd's sends, for the entity
// whose filters start with prefix ("CoworkerDataFile_"): page, page size,
// ascending UpdatedOn, q's bounds (from-bounds rounded down to the minute,
// the filters' resolution) and location, each omitted when zero.
func (c *Client) rangeValues(prefix string, q ListQuery, page int) url.Values {
	v := url.Values{
		"page":    {strconv.Itoa(page)},
		"size":    {strconv.Itoa(c.cfg.PageSize)},
		"orderBy": {"UpdatedOn"},
		"dir":     {"1"},
	}
	for _, b := range []struct {
		key string
		at  time.Time
	}{
		{"from_" + prefix + "UpdatedOn", q.UpdatedFrom},
		{"to_" + prefix + "UpdatedOn", q.UpdatedTo},
		{"from_" + prefix + "CreatedOn", q.CreatedFrom},
		{"to_" + prefix + "CreatedOn", q.CreatedTo},
	} {
		if !b.at.IsZero() {
			v.Set(b.key, FormatMinute(b.at))
		}
	}
	if q.Business != 0 {
		v.Set(prefix+"Business", strconv.FormatInt(q.Business, 10))
	}
	return v
}

// ListPage fetches one page (1-based) of signed files updated in q's range,
// oldest update first. List records are partial (see File).
func (c *Client) ListPage(ctx context.Context, q ListQuery, page int) (*Page, error) {
	if page < 1 {
		page = 1
	}
	r := request{op: "list page " + strconv.Itoa(page), path: filesPath, query: c.listValues(q, page), accept: "application/json"}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, c.wrap(err, "list page %d", page)
	}
	defer resp.Body.Close()
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer putPageBuffer(buf)
	body, err := readPage(buf, resp.Body)
	if err != nil {
		return nil, c.wrap(err, "list page %d: read", page)
	}
	p, err := decodeListPage(resp.StatusCode, resp.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, c.wrap(err, "list page %d", page)
	}
	if p.Page == 0 {
		p.Page = page
	}
	if p.Unsigned > 0 {
		c.log.Debug("nexudus listed unsigned records despite the filter; dropped",
			zap.Int("page", page), zap.Int("unsigned", p.Unsigned))
	}
	return p, nil
}

// pageBuffers hold list pages while they are decoded. Every decoder
// copies what it keeps (decodeListPageFast one string per page,
// encoding/json each string), so the buffer is free again once the page
// is decoded: a poll over 100,000 records reads 90 MB of pages, which
// io.ReadAll read into a new, twice regrown buffer each.
var pageBuffers = gosync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledPage keeps a huge answer's buffer out of the pool.
const maxPooledPage = 1 << 20

func putPageBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledPage {
		pageBuffers.Put(b)
	}
}

// readPage is httpx.ReadBody into buf: at most httpx.MaxJSONBytes, more
// is httpx.ErrTooLarge.
func readPage(buf *bytes.Buffer, r io.Reader) ([]byte, error) {
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(r, httpx.MaxJSONBytes+1)); err != nil {
		return nil, err
	}
	if buf.Len() > httpx.MaxJSONBytes {
		return nil, fmt.Errorf("body over %d bytes: %w", httpx.MaxJSONBytes, httpx.ErrTooLarge)
	}
	return buf.Bytes(), nil
}

// decodeListPage decodes a list answer and keeps only signed records.
//
// A page of the usual shape is decoded by decodeListPageFast, without
// reflection; anything else comes here, to encoding/json.
//
// A page is decoded in one pass when every record decodes: listing is the
// whole cost of a poll over records already mirrored, and decoding each
// record again from its raw bytes took three times as long. A page with an
// unreadable record is decoded again record by record, so that the rest
// of it is still read (decodeListPageByRecord); both give the same page.
func decodeListPage(status int, contentType string, body []byte) (*Page, error) {
	if p, ok := decodeListPageFast(contentType, body); ok {
		return p, nil
	}
	return decodeListPageJSON(status, contentType, body)
}

// decodeListPageJSON is decodeListPage with encoding/json.
func decodeListPageJSON(status int, contentType string, body []byte) (*Page, error) {
	var env envelope[File]
	if err := httpx.DecodeJSONBytes("nexudus", status, contentType, body, &env); err != nil {
		return decodeListPageByRecord(status, contentType, body)
	}
	p := &Page{
		Records:     make([]File, 0, len(env.Records)),
		Page:        env.pageNumber(),
		PageSize:    env.pageSize(),
		TotalItems:  env.TotalItems,
		TotalPages:  env.TotalPages,
		HasNextPage: env.HasNextPage,
	}
	for _, f := range env.Records {
		if !f.Signed {
			p.Unsigned++
			continue
		}
		p.Records = append(p.Records, f)
	}
	return p, nil
}

// decodeListPageByRecord decodes a list answer record by record, naming
// the records that do not decode instead of failing the page.
func decodeListPageByRecord(status int, contentType string, body []byte) (*Page, error) {
	var env envelope[json.RawMessage]
	if err := httpx.DecodeJSONBytes("nexudus", status, contentType, body, &env); err != nil {
		return nil, err
	}
	p := &Page{
		Records:     make([]File, 0, len(env.Records)),
		Page:        env.pageNumber(),
		PageSize:    env.pageSize(),
		TotalItems:  env.TotalItems,
		TotalPages:  env.TotalPages,
		HasNextPage: env.HasNextPage,
	}
	for i, raw := range env.Records {
		var f File
		if err := json.Unmarshal(raw, &f); err != nil {
			// Read what can be read, to name the record and to drop it
			// quietly if it is not signed anyway.
			var id struct {
				Id     int64
				Signed bool
			}
			_ = json.Unmarshal(raw, &id)
			if id.Id != 0 && !id.Signed {
				p.Unsigned++
				continue
			}
			p.Bad = append(p.Bad, BadRecord{ID: id.Id, Err: fmt.Errorf("nexudus: record %d of the page (Id %d): %w", i+1, id.Id, err)})
			continue
		}
		if !f.Signed {
			p.Unsigned++
			continue
		}
		p.Records = append(p.Records, f)
	}
	return p, nil
}

// List calls fn for every signed file in q's range, page by page in order,
// and stops at fn's first error, which it returns unwrapped.
//
// Pages are numbered over a list ordered by UpdatedOn, so a file updated
// while List runs moves to the end: it may be seen twice, and the file that
// slides into its old place may be missed. The engine's lookback re-reads
// that window on the next poll.
func (c *Client) List(ctx context.Context, q ListQuery, fn func(File) error) error {
	for page := 1; ; page++ {
		p, err := c.ListPage(ctx, q, page)
		if err != nil {
			return err
		}
		for _, f := range p.Records {
			if err := fn(f); err != nil {
				return err
			}
		}
		// Stop on the server's word, and also on an empty page or past
		// TotalPages, so a server that always says "more" cannot loop us.
		if !p.HasNextPage || len(p.Records)+p.Unsigned == 0 || (p.TotalPages > 0 && page >= p.TotalPages) {
			return nil
		}
	}
}

// Get fetches one full record.
func (c *Client) Get(ctx context.Context, id int64) (*File, error) {
	var f File
	r := request{op: "get file", path: filesPath + "/" + strconv.FormatInt(id, 10)}
	if err := c.getJSON(ctx, r, &f); err != nil {
		return nil, c.wrap(err, "get file %d", id)
	}
	return &f, nil
}
