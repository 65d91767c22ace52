package nexudus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// Terms acceptances (SPEC "Terms acceptances"): which version of a legal
// text each customer accepted (CoworkerLegalContentAudits), and the
// versions themselves (LegalContentAudits). The join is the version's
// UniqueId, which an acceptance names as LegalContentAuditUniqueId.

const (
	acceptancesPath = "/api/sys/coworkerlegalcontentaudits"
	textsPath       = "/api/sys/legalcontentaudits"
)

// The roles the API user needs for terms acceptances. A 403 from their
// endpoints is a *RoleError naming the one that is missing.
const (
	RoleAcceptances = "CoworkerLegalContentAudit-List"
	RoleTexts       = "LegalContentAudit-List"
)

// Acceptance is one CoworkerLegalContentAudit: a customer accepted one
// version of a legal text. JSON names are those of the Nexudus document;
// null strings decode to "".
type Acceptance struct {
	ID         int64  `json:"Id"`
	UniqueID   string `json:"UniqueId"`
	CoworkerID int64  `json:"CoworkerId"`
	BusinessID int64  `json:"BusinessId"`
	// LegalContentType comes as a number or as its name.
	LegalContentType LegalContentType `json:"LegalContentType"`
	Name             string           `json:"Name"`
	// TariffUniqueID is set for TariffTerms only; "" when null.
	TariffUniqueID string `json:"TariffUniqueId"`
	// TextUniqueID is LegalContentAuditUniqueId, the UniqueId of the
	// version accepted; "" when null.
	TextUniqueID string `json:"LegalContentAuditUniqueId"`
	CreatedOn    Time   `json:"CreatedOn"`
	UpdatedOn    Time   `json:"UpdatedOn"`
}

// AcceptancePage is one page of acceptances.
type AcceptancePage struct {
	Records     []Acceptance
	Page        int
	PageSize    int
	TotalItems  int
	TotalPages  int
	HasNextPage bool
	// Bad holds records that did not decode, or have no Id: one bad
	// record must not hide its page.
	Bad []BadRecord `json:",omitempty"`
}

// LegalText is one LegalContentAudit: one version of a legal text, with
// its Content. Its UniqueId is what acceptances name.
type LegalText struct {
	ID               int64            `json:"Id"`
	UniqueID         string           `json:"UniqueId"`
	BusinessID       int64            `json:"BusinessId"`
	Name             string           `json:"Name"`
	Content          string           `json:"Content"`
	Author           string           `json:"Author"`
	LegalContentType LegalContentType `json:"LegalContentType"`
	TariffUniqueID   string           `json:"TariffUniqueId"`
	CreatedOn        Time             `json:"CreatedOn"`
	UpdatedOn        Time             `json:"UpdatedOn"`
}

// TextPage is one page of legal texts.
type TextPage struct {
	Records     []LegalText
	Page        int
	PageSize    int
	TotalItems  int
	TotalPages  int
	HasNextPage bool
	Bad         []BadRecord `json:",omitempty"`
}

// ListAcceptancesPage fetches one page (1-based) of acceptances updated in
// q's range, oldest update first, as ListPage does for files: the same
// page size, bounds (UpdatedFrom rounded down to its minute), location
// filter, rate limits, retries, token refresh and Retry-After. A 403 is a
// *RoleError naming RoleAcceptances.
func (c *Client) ListAcceptancesPage(ctx context.Context, q ListQuery, page int) (*AcceptancePage, error) {
	return listLegalPage(ctx, c, acceptancesPath, "CoworkerLegalContentAudit_", RoleAcceptances, "list acceptances", q, page,
		decodeAcceptancePage, func(p *AcceptancePage) *int { return &p.Page })
}

// ListTextsPage fetches one page (1-based) of legal texts updated in q's
// range, oldest update first, as ListAcceptancesPage does. A 403 is a
// *RoleError naming RoleTexts.
func (c *Client) ListTextsPage(ctx context.Context, q ListQuery, page int) (*TextPage, error) {
	return listLegalPage(ctx, c, textsPath, "LegalContentAudit_", RoleTexts, "list texts", q, page,
		decodeTextPage, func(p *TextPage) *int { return &p.Page })
}

// listLegalPage is one page of a terms-acceptance list: the range filters
// of prefix, a 403 as a *RoleError naming role, the answer decoded record
// by record.
func listLegalPage[P any](ctx context.Context, c *Client, path, prefix, role, what string, q ListQuery, page int,
	decode func(status int, contentType string, body []byte) (*P, error), pageOf func(*P) *int) (*P, error) {
	if page < 1 {
		page = 1
	}
	a, err := c.readList(ctx, path, c.rangeValues(prefix, q, page), what+" page %d", page)
	if err != nil {
		return nil, roleError(err, role)
	}
	defer a.release()
	p, err := decode(a.status, a.contentType, a.body)
	if err != nil {
		return nil, c.wrap(err, what+" page %d", page)
	}
	if n := pageOf(p); *n == 0 {
		*n = page
	}
	return p, nil
}

// GetText fetches one legal text by Id. An unknown Id is ErrNotFound; a
// 403 is a *RoleError naming RoleTexts.
func (c *Client) GetText(ctx context.Context, id int64) (*LegalText, error) {
	var t LegalText
	r := request{op: "get text", path: textsPath + "/" + strconv.FormatInt(id, 10)}
	if err := c.getJSON(ctx, r, &t); err != nil {
		return nil, roleError(c.wrap(err, "get text %d", id), RoleTexts)
	}
	return &t, nil
}

// listAnswer is a list page read into a pooled buffer; release returns
// the buffer once the page is decoded.
type listAnswer struct {
	status      int
	contentType string
	body        []byte
	buf         *bytes.Buffer
}

func (a *listAnswer) release() { putPageBuffer(a.buf) }

// readList runs a list request and reads its answer. Errors are wrapped
// with format and args, which name the operation.
func (c *Client) readList(ctx context.Context, path string, query url.Values, format string, args ...any) (*listAnswer, error) {
	r := request{op: fmt.Sprintf(format, args...), path: path, query: query, accept: "application/json"}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, c.wrap(err, format, args...)
	}
	defer resp.Body.Close()
	a := &listAnswer{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), buf: pageBuffers.Get().(*bytes.Buffer)}
	if a.body, err = readPage(a.buf, resp.Body); err != nil {
		a.release()
		return nil, c.wrap(err, format+": read", args...)
	}
	return a, nil
}

// RoleError is a 403 from an endpoint that needs a role the API user
// lacks. errors.Is(err, ErrForbidden) holds too.
type RoleError struct {
	Role string
	// Err is the 403 with the operation that drew it.
	Err error
}

func (e *RoleError) Error() string {
	msg := fmt.Sprintf("nexudus: the API user lacks the role %s (403)", e.Role)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the 403 itself.
func (e *RoleError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrForbidden) hold even without Err.
func (e *RoleError) Is(target error) bool { return target == ErrForbidden }

// roleError turns a 403 into a *RoleError naming role; other errors pass
// unchanged.
func roleError(err error, role string) error {
	if err == nil || !errors.Is(err, ErrForbidden) {
		return err
	}
	return &RoleError{Role: role, Err: err}
}

// decodeAcceptancePage decodes a list answer of acceptances.
func decodeAcceptancePage(status int, contentType string, body []byte) (*AcceptancePage, error) {
	recs, bad, m, err := decodeRecords(status, contentType, body, func(a *Acceptance) int64 { return a.ID })
	if err != nil {
		return nil, err
	}
	return &AcceptancePage{Records: recs, Page: m.Page, PageSize: m.PageSize, TotalItems: m.TotalItems,
		TotalPages: m.TotalPages, HasNextPage: m.HasNextPage, Bad: bad}, nil
}

// decodeTextPage decodes a list answer of legal texts.
func decodeTextPage(status int, contentType string, body []byte) (*TextPage, error) {
	recs, bad, m, err := decodeRecords(status, contentType, body, func(t *LegalText) int64 { return t.ID })
	if err != nil {
		return nil, err
	}
	return &TextPage{Records: recs, Page: m.Page, PageSize: m.PageSize, TotalItems: m.TotalItems,
		TotalPages: m.TotalPages, HasNextPage: m.HasNextPage, Bad: bad}, nil
}

// pageMeta is the paging of an envelope.
type pageMeta struct {
	Page, PageSize, TotalItems, TotalPages int
	HasNextPage                            bool
}

// decodeRecords decodes a list answer record by record: a record that
// does not decode (an odd time, a wrong type), or that has no Id (null,
// or Id 0: nothing can key it), goes to bad, named by its place and its
// Id when that much is readable, and the rest of the page is kept.
//
// These pages are read record by record always, unlike file pages: they
// are few (only what changed since the cursor), and one path cannot
// disagree with another. (A page decoded in one pass differs on repeated
// keys: encoding/json merges a second "Records" array into the records
// of the first.)
func decodeRecords[T any](status int, contentType string, body []byte, idOf func(*T) int64) ([]T, []BadRecord, pageMeta, error) {
	var env envelope[json.RawMessage]
	if err := httpx.DecodeJSONBytes("nexudus", status, contentType, body, &env); err != nil {
		return nil, nil, pageMeta{}, err
	}
	recs := make([]T, 0, len(env.Records))
	var bad []BadRecord
	for i, raw := range env.Records {
		var rec T
		if err := json.Unmarshal(raw, &rec); err != nil {
			var id struct{ Id int64 }
			_ = json.Unmarshal(raw, &id)
			bad = append(bad, BadRecord{ID: id.Id, Err: fmt.Errorf("nexudus: record %d of the page (Id %d): %w", i+1, id.Id, err)})
			continue
		}
		if idOf(&rec) == 0 {
			what := "no Id"
			if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				what = "null"
			}
			bad = append(bad, BadRecord{Err: fmt.Errorf("nexudus: record %d of the page: %s", i+1, what)})
			continue
		}
		recs = append(recs, rec)
	}
	m := pageMeta{Page: env.pageNumber(), PageSize: env.pageSize(), TotalItems: env.TotalItems,
		TotalPages: env.TotalPages, HasNextPage: env.HasNextPage}
	return recs, bad, m, nil
}

// LegalContentType is the enum name ("TariffTerms"). Nexudus sends it as a
// number or as a name depending on the serializer; both decode to the name,
// and unknown numbers keep their digits so nothing is lost.
type LegalContentType string

// The documented LegalContentType values.
const (
	GeneralTerms  LegalContentType = "GeneralTerms"
	VisitorTerms  LegalContentType = "VisitorTerms"
	CheckoutTerms LegalContentType = "CheckoutTerms"
	PrivacyPolicy LegalContentType = "PrivacyPolicy"
	CookiesPolicy LegalContentType = "CookiesPolicy"
	TariffTerms   LegalContentType = "TariffTerms"
)

var legalContentTypes = []LegalContentType{"", GeneralTerms, VisitorTerms, CheckoutTerms, PrivacyPolicy, CookiesPolicy, TariffTerms}

// UnmarshalJSON accepts 6, "6", "TariffTerms" or null.
func (t *LegalContentType) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*t = ""
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("nexudus: LegalContentType: %w", err)
		}
	}
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	switch {
	case err != nil && len(b) > 0 && b[0] == '"':
		*t = LegalContentType(s)
	case err != nil:
		return fmt.Errorf("nexudus: LegalContentType: not a number or name: %s", httpx.Shorten(string(b), 40))
	case n == 0:
		*t = ""
	case n > 0 && n < len(legalContentTypes):
		*t = legalContentTypes[n]
	default:
		*t = LegalContentType(strconv.Itoa(n))
	}
	return nil
}
