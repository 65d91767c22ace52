package nexudus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// legalLister is one of the two legal lists, seen the same way, so that
// every test of the request path runs on both.
type legalLister struct {
	name   string
	prefix string
	route  nexudustest.Route
	role   string
	// add stores a record updated at updated in business; list lists a
	// page and returns its Ids.
	add  func(s *nexudustest.Server, updated time.Time, business int64) int64
	list func(c *Client, ctx context.Context, q ListQuery, page int) ([]int64, pageMeta, []BadRecord, error)
}

var legalListers = []legalLister{
	{
		name: "acceptances", prefix: "CoworkerLegalContentAudit_", route: nexudustest.RouteAudits, role: RoleAcceptances,
		add: func(s *nexudustest.Server, updated time.Time, business int64) int64 {
			return s.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 9, BusinessID: business, Name: "Terms", LegalContentType: 1,
				CreatedOn: updated, UpdatedOn: updated})
		},
		list: func(c *Client, ctx context.Context, q ListQuery, page int) ([]int64, pageMeta, []BadRecord, error) {
			p, err := c.ListAcceptancesPage(ctx, q, page)
			if err != nil {
				return nil, pageMeta{}, nil, err
			}
			var ids []int64
			for _, a := range p.Records {
				ids = append(ids, a.ID)
			}
			return ids, pageMeta{p.Page, p.PageSize, p.TotalItems, p.TotalPages, p.HasNextPage}, p.Bad, nil
		},
	},
	{
		name: "texts", prefix: "LegalContentAudit_", route: nexudustest.RouteTexts, role: RoleTexts,
		add: func(s *nexudustest.Server, updated time.Time, business int64) int64 {
			return s.AddText(nexudustest.TextSpec{BusinessID: business, Name: "Terms", Content: "# Terms", LegalContentType: 1,
				CreatedOn: updated, UpdatedOn: updated})
		},
		list: func(c *Client, ctx context.Context, q ListQuery, page int) ([]int64, pageMeta, []BadRecord, error) {
			p, err := c.ListTextsPage(ctx, q, page)
			if err != nil {
				return nil, pageMeta{}, nil, err
			}
			var ids []int64
			for _, t := range p.Records {
				ids = append(ids, t.ID)
			}
			return ids, pageMeta{p.Page, p.PageSize, p.TotalItems, p.TotalPages, p.HasNextPage}, p.Bad, nil
		},
	},
}

// queries returns the queries of every request the simulator got on route.
func queries(s *nexudustest.Server, route nexudustest.Route) []url.Values {
	var out []url.Values
	for _, r := range s.Requests() {
		if r.Route == route {
			out = append(out, r.Query)
		}
	}
	return out
}

// The query each list sends, and the trap of minute resolution: a cursor
// later in the record's minute still finds it.
func TestLegalListsSendTheQuery(t *testing.T) {
	for _, l := range legalListers {
		t.Run(l.name, func(t *testing.T) {
			e := newEnv(t, nexudustest.Options{}, nil)
			id := l.add(e.sim, t0, 1) // 10:30:45
			l.add(e.sim, t0.Add(-time.Minute), 1)
			ctx := context.Background()

			from := time.Date(2025, 1, 15, 10, 30, 59, 999, time.UTC)
			ids, m, _, err := l.list(e.c, ctx, ListQuery{UpdatedFrom: from}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 || ids[0] != id || m.Page != 1 || m.TotalItems != 1 {
				t.Fatalf("ids %v, page %+v", ids, m)
			}
			want := url.Values{
				"page": {"1"}, "size": {"100"}, "orderBy": {"UpdatedOn"}, "dir": {"1"},
				"from_" + l.prefix + "UpdatedOn": {"2025-01-15T10:30"},
			}
			if got := queries(e.sim, l.route)[0]; got.Encode() != want.Encode() {
				t.Fatalf("query %v\nwant  %v", got, want)
			}

			// An upper bound, a location and a non-UTC cursor; page 0 is 1.
			paris := time.FixedZone("CET", 3600)
			if _, m, _, err = l.list(e.c, ctx, ListQuery{
				UpdatedFrom: time.Date(2025, 1, 15, 11, 29, 1, 0, paris),
				UpdatedTo:   time.Date(2025, 1, 15, 12, 0, 30, 0, time.UTC),
				Business:    42,
			}, 0); err != nil || m.Page != 1 {
				t.Fatalf("page %+v: %v", m, err)
			}
			want = url.Values{
				"page": {"1"}, "size": {"100"}, "orderBy": {"UpdatedOn"}, "dir": {"1"},
				"from_" + l.prefix + "UpdatedOn": {"2025-01-15T10:29"},
				"to_" + l.prefix + "UpdatedOn":   {"2025-01-15T12:00"},
				l.prefix + "Business":            {"42"},
			}
			if got := queries(e.sim, l.route)[1]; got.Encode() != want.Encode() {
				t.Fatalf("query %v\nwant  %v", got, want)
			}

			// CreatedOn bounds, for a month listed whole.
			if _, _, _, err := l.list(e.c, ctx, ListQuery{CreatedFrom: time.Date(2025, 1, 1, 0, 0, 30, 0, time.UTC),
				CreatedTo: time.Date(2025, 1, 31, 23, 59, 0, 0, time.UTC)}, 1); err != nil {
				t.Fatal(err)
			}
			q := queries(e.sim, l.route)[2]
			if q.Get("from_"+l.prefix+"CreatedOn") != "2025-01-01T00:00" || q.Get("to_"+l.prefix+"CreatedOn") != "2025-01-31T23:59" ||
				q.Has("from_"+l.prefix+"UpdatedOn") {
				t.Fatalf("query %v", q)
			}

			// Nothing but paging and order for a zero query.
			if _, _, _, err := l.list(e.c, ctx, ListQuery{}, 3); err != nil {
				t.Fatal(err)
			}
			if got := queries(e.sim, l.route)[3].Encode(); got != "dir=1&orderBy=UpdatedOn&page=3&size=100" {
				t.Fatalf("zero query %s", got)
			}

			// A bound the filter's format cannot carry: the documented 400.
			_, _, _, err = l.list(e.c, ctx, ListQuery{UpdatedFrom: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)}, 1)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Errors[0].PropertyName != "from_"+l.prefix+"UpdatedOn" || !strings.Contains(err.Error(), "list "+l.name+" page 1") {
				t.Fatalf("err %v", err)
			}
		})
	}
}

// Pages in UpdatedOn order to the end, the location filter applied.
func TestLegalListsPage(t *testing.T) {
	for _, l := range legalListers {
		t.Run(l.name, func(t *testing.T) {
			e := newEnv(t, nexudustest.Options{}, func(c *Config) { c.PageSize = 2 })
			var want []int64
			for i := 0; i < 5; i++ {
				// Added newest first: the order is UpdatedOn's, not Id's.
				want = append([]int64{l.add(e.sim, t0.Add(time.Duration(10-i)*time.Minute), 7)}, want...)
			}
			l.add(e.sim, t0, 8)
			var got []int64
			for page := 1; ; page++ {
				ids, m, bad, err := l.list(e.c, context.Background(), ListQuery{Business: 7}, page)
				if err != nil {
					t.Fatal(err)
				}
				if m.Page != page || m.PageSize != 2 || m.TotalItems != 5 || m.TotalPages != 3 || len(bad) != 0 {
					t.Fatalf("page %d: %+v, bad %v", page, m, bad)
				}
				got = append(got, ids...)
				if !m.HasNextPage {
					break
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("listed %v, want %v", got, want)
			}
			if n := e.sim.Count(l.route); n != 3 {
				t.Fatalf("%d requests", n)
			}
		})
	}
}

// Every field, every time form the simulator knows (the trap: local time
// with a literal Z reads an hour late, taken at face value), and the type
// as a number or a name.
func TestLegalRecordsDecode(t *testing.T) {
	at := time.Date(2025, 1, 15, 10, 0, 5, 123456700, time.UTC)
	tests := []struct {
		name string
		opts nexudustest.Options
		want time.Time
	}{
		{"Z", nexudustest.Options{}, at.Truncate(time.Second)},
		{"fraction", nexudustest.Options{FractionalSeconds: true}, at},
		{"local with Z", nexudustest.Options{LocalTimeWithZ: true}, at.Truncate(time.Second).Add(time.Hour)},
		{"type as name", nexudustest.Options{AuditTypeAsName: true}, at.Truncate(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts, nil)
			ctx := context.Background()
			textID := e.sim.AddText(nexudustest.TextSpec{BusinessID: 3, Name: "Plan terms", Content: "# Plan\n\nÉtat: « signé » 😀",
				Author: "Legal", LegalContentType: 6, TariffUniqueID: "tariff-1", CreatedOn: at.Add(-time.Hour), UpdatedOn: at})
			text := e.sim.Texts()[0]
			e.sim.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 9, BusinessID: 3, Name: "Plan terms", LegalContentType: 6,
				TariffUniqueID: "tariff-1", TextUniqueID: text.UniqueID, CreatedOn: at.Add(-time.Hour), UpdatedOn: at})
			e.sim.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 8, BusinessID: 3, Name: "Privacy", LegalContentType: 4,
				CreatedOn: at, UpdatedOn: at})

			ap, err := e.c.ListAcceptancesPage(ctx, ListQuery{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(ap.Records) != 2 || len(ap.Bad) != 0 {
				t.Fatalf("page %+v", ap)
			}
			stored := e.sim.Acceptances()[0]
			a := ap.Records[0]
			if a.ID != stored.ID || a.UniqueID != stored.UniqueID || a.CoworkerID != 9 || a.BusinessID != 3 || a.Name != "Plan terms" ||
				a.LegalContentType != TariffTerms || a.TariffUniqueID != "tariff-1" || a.TextUniqueID != text.UniqueID ||
				!a.UpdatedOn.Equal(tt.want) || !a.CreatedOn.Equal(tt.want.Add(-time.Hour)) || a.UpdatedOn.Location() != time.UTC {
				t.Fatalf("acceptance %+v", a)
			}
			if b := ap.Records[1]; b.LegalContentType != PrivacyPolicy || b.TariffUniqueID != "" || b.TextUniqueID != "" {
				t.Fatalf("null ids decode to \"\": %+v", b)
			}

			tp, err := e.c.ListTextsPage(ctx, ListQuery{}, 1)
			if err != nil || len(tp.Records) != 1 {
				t.Fatalf("texts %+v: %v", tp, err)
			}
			got, err := e.c.GetText(ctx, textID)
			if err != nil {
				t.Fatal(err)
			}
			for _, lt := range []LegalText{tp.Records[0], *got} {
				if lt.ID != textID || lt.UniqueID != text.UniqueID || lt.BusinessID != 3 || lt.Name != "Plan terms" ||
					lt.Content != "# Plan\n\nÉtat: « signé » 😀" || lt.Author != "Legal" || lt.LegalContentType != TariffTerms ||
					lt.TariffUniqueID != "tariff-1" || !lt.UpdatedOn.Equal(tt.want) || !lt.CreatedOn.Equal(tt.want.Add(-time.Hour)) {
					t.Fatalf("text %+v", lt)
				}
			}
		})
	}
}

func TestGetTextNotFound(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	_, err := e.c.GetText(context.Background(), 999999)
	var re *RoleError
	if !errors.Is(err, ErrNotFound) || errors.As(err, &re) || !strings.Contains(err.Error(), "get text 999999") ||
		!strings.Contains(err.Error(), "LegalContentAudit not found") {
		t.Fatalf("err %v", err)
	}
	if n := e.sim.Count(nexudustest.RouteTextGet); n != 1 {
		t.Fatalf("a 404 was sent %d times", n)
	}
}

// A 403 names the role, from each endpoint, is not retried, and holds
// nothing else back: the contracts and the other legal endpoints answer.
func TestLegalRoleErrors(t *testing.T) {
	ctx := context.Background()
	calls := []struct {
		name  string
		route nexudustest.Route
		role  string
		call  func(c *Client) error
	}{
		{"acceptances", nexudustest.RouteAudits, "CoworkerLegalContentAudit-List", func(c *Client) error {
			_, err := c.ListAcceptancesPage(ctx, ListQuery{}, 1)
			return err
		}},
		{"texts", nexudustest.RouteTexts, "LegalContentAudit-List", func(c *Client) error {
			_, err := c.ListTextsPage(ctx, ListQuery{}, 1)
			return err
		}},
		{"text", nexudustest.RouteTextGet, "LegalContentAudit-List", func(c *Client) error {
			_, err := c.GetText(ctx, 1)
			return err
		}},
	}
	for _, tt := range calls {
		for _, how := range []string{"role denied", "fault"} {
			t.Run(tt.name+", "+how, func(t *testing.T) {
				e := newEnv(t, nexudustest.Options{}, nil)
				e.sim.AddText(nexudustest.TextSpec{ID: 1, Name: "Terms"})
				if how == "fault" {
					e.sim.FailNext(tt.route, 1, nexudustest.Fault{Status: http.StatusForbidden})
				} else {
					e.sim.DenyRole(tt.role)
				}
				err := tt.call(e.c)
				noSecrets(t, e.c, err)
				var re *RoleError
				if !errors.As(err, &re) || re.Role != tt.role || !errors.Is(err, ErrForbidden) {
					t.Fatalf("err %T %v, want a *RoleError for %s", err, err, tt.role)
				}
				want := "nexudus: the API user lacks the role " + tt.role + " (403)"
				if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, "HTTP 403") {
					t.Fatalf("message %q, want it to start %q", msg, want)
				}
				if n := e.sim.Count(tt.route); n != 1 {
					t.Fatalf("a 403 was sent %d times", n)
				}
				if err := list(t, e); err != nil {
					t.Fatalf("contracts held back: %v", err)
				}
				for _, other := range calls {
					if other.role != tt.role {
						if err := other.call(e.c); err != nil {
							t.Fatalf("%s held back: %v", other.name, err)
						}
					}
				}
				e.sim.AllowRole(tt.role)
				if err := tt.call(e.c); err != nil {
					t.Fatalf("after AllowRole: %v", err)
				}
			})
		}
	}
}

func TestRoleError(t *testing.T) {
	bare := &RoleError{Role: RoleTexts}
	if !errors.Is(bare, ErrForbidden) || bare.Error() != "nexudus: the API user lacks the role LegalContentAudit-List (403)" {
		t.Fatalf("%v", bare)
	}
	if err := roleError(fmt.Errorf("x: %w", ErrServer), RoleTexts); errors.As(err, &bare) {
		t.Fatalf("a 5xx became %v", err)
	}
	if roleError(nil, RoleTexts) != nil {
		t.Fatal("nil became an error")
	}
}

// Retry-After on the legal routes, as on the files list: a floor for the
// retry, and a hold on the next request after giving up.
func TestLegalRetryAfter(t *testing.T) {
	ctx := context.Background()
	routes := []struct {
		route nexudustest.Route
		call  func(c *Client) error
	}{
		{nexudustest.RouteAudits, func(c *Client) error { _, err := c.ListAcceptancesPage(ctx, ListQuery{}, 1); return err }},
		{nexudustest.RouteTexts, func(c *Client) error { _, err := c.ListTextsPage(ctx, ListQuery{}, 1); return err }},
		{nexudustest.RouteTextGet, func(c *Client) error { _, err := c.GetText(ctx, 1); return err }},
	}
	for _, r := range routes {
		for _, status := range []int{409, 429, 503} {
			t.Run(fmt.Sprint(r.route, " ", status), func(t *testing.T) {
				e := newEnv(t, nexudustest.Options{}, nil)
				e.sim.AddText(nexudustest.TextSpec{ID: 1, Name: "Terms"})
				if err := r.call(e.c); err != nil { // log in first
					t.Fatal(err)
				}
				e.sim.ResetCounts()
				e.sim.FailNext(r.route, 1, nexudustest.Fault{Status: status, RetryAfter: "7"})
				if err := r.call(e.c); err != nil {
					t.Fatal(err)
				}
				if s := e.clock.Sleeps(); len(s) != 1 || s[0] < 7*time.Second {
					t.Fatalf("sleeps %v, want one of at least the 7 s Retry-After", s)
				}
				if n := e.sim.Count(r.route); n != 2 {
					t.Fatalf("%d requests", n)
				}

				// No retry left: the next request still waits it out.
				e.c.cfg.MaxRetries = 0
				e.sim.FailNext(r.route, 1, nexudustest.Fault{Status: status, RetryAfter: "30"})
				if err := r.call(e.c); err == nil {
					t.Fatal("want the call to give up")
				}
				before := len(e.clock.Sleeps())
				if err := r.call(e.c); err != nil {
					t.Fatal(err)
				}
				if s := e.clock.Sleeps()[before:]; len(s) == 0 || s[0] < 30*time.Second {
					t.Fatalf("next request waited %v, want the 30 s Retry-After first", s)
				}
			})
		}
	}
}

// A revoked token draws a 401 on each legal route, one new login, and the
// request again.
func TestLegalTokenRefresh(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	e.sim.AddText(nexudustest.TextSpec{ID: 1, Name: "Terms"})
	ctx := context.Background()
	if err := list(t, e); err != nil {
		t.Fatal(err)
	}
	for i, call := range []func() error{
		func() error { _, err := e.c.ListAcceptancesPage(ctx, ListQuery{}, 1); return err },
		func() error { _, err := e.c.ListTextsPage(ctx, ListQuery{}, 1); return err },
		func() error { _, err := e.c.GetText(ctx, 1); return err },
	} {
		e.sim.RevokeTokens()
		if err := call(); err != nil {
			t.Fatal(err)
		}
		if n := e.sim.Grants("password"); n != i+2 {
			t.Fatalf("call %d: %d logins", i, n)
		}
	}
	for _, route := range []nexudustest.Route{nexudustest.RouteAudits, nexudustest.RouteTexts, nexudustest.RouteTextGet} {
		if n := e.sim.Count(route); n != 2 {
			t.Fatalf("%s: %d requests, want the 401 and one more", route, n)
		}
	}
}

// Records with a bad field, an unreadable Id, no Id or null go to Bad;
// the rest of the page is kept, in order.
func TestLegalPagesKeepGoodRecordsBesideBadOnes(t *testing.T) {
	body := []byte(`{"Records":[
		{"Id":1,"UniqueId":"u-1","LegalContentType":6,"UpdatedOn":"2025-01-15T10:30:00Z"},
		{"Id":2,"UpdatedOn":"the day before yesterday"},
		{"Id":"three","Name":"x"},
		{"Id":4,"LegalContentType":true},
		null,
		{"Name":"no id"},
		{"Id":7,"BusinessId":"seven"},
		{"Id":8,"TariffUniqueId":null,"LegalContentAuditUniqueId":null,"UpdatedOn":null}
	],"CurrentPage":2,"PageSize":8,"TotalItems":16,"TotalPages":2,"HasNextPage":false}`)
	wantBad := []struct {
		id   int64
		text string
	}{
		{2, "record 2 of the page (Id 2): nexudus: unrecognised time \"the day before yesterday\""},
		{0, "record 3 of the page (Id 0)"},
		{4, "record 4 of the page (Id 4): nexudus: LegalContentType"},
		{0, "record 5 of the page: null"},
		{0, "record 6 of the page: no Id"},
		{7, "record 7 of the page (Id 7)"},
	}
	checkBad := func(t *testing.T, bad []BadRecord) {
		t.Helper()
		if len(bad) != len(wantBad) {
			t.Fatalf("bad %v", bad)
		}
		for i, w := range wantBad {
			if bad[i].ID != w.id || !strings.Contains(bad[i].Err.Error(), w.text) {
				t.Errorf("bad %d: %d %v, want %d %q", i, bad[i].ID, bad[i].Err, w.id, w.text)
			}
		}
	}
	ap, err := decodeAcceptancePage(200, "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	if len(ap.Records) != 2 || ap.Records[0].ID != 1 || ap.Records[0].LegalContentType != TariffTerms || ap.Records[1].ID != 8 ||
		ap.Page != 2 || ap.PageSize != 8 || ap.TotalItems != 16 || ap.TotalPages != 2 || ap.HasNextPage {
		t.Fatalf("page %+v", ap)
	}
	checkBad(t, ap.Bad)
	tp, err := decodeTextPage(200, "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Records) != 2 || tp.Records[0].UniqueID != "u-1" || tp.Records[1].ID != 8 {
		t.Fatalf("texts %+v", tp)
	}
	checkBad(t, tp.Bad)

	// Through the client: a page with bad records is a page, not an
	// error; a page that is no JSON is an error.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Sign in</body></html>")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, Auth: AuthBasic, Username: "u", Password: "p4ssword", RequestsPerMinute: -1, RequestsPerHour: -1}, srv.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.ListAcceptancesPage(context.Background(), ListQuery{}, 1)
	if err != nil || len(p.Records) != 2 {
		t.Fatalf("page %+v: %v", p, err)
	}
	checkBad(t, p.Bad)
	for _, err := range []error{
		func() error { _, err := c.ListAcceptancesPage(context.Background(), ListQuery{}, 2); return err }(),
		func() error { _, err := c.ListTextsPage(context.Background(), ListQuery{}, 2); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "not JSON") || !strings.Contains(err.Error(), "page 2") {
			t.Fatalf("HTML page: %v", err)
		}
	}
}
