package nexudus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coworkdocs/syncd"
	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// contract is what syncd relies on from Nexudus, as one read-only suite
// that runs against the simulator (always) and against a real tenant (with
// the contract build tag and credentials, see contract_real_test.go). A
// difference between the two is a bug in the simulator or in the client.
func contract(t *testing.T, c *Client, since time.Time) {
	t.Helper()
	contractLegal(t, c, since)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	p, err := c.ListPage(ctx, ListQuery{UpdatedFrom: since}, 1)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if p.Page != 1 || p.PageSize <= 0 || p.TotalItems < len(p.Records) || len(p.Bad) != 0 {
		t.Fatalf("list envelope: page %d size %d total %d records %d bad %v", p.Page, p.PageSize, p.TotalItems, len(p.Records), p.Bad)
	}
	if len(p.Records) == 0 {
		t.Skipf("no signed file updated since %s to check further", FormatMinute(since))
	}
	var prev time.Time
	for _, f := range p.Records {
		if !f.Signed || f.ID == 0 || f.UpdatedOn.IsZero() {
			t.Fatalf("list record %+v", f)
		}
		// Ascending UpdatedOn, and nothing before the minute asked for.
		if f.UpdatedOn.Before(prev) || f.UpdatedOn.Before(since.Truncate(time.Minute)) {
			t.Fatalf("record %d updated %s out of order or before %s", f.ID, f.UpdatedOn, FormatMinute(since))
		}
		prev = f.UpdatedOn.Time
	}

	first := p.Records[0]
	full, err := c.Get(ctx, first.ID)
	if err != nil {
		t.Fatalf("get %d: %v", first.ID, err)
	}
	if full.ID != first.ID || !full.UpdatedOn.Equal(first.UpdatedOn.Time) || full.SignedFileDataFileName != first.SignedFileDataFileName {
		t.Fatalf("get %d disagrees with its list record:\n%+v\n%+v", first.ID, full, first)
	}

	d, err := c.Download(ctx, first)
	if err != nil {
		t.Fatalf("download %d: %v", first.ID, err)
	}
	n, err := io.Copy(io.Discard, d.Body)
	d.Body.Close()
	if err != nil || n == 0 || (d.Length >= 0 && n != d.Length) {
		t.Fatalf("download %d: %d bytes (announced %d): %v", first.ID, n, d.Length, err)
	}
	if d.FromSignedCopy != (first.SignedFileDataFileName != "") {
		t.Fatalf("download %d: signed copy %v, SignedFileDataFileName %q", first.ID, d.FromSignedCopy, first.SignedFileDataFileName)
	}
}

// contractLegal is the terms acceptances' part of the contract: the
// acceptances updated since since and the legal texts, ascending
// UpdatedOn, and a text by id the same as listed. A tenant whose API user
// lacks a role is told so (a *RoleError) and the rest goes on.
func contractLegal(t *testing.T, c *Client, since time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var re *RoleError
	ap, err := c.ListAcceptancesPage(ctx, ListQuery{UpdatedFrom: since}, 1)
	switch {
	case errors.As(err, &re):
		t.Logf("acceptances not checked: %v", err)
	case err != nil:
		t.Fatalf("list acceptances: %v", err)
	default:
		if ap.Page != 1 || ap.PageSize <= 0 || ap.TotalItems < len(ap.Records) || len(ap.Bad) != 0 {
			t.Fatalf("acceptances envelope: %+v", ap)
		}
		var prev time.Time
		for _, a := range ap.Records {
			if a.ID == 0 || a.UniqueID == "" || a.UpdatedOn.Before(prev) || a.UpdatedOn.Before(since.Truncate(time.Minute)) {
				t.Fatalf("acceptance %+v out of order or before %s", a, FormatMinute(since))
			}
			prev = a.UpdatedOn.Time
		}
	}
	tp, err := c.ListTextsPage(ctx, ListQuery{}, 1)
	switch {
	case errors.As(err, &re):
		t.Logf("texts not checked: %v", err)
		return
	case err != nil:
		t.Fatalf("list texts: %v", err)
	}
	if tp.Page != 1 || tp.TotalItems < len(tp.Records) || len(tp.Bad) != 0 {
		t.Fatalf("texts envelope: %+v", tp)
	}
	if len(tp.Records) == 0 {
		return
	}
	first := tp.Records[0]
	got, err := c.GetText(ctx, first.ID)
	if err != nil {
		t.Fatalf("get text %d: %v", first.ID, err)
	}
	if got.UniqueID != first.UniqueID || got.Content != first.Content || !got.UpdatedOn.Equal(first.UpdatedOn.Time) {
		t.Fatalf("get text %d disagrees with its list record:\n%+v\n%+v", first.ID, got, first)
	}
}

func TestContractAgainstSimulator(t *testing.T) {
	sim := nexudustest.New(nexudustest.Options{RedirectDownloads: true, FractionalSeconds: true})
	defer sim.Close()
	since := sim.Now().Add(-time.Hour)
	sim.AddFile(nexudustest.FileSpec{BusinessID: 1, CoworkerID: 5, Name: "a", FileName: "a.pdf", Data: []byte("a"),
		SignedFileName: "a-signed.pdf", SignedData: []byte("signed a"), Signed: true})
	sim.AddFile(nexudustest.FileSpec{BusinessID: 1, CoworkerID: 5, Name: "b", FileName: "b.pdf", Data: []byte("b")})
	sim.AddText(nexudustest.TextSpec{BusinessID: 1, Name: "Terms", Content: "# Terms", LegalContentType: 1})
	sim.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 5, BusinessID: 1, Name: "Terms", LegalContentType: 1,
		TextUniqueID: sim.Texts()[0].UniqueID})
	c, err := New(Config{BaseURL: sim.URL, Username: sim.Username(), Password: sim.Password()},
		&http.Client{Timeout: time.Minute}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	contract(t, c, since)
}

// The recorded answers (testdata/api/nexudus, see its README.md), taken
// from the Nexudus documents, read by the real client code. The simulator's
// tests hold the simulator to the same files, so the client reads what the
// simulator sends because both read what the documents show.

// payload returns a recorded Nexudus payload.
func payload(name string) ([]byte, error) {
	return syncd.APIPayload("nexudus/" + name)
}

func mustPayload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := payload(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replayed is one recorded answer: the payload name, its status and
// headers.
type replayed struct {
	status int
	name   string
	header map[string]string
}

// replay is a Nexudus that answers each route ("GET /api/...") with its
// recorded answers in turn, the last one again once they run out.
type replay struct {
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string][]replayed
	hits   map[string]int
	auth   []string // Authorization of every API (non-token) request
}

func newReplay(t *testing.T, routes map[string][]replayed) *replay {
	t.Helper()
	r := &replay{routes: routes, hits: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		key := req.Method + " " + req.URL.Path
		r.mu.Lock()
		answers, n := r.routes[key], r.hits[key]
		r.hits[key]++
		if req.URL.Path != "/api/token" {
			r.auth = append(r.auth, req.Header.Get("Authorization"))
		}
		r.mu.Unlock()
		if len(answers) == 0 {
			http.NotFound(w, req)
			return
		}
		a := answers[min(n, len(answers)-1)]
		b := mustPayload(t, a.name)
		ctype := "application/json; charset=utf-8"
		if strings.HasSuffix(a.name, ".html") {
			ctype = "text/html; charset=utf-8"
		}
		w.Header().Set("Content-Type", ctype)
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(b)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *replay) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[key]
}

const replayPassword = "replay-Passw0rd!"

// client is a client of r with a fake clock (no test waits for a
// Retry-After) and no budgets.
func (r *replay) client(t *testing.T, maxRetries int) (*Client, *fakeClock) {
	t.Helper()
	c, err := New(Config{
		BaseURL: r.srv.URL, Username: "admin@example.com", Password: replayPassword,
		RequestsPerMinute: -1, RequestsPerHour: -1, MaxRetries: maxRetries,
		Backoff: httpx.Backoff{Base: time.Millisecond, Max: 10 * time.Millisecond},
	}, r.srv.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeClock{now: t0}
	c.now, c.sleep = fc.Now, fc.Sleep
	return c, fc
}

var (
	tokenOK   = replayed{status: http.StatusOK, name: "token.json", header: map[string]string{"Cache-Control": "no-store"}}
	listRoute = "GET " + filesPath
)

// The listing's partial records, as the document's text says the listing
// answers: the record decodes with the three missing fields at their zero
// values, and the record of the document is not Signed, so it is dropped.
func TestRecordedPartialListPage(t *testing.T) {
	body := mustPayload(t, "list_page_partial.json")
	p, err := decodeListPage(http.StatusOK, "application/json; charset=utf-8", body)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 0 || p.Unsigned != 1 || p.Page != 1 || p.PageSize != 15 || p.TotalItems != 1 || p.TotalPages != 1 || p.HasNextPage {
		t.Fatalf("page %+v", p)
	}
	// The same record, signed: every field the listing gives comes out.
	signed := bytes.Replace(body, []byte(`"Signed": false`), []byte(`"Signed": true`), 1)
	if bytes.Equal(signed, body) {
		t.Fatal(`the recorded page no longer holds "Signed": false`)
	}
	p, err = decodeListPage(http.StatusOK, "application/json; charset=utf-8", signed)
	if err != nil || len(p.Records) != 1 {
		t.Fatalf("signed page %+v, %v", p, err)
	}
	want := File{
		ID: 87654321, UniqueID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890", UpdatedBy: "admin@example.com", Signed: true,
		UpdatedOn: Time{time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)}, CreatedOn: Time{time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)},
	}
	if got := p.Records[0]; !sameFile(got, want) {
		t.Fatalf("record\n got %+v\nwant %+v", got, want)
	}
}

// sameFile compares files with their times by instant.
func sameFile(a, b File) bool {
	if !a.UpdatedOn.Equal(b.UpdatedOn.Time) || !a.CreatedOn.Equal(b.CreatedOn.Time) {
		return false
	}
	a.UpdatedOn, a.CreatedOn, b.UpdatedOn, b.CreatedOn = Time{}, Time{}, Time{}, Time{}
	return reflect.DeepEqual(a, b)
}

// A recorded page through the client: login with the recorded token
// answer, the page with its bearer token, the records as the page has them.
func TestRecordedListPageThroughTheClient(t *testing.T) {
	r := newReplay(t, map[string][]replayed{
		"POST /api/token": {tokenOK},
		listRoute:         {{status: http.StatusOK, name: "list_page.json"}},
	})
	c, _ := r.client(t, 0)
	p, err := c.ListPage(context.Background(), ListQuery{UpdatedFrom: t0}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 2 || p.Unsigned != 1 || p.Page != 2 || p.PageSize != 3 || p.TotalItems != 8 || p.TotalPages != 3 || !p.HasNextPage {
		t.Fatalf("page %+v", p)
	}
	want := File{
		ID: 87654321, BusinessID: 1432, BusinessName: "Coworking Main Street", CoworkerID: 90817, CoworkerFullName: "Ada Lovelace",
		CoworkerBillingName: "Ada Lovelace", CoworkerCoworkerType: "Individual", Name: "Membership agreement 2025",
		FileDataFileName: "membership-agreement.docx", SignedFileDataFileName: "membership-agreement-signed.pdf", Extension: "docx",
		Signed: true, EsignIdentifier: "env-7f3a9c", DocumentTemplateGuid: "0c9f4d0e-2b1e-4a8e-9f7c-6a1d2e3f4a5b",
		CoworkerContractGuid: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", UniqueID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
		UpdatedBy: "admin@example.com",
		UpdatedOn: Time{time.Date(2025, 1, 15, 10, 30, 45, 123456700, time.UTC)}, CreatedOn: Time{time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)},
	}
	if !sameFile(p.Records[0], want) {
		t.Fatalf("record\n got %+v\nwant %+v", p.Records[0], want)
	}
	// "+01:00" is an offset; "2025-01-12T12:00:00.000Z" a fraction of zeros.
	if got := p.Records[1]; got.ID != 87654330 || !got.UpdatedOn.Equal(time.Date(2025, 1, 15, 10, 32, 10, 500000000, time.UTC)) ||
		!got.CreatedOn.Equal(time.Date(2025, 1, 12, 12, 0, 0, 0, time.UTC)) || got.SignedFileDataFileName != "" {
		t.Fatalf("second record %+v", got)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(mustPayload(t, "token.json"), &tok); err != nil {
		t.Fatal(err)
	}
	if len(r.auth) != 1 || r.auth[0] != "Bearer "+tok.AccessToken {
		t.Fatalf("the page was asked for with %q, want the recorded token", r.auth)
	}
}

// The full record by id (the record object of the document's example).
func TestRecordedFullRecordThroughTheClient(t *testing.T) {
	r := newReplay(t, map[string][]replayed{
		"POST /api/token":                {tokenOK},
		"GET " + filesPath + "/87654321": {{status: http.StatusOK, name: "coworkerdatafile.json"}},
	})
	c, _ := r.client(t, 0)
	f, err := c.Get(context.Background(), 87654321)
	if err != nil {
		t.Fatal(err)
	}
	want := File{
		ID: 87654321, UniqueID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890", UpdatedBy: "admin@example.com",
		UpdatedOn: Time{time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)}, CreatedOn: Time{time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)},
	}
	if !sameFile(*f, want) {
		t.Fatalf("record\n got %+v\nwant %+v", *f, want)
	}
	// The document's full record has the fields the listing leaves out,
	// and the client's File has a place for each of them.
	var keys map[string]any
	if err := json.Unmarshal(mustPayload(t, "coworkerdatafile.json"), &keys); err != nil {
		t.Fatal(err)
	}
	tags := map[string]bool{}
	for i, ft := 0, reflect.TypeOf(File{}); i < ft.NumField(); i++ {
		tags[ft.Field(i).Tag.Get("json")] = true
	}
	for _, k := range []string{"Description", "AvailableToUser", "RequestDigitalSignature"} {
		if _, ok := keys[k]; !ok || !tags[k] {
			t.Errorf("%s: in the full record %v, in File %v", k, ok, tags[k])
		}
	}
}

// The document's example of the acceptances list, through the client.
func TestRecordedLegalContentAudits(t *testing.T) {
	r := newReplay(t, map[string][]replayed{
		"POST /api/token":        {tokenOK},
		"GET " + acceptancesPath: {{status: http.StatusOK, name: "audits_list.json"}},
	})
	c, _ := r.client(t, 0)
	p, err := c.ListAcceptancesPage(context.Background(), ListQuery{UpdatedFrom: t0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || len(p.Bad) != 0 || p.Page != 1 || p.PageSize != 15 || p.TotalItems != 1 || p.TotalPages != 1 || p.HasNextPage {
		t.Fatalf("page %+v", p)
	}
	// LegalContentType 0 is none of the documented values: "".
	want := Acceptance{ID: 87654321, UniqueID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
		CreatedOn: Time{time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)}, UpdatedOn: Time{time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)}}
	if a := p.Records[0]; !a.CreatedOn.Equal(want.CreatedOn.Time) || !a.UpdatedOn.Equal(want.UpdatedOn.Time) {
		t.Fatalf("acceptance %+v", a)
	} else if a.CreatedOn, a.UpdatedOn = want.CreatedOn, want.UpdatedOn; a != want {
		t.Fatalf("acceptance\n got %+v\nwant %+v", a, want)
	}
}

// The documented 400 becomes a ValidationError naming the field, and is
// not retried.
func TestRecordedValidationError(t *testing.T) {
	r := newReplay(t, map[string][]replayed{
		"POST /api/token": {tokenOK},
		listRoute:         {{status: http.StatusBadRequest, name: "validation_400.json"}},
	})
	c, _ := r.client(t, 0)
	_, err := c.ListPage(context.Background(), ListQuery{}, 1)
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrBadRequest) {
		t.Fatalf("err %v", err)
	}
	want := []FieldError{{PropertyName: "Name", Message: "is a required field", AttemptedValue: nil}}
	if ve.Status != 400 || ve.Message != "Name: is a required field" || !reflect.DeepEqual(ve.Errors, want) {
		t.Fatalf("validation error %+v", ve)
	}
	if !strings.Contains(err.Error(), "validation failed: Name: is a required field") {
		t.Fatalf("message %q", err)
	}
	if n := r.count(listRoute); n != 1 {
		t.Fatalf("a 400 was sent %d times", n)
	}
}

// The token answers: the recorded token is used; invalid_grant is a
// login refused (not retried); a throttled token request waits its
// Retry-After and tries again, and without retries left is ErrThrottled.
func TestRecordedTokenAnswers(t *testing.T) {
	ctx := context.Background()
	t.Run("invalid grant", func(t *testing.T) {
		r := newReplay(t, map[string][]replayed{
			"POST /api/token": {{status: http.StatusBadRequest, name: "token_invalid_grant.json"}},
			listRoute:         {{status: http.StatusOK, name: "list_page.json"}},
		})
		c, _ := r.client(t, 0)
		_, err := c.ListPage(ctx, ListQuery{}, 1)
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "invalid_grant") ||
			!strings.Contains(err.Error(), "The user name or password is incorrect.") {
			t.Fatalf("err %v", err)
		}
		if strings.Contains(err.Error(), replayPassword) {
			t.Fatalf("password in %q", err)
		}
		if r.count("POST /api/token") != 1 || r.count(listRoute) != 0 {
			t.Fatalf("token %d, list %d requests", r.count("POST /api/token"), r.count(listRoute))
		}
	})
	throttled := replayed{status: http.StatusConflict, name: "throttled.json", header: map[string]string{"Retry-After": "30"}}
	t.Run("throttled, then the token", func(t *testing.T) {
		r := newReplay(t, map[string][]replayed{
			"POST /api/token": {throttled, tokenOK},
			listRoute:         {{status: http.StatusOK, name: "list_page.json"}},
		})
		c, fc := r.client(t, 0)
		if _, err := c.ListPage(ctx, ListQuery{}, 1); err != nil {
			t.Fatal(err)
		}
		var waited time.Duration
		for _, d := range fc.Sleeps() {
			waited += d
		}
		if waited < 30*time.Second || r.count("POST /api/token") != 2 {
			t.Fatalf("waited %v over %d token requests, want at least the Retry-After of 30s", waited, r.count("POST /api/token"))
		}
		tok := c.cached()
		var rec struct {
			Refresh   string `json:"refresh_token"`
			ExpiresIn int    `json:"expires_in"`
		}
		_ = json.Unmarshal(mustPayload(t, "token.json"), &rec)
		if tok == nil || tok.RefreshToken != rec.Refresh || !tok.Expiry.Equal(fc.Now().Add(time.Duration(rec.ExpiresIn)*time.Second)) {
			t.Fatalf("token %+v", tok)
		}
	})
	t.Run("throttled, no retry left", func(t *testing.T) {
		r := newReplay(t, map[string][]replayed{"POST /api/token": {throttled}})
		c, _ := r.client(t, -1)
		_, err := c.ListPage(ctx, ListQuery{}, 1)
		if !errors.Is(err, ErrThrottled) || !strings.Contains(err.Error(), "Too many requests. Please slow down and try again later.") {
			t.Fatalf("err %v", err)
		}
	})
}

// The error answers that are no API payload: a 401 gets one new login and
// then is ErrUnauthorized with the recorded message; an HTML error page
// becomes an excerpt of its text, without markup or CSS.
func TestRecordedErrorAnswers(t *testing.T) {
	ctx := context.Background()
	r := newReplay(t, map[string][]replayed{
		"POST /api/token": {tokenOK},
		listRoute: {{status: http.StatusUnauthorized, name: "unauthorized.json",
			header: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}}},
	})
	c, _ := r.client(t, 0)
	_, err := c.ListPage(ctx, ListQuery{}, 1)
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "Authorization has been denied for this request.") {
		t.Fatalf("401: %v", err)
	}
	if r.count("POST /api/token") != 2 || r.count(listRoute) != 2 {
		t.Fatalf("401: %d logins, %d list requests; want one new login and one more try", r.count("POST /api/token"), r.count(listRoute))
	}

	r = newReplay(t, map[string][]replayed{
		"POST /api/token": {tokenOK},
		listRoute:         {{status: http.StatusInternalServerError, name: "error_page.html"}},
	})
	c, _ = r.client(t, -1)
	_, err = c.ListPage(ctx, ListQuery{}, 1)
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.Status != 500 || !errors.Is(err, ErrServer) {
		t.Fatalf("HTML page: %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "Server Error") || !strings.Contains(msg, "500 - Internal Server Error. The resource cannot be displayed.") ||
		strings.ContainsAny(msg, "<>") || strings.Contains(msg, "font-family") {
		t.Fatalf("HTML page excerpt %q", msg)
	}
}
