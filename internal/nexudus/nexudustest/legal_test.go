package nexudustest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// The terms acceptances against nexudus-coworkerlegalcontentaudits-search.txt
// (the document), and the texts against the choices written down in
// legal.go.

// docAcceptanceKeys are the keys of the record of the document's "Example
// Response", in its order.
var docAcceptanceKeys = []string{
	"CoworkerId", "BusinessId", "Name", "LegalContentType", "TariffUniqueId", "LegalContentAuditUniqueId",
	"Id", "UpdatedOn", "CreatedOn", "UniqueId", "UpdatedBy", "IsNew", "SystemId", "ToStringText",
	"LocalizationDetails", "CustomFields",
}

// textKeys are a text record's keys (a choice, legal.go): SPEC.md's
// fields, then the tail of the document's record.
var textKeys = []string{
	"BusinessId", "Name", "Content", "Author", "LegalContentType", "TariffUniqueId",
	"Id", "UpdatedOn", "CreatedOn", "UniqueId", "UpdatedBy", "IsNew", "SystemId", "ToStringText",
	"LocalizationDetails", "CustomFields",
}

const (
	acceptancesURL = "/api/sys/coworkerlegalcontentaudits"
	textsURL       = "/api/sys/legalcontentaudits"
)

// orderedKeys returns the keys of a JSON object in the order written.
func orderedKeys(t *testing.T, obj json.RawMessage) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", obj)
	}
	var out []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, k.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// page is a list answer with its records undecoded.
type page struct {
	Records              []json.RawMessage
	CurrentPage          int
	CurrentPageSize      int
	CurrentOrderField    string
	CurrentSortDirection int
	FirstItem, LastItem  int
	PageNumber, PageSize int
	TotalItems           int
	TotalPages           int
	HasNextPage          bool
	HasPreviousPage      bool
}

func (p page) records(t *testing.T) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(p.Records))
	for i, r := range p.Records {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func listLegal(t *testing.T, s *Server, tok, path string, q url.Values) page {
	t.Helper()
	var p page
	decode(t, get(t, s, path+"?"+q.Encode(), tok), http.StatusOK, &p)
	return p
}

func legalIDs(t *testing.T, s *Server, tok, path string, q url.Values) []int64 {
	t.Helper()
	var ids []int64
	for _, r := range listLegal(t, s, tok, path, q).records(t) {
		ids = append(ids, int64(r["Id"].(float64)))
	}
	return ids
}

// The document's "Simple listing" answers its "Example Response": the
// envelope's keys and values, the record's keys in the document's order,
// null for an empty TariffUniqueId, times with a literal Z, and a UniqueId
// that stays the same from answer to answer.
func TestAcceptancesAnswerTheDocumentedRecord(t *testing.T) {
	s := newSim(t, Options{})
	id := s.AddAcceptance(AcceptanceSpec{CoworkerID: 9, BusinessID: 3, Name: "General terms", LegalContentType: 1,
		TextUniqueID: "2f3e4d5c-6b7a-4988-a7b6-c5d4e3f2a1b0", CreatedOn: t0.Add(-5 * 24 * time.Hour), UpdatedOn: t0})
	tok := login(t, s)

	var env map[string]any
	decode(t, get(t, s, acceptancesURL+"?page=1&size=15&orderBy=Name&dir=1", tok), http.StatusOK, &env)
	if got, want := keys(env), without(docEnvelopeKeys); !slices.Equal(got, want) {
		t.Fatalf("envelope keys %v, want %v", got, want)
	}
	for k, want := range map[string]any{"CurrentPage": 1.0, "CurrentPageSize": 15.0, "PageSize": 15.0, "PageNumber": 1.0,
		"TotalItems": 1.0, "TotalPages": 1.0, "FirstItem": 1.0, "LastItem": 1.0, "HasNextPage": false,
		"HasPreviousPage": false, "CurrentOrderField": "Name", "CurrentSortDirection": 1.0} {
		if env[k] != want {
			t.Errorf("%s = %v, want %v", k, env[k], want)
		}
	}

	p := listLegal(t, s, tok, acceptancesURL, url.Values{"page": {"1"}, "size": {"15"}, "orderBy": {"Name"}, "dir": {"1"}})
	if got := orderedKeys(t, p.Records[0]); !slices.Equal(got, docAcceptanceKeys) {
		t.Fatalf("record keys %v, want the document's %v", got, docAcceptanceKeys)
	}
	rec := p.records(t)[0]
	stored := s.Acceptances()[0]
	for k, want := range map[string]any{
		"Id": float64(id), "CoworkerId": 9.0, "BusinessId": 3.0, "Name": "General terms", "LegalContentType": 1.0,
		"TariffUniqueId": nil, "LegalContentAuditUniqueId": "2f3e4d5c-6b7a-4988-a7b6-c5d4e3f2a1b0",
		"UpdatedOn": "2025-01-15T10:30:45Z", "CreatedOn": "2025-01-10T10:30:45Z", "UniqueId": stored.UniqueID,
		"UpdatedBy": s.Username(), "IsNew": false, "SystemId": nil, "ToStringText": "General terms",
		"LocalizationDetails": nil, "CustomFields": nil,
	} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %v", k, rec[k], want)
		}
	}
	again := listLegal(t, s, tok, acceptancesURL, nil).records(t)[0]
	if stored.UniqueID == "" || again["UniqueId"] != stored.UniqueID {
		t.Fatalf("UniqueId %v, then %v: not one per record", rec["UniqueId"], again["UniqueId"])
	}
}

// The four range filters of the document, on both lists (the texts'
// with their prefix, a choice): YYYY-MM-DDTHH:mm, minute resolution, the
// to-bound inclusive to the end of its minute, anything else the
// documented 400; bounds read in the tenant's time when it writes local
// time with a literal Z.
func TestLegalRangeFiltersHaveMinuteResolution(t *testing.T) {
	created, updated := t0, t0.Add(time.Hour) // 10:30:45 and 11:30:45 UTC
	for _, ep := range []struct{ path, prefix string }{
		{acceptancesURL, "CoworkerLegalContentAudit_"},
		{textsURL, "LegalContentAudit_"},
	} {
		for _, tz := range []struct {
			name   string
			opts   Options
			offset time.Duration // of the tenant's wall clock
		}{{"utc", Options{}, 0}, {"local time with Z", Options{LocalTimeWithZ: true}, time.Hour}} {
			t.Run(ep.prefix+tz.name, func(t *testing.T) {
				s := newSim(t, tz.opts)
				var id int64
				if ep.path == acceptancesURL {
					id = s.AddAcceptance(AcceptanceSpec{Name: "a", CreatedOn: created, UpdatedOn: updated})
				} else {
					id = s.AddText(TextSpec{Name: "a", CreatedOn: created, UpdatedOn: updated})
				}
				tok := login(t, s)
				at := func(t time.Time) string { return t.UTC().Add(tz.offset).Format("2006-01-02T15:04") }
				tests := []struct {
					key   string
					value string
					found bool
				}{
					{"from_" + ep.prefix + "UpdatedOn", at(updated), true},
					{"from_" + ep.prefix + "UpdatedOn", at(updated.Add(time.Minute)), false},
					{"to_" + ep.prefix + "UpdatedOn", at(updated), true}, // to the minute's end
					{"to_" + ep.prefix + "UpdatedOn", at(updated.Add(-time.Minute)), false},
					{"from_" + ep.prefix + "CreatedOn", at(created), true},
					{"from_" + ep.prefix + "CreatedOn", at(created.Add(time.Minute)), false},
					{"to_" + ep.prefix + "CreatedOn", at(created), true},
					{"to_" + ep.prefix + "CreatedOn", at(created.Add(-time.Minute)), false},
				}
				for _, tt := range tests {
					ids := legalIDs(t, s, tok, ep.path, url.Values{tt.key: {tt.value}})
					if got := slices.Contains(ids, id); got != tt.found {
						t.Errorf("%s=%s: found %v, want %v", tt.key, tt.value, got, tt.found)
					}
				}
				// The document's range example: a year, newest first.
				doc := url.Values{"from_" + ep.prefix + "UpdatedOn": {"2025-01-01T00:00"}, "to_" + ep.prefix + "UpdatedOn": {"2025-12-31T23:59"},
					"orderBy": {"UpdatedOn"}, "dir": {"-1"}}
				if ids := legalIDs(t, s, tok, ep.path, doc); !slices.Equal(ids, []int64{id}) {
					t.Errorf("the document's range example: %v", ids)
				}
				want := updated.Add(tz.offset).Format("2006-01-02T15:04:05") + "Z"
				if got := listLegal(t, s, tok, ep.path, nil).records(t)[0]["UpdatedOn"]; got != want {
					t.Errorf("UpdatedOn %v, want %s", got, want)
				}

				for _, bad := range []string{"2025-01-15T10:30:45", "2025-01-15", "15/01/2025 10:30", "yesterday"} {
					key := "to_" + ep.prefix + "CreatedOn"
					var body struct {
						Message       string
						Value         any
						WasSuccessful bool
						Errors        []struct {
							AttemptedValue any
							Message        string
							PropertyName   string
						}
					}
					decode(t, get(t, s, ep.path+"?"+key+"="+url.QueryEscape(bad), tok), http.StatusBadRequest, &body)
					if body.WasSuccessful || len(body.Errors) != 1 || body.Errors[0].PropertyName != key ||
						body.Errors[0].AttemptedValue != bad || !strings.HasPrefix(body.Message, key+": ") {
						t.Errorf("%q: 400 body %+v", bad, body)
					}
				}
			})
		}
	}
}

// The document's six filters, paging (page default 1, size default 25)
// and sorting (orderBy, dir 1 or -1, ties by Id).
func TestAcceptanceFiltersSortingAndPaging(t *testing.T) {
	s := newSim(t, Options{})
	type a = AcceptanceSpec
	for i, spec := range []a{
		{ID: 100, CoworkerID: 9, BusinessID: 1, Name: "General terms", LegalContentType: 1, TextUniqueID: "v-general-1"},
		{ID: 101, CoworkerID: 9, BusinessID: 1, Name: "Plan terms", LegalContentType: 6, TariffUniqueID: "T-1", TextUniqueID: "v-plan-1"},
		{ID: 102, CoworkerID: 8, BusinessID: 2, Name: "Privacy policy", LegalContentType: 4, TextUniqueID: "v-privacy-1"},
		{ID: 103, CoworkerID: 8, BusinessID: 1, Name: "Plan terms", LegalContentType: 6, TariffUniqueID: "t-2", TextUniqueID: "v-plan-2"},
		{ID: 104, CoworkerID: 7, BusinessID: 2, Name: "General terms", LegalContentType: 1, TextUniqueID: "v-general-1"},
	} {
		// Created in Id order, updated in reverse; 101 and 102 share
		// their times, so Id breaks the tie.
		minute := time.Duration(i)
		if i == 2 {
			minute = 1
		}
		spec.CreatedOn = t0.Add(minute * time.Minute)
		spec.UpdatedOn = t0.Add(time.Hour - minute*time.Minute)
		s.AddAcceptance(spec)
	}
	tok := login(t, s)
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{100, 101, 102, 103, 104}},
		{"CoworkerLegalContentAudit_Coworker=8", []int64{102, 103}},
		{"CoworkerLegalContentAudit_Business=2", []int64{102, 104}},
		{"CoworkerLegalContentAudit_Name=plan", []int64{101, 103}},
		{"CoworkerLegalContentAudit_Name=example-value&orderBy=Name&dir=1", nil}, // the document's example
		{"CoworkerLegalContentAudit_LegalContentType=6", []int64{101, 103}},
		{"CoworkerLegalContentAudit_LegalContentType=TariffTerms", []int64{101, 103}},
		{"CoworkerLegalContentAudit_LegalContentType=generalterms", []int64{100, 104}},
		{"CoworkerLegalContentAudit_TariffUniqueId=t-1", []int64{101}},
		{"CoworkerLegalContentAudit_LegalContentAuditUniqueId=v-general-1", []int64{100, 104}},
		{"CoworkerLegalContentAudit_Coworker=9&CoworkerLegalContentAudit_LegalContentType=1", []int64{100}},
		{"orderBy=Id&dir=-1", []int64{104, 103, 102, 101, 100}},
		{"orderBy=CreatedOn", []int64{100, 101, 102, 103, 104}},
		{"orderBy=CreatedOn&dir=-1", []int64{104, 103, 102, 101, 100}},
		{"orderBy=UpdatedOn&dir=1", []int64{104, 103, 101, 102, 100}},
		{"orderBy=updatedon&dir=-1", []int64{100, 102, 101, 103, 104}},
		{"orderBy=Name", []int64{100, 104, 101, 103, 102}},
		{"orderBy=Name&dir=-1", []int64{102, 103, 101, 104, 100}},
		{"orderBy=Nonsense", []int64{100, 101, 102, 103, 104}},
		{"orderBy=Id&size=2&page=2", []int64{102, 103}},
		{"orderBy=Id&size=2&page=3", []int64{104}},
		{"orderBy=Id&size=2&page=4", nil},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		if got := legalIDs(t, s, tok, acceptancesURL, q); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
	p := listLegal(t, s, tok, acceptancesURL, url.Values{"size": {"2"}, "page": {"2"}, "orderBy": {"UpdatedOn"}, "dir": {"-1"}})
	if p.CurrentPage != 2 || p.PageSize != 2 || p.TotalItems != 5 || p.TotalPages != 3 || p.FirstItem != 3 || p.LastItem != 4 ||
		!p.HasNextPage || !p.HasPreviousPage || p.CurrentOrderField != "UpdatedOn" || p.CurrentSortDirection != -1 {
		t.Fatalf("page 2 envelope %+v", p)
	}

	for _, bad := range []struct{ query, property string }{
		{"CoworkerLegalContentAudit_Coworker=x", "CoworkerLegalContentAudit_Coworker"},
		{"CoworkerLegalContentAudit_Business=1.5", "CoworkerLegalContentAudit_Business"},
		{"CoworkerLegalContentAudit_LegalContentType=7", "CoworkerLegalContentAudit_LegalContentType"},
		{"CoworkerLegalContentAudit_LegalContentType=Terms", "CoworkerLegalContentAudit_LegalContentType"},
		{"page=0", "page"},
		{"size=x", "size"},
	} {
		var body struct {
			WasSuccessful bool
			Errors        []struct{ PropertyName string }
		}
		decode(t, get(t, s, acceptancesURL+"?"+bad.query, tok), http.StatusBadRequest, &body)
		if body.WasSuccessful || len(body.Errors) != 1 || body.Errors[0].PropertyName != bad.property {
			t.Errorf("%s: 400 %+v", bad.query, body)
		}
	}
}

func TestAcceptanceDefaultPaging(t *testing.T) {
	s := newSim(t, Options{})
	for i := 0; i < 30; i++ {
		s.AddAcceptance(AcceptanceSpec{Name: "Terms"})
	}
	tok := login(t, s)
	p := listLegal(t, s, tok, acceptancesURL, nil)
	if len(p.Records) != DefaultPageSize || p.CurrentPage != 1 || p.CurrentPageSize != DefaultPageSize || p.TotalPages != 2 ||
		!p.HasNextPage || p.CurrentOrderField != "Id" || p.CurrentSortDirection != 1 {
		t.Fatalf("default page %+v", p)
	}
	if p := listLegal(t, s, tok, acceptancesURL, url.Values{"page": {"2"}}); len(p.Records) != 5 || p.HasNextPage {
		t.Fatalf("page 2 %+v", p)
	}
}

// Texts: the record (a choice), the same by id, the 404 (a choice), and
// the filters and sorting of the texts list (choices too).
func TestTextsListAndGet(t *testing.T) {
	for _, asName := range []bool{false, true} {
		s := newSim(t, Options{AuditTypeAsName: asName, FractionalSeconds: true})
		general := s.AddText(TextSpec{ID: 200, BusinessID: 1, Name: "General terms", Content: "# Terms\n\nBe nice.", Author: "Legal",
			LegalContentType: 1, CreatedOn: t0, UpdatedOn: t0.Add(2 * time.Minute)})
		s.AddText(TextSpec{ID: 201, BusinessID: 1, Name: "Plan terms", Content: "Plan", LegalContentType: 6, TariffUniqueID: "T-1",
			CreatedOn: t0.Add(time.Minute)})
		s.AddText(TextSpec{ID: 202, BusinessID: 2, Name: "Privacy", Content: "Privacy", LegalContentType: 4, CreatedOn: t0.Add(-time.Minute)})
		tok := login(t, s)

		one := body(t, get(t, s, textsURL+"/"+itoa(general), tok), http.StatusOK)
		if got := orderedKeys(t, one); !slices.Equal(got, textKeys) {
			t.Fatalf("text keys %v, want %v", got, textKeys)
		}
		var rec map[string]any
		_ = json.Unmarshal(one, &rec)
		wantType := any(1.0)
		if asName {
			wantType = "GeneralTerms"
		}
		for k, want := range map[string]any{"Id": 200.0, "BusinessId": 1.0, "Name": "General terms", "Content": "# Terms\n\nBe nice.",
			"Author": "Legal", "LegalContentType": wantType, "TariffUniqueId": nil, "UniqueId": s.Texts()[0].UniqueID,
			"CreatedOn": "2025-01-15T10:30:45.0000000Z", "UpdatedOn": "2025-01-15T10:32:45.0000000Z"} {
			if rec[k] != want {
				t.Errorf("%s = %v, want %v", k, rec[k], want)
			}
		}
		listed := listLegal(t, s, tok, textsURL, nil)
		if !bytes.Equal(listed.Records[0], one) {
			t.Errorf("listed %s\nby id  %s", listed.Records[0], one)
		}

		for _, path := range []string{"/999999", "/x"} {
			var nf map[string]any
			decode(t, get(t, s, textsURL+path, tok), http.StatusNotFound, &nf)
			if nf["Message"] != "LegalContentAudit not found" {
				t.Errorf("%s: 404 %v", path, nf)
			}
		}

		uid := s.Texts()[1].UniqueID
		for _, tt := range []struct {
			query string
			want  []int64
		}{
			{"", []int64{200, 201, 202}},
			{"LegalContentAudit_Business=1", []int64{200, 201}},
			{"LegalContentAudit_Name=TERMS", []int64{200, 201}},
			{"LegalContentAudit_LegalContentType=PrivacyPolicy", []int64{202}},
			{"LegalContentAudit_LegalContentType=6", []int64{201}},
			{"LegalContentAudit_TariffUniqueId=t-1", []int64{201}},
			{"LegalContentAudit_UniqueId=" + strings.ToUpper(uid), []int64{201}},
			{"orderBy=CreatedOn", []int64{202, 200, 201}},
			{"orderBy=UpdatedOn&dir=1", []int64{202, 201, 200}},
			{"orderBy=UpdatedOn&dir=-1", []int64{200, 201, 202}},
			{"orderBy=Name&dir=-1", []int64{202, 201, 200}},
			{"size=1&page=2", []int64{201}},
		} {
			q, _ := url.ParseQuery(tt.query)
			if got := legalIDs(t, s, tok, textsURL, q); !slices.Equal(got, tt.want) {
				t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
			}
		}
		for _, bad := range []string{"LegalContentAudit_Business=x", "LegalContentAudit_LegalContentType=0", "from_LegalContentAudit_UpdatedOn=2025"} {
			var b map[string]any
			decode(t, get(t, s, textsURL+"?"+bad, tok), http.StatusBadRequest, &b)
		}
		if s.Count(RouteTexts) != 16 || s.Count(RouteTextGet) != 3 {
			t.Errorf("counts %v", s.Counts())
		}
	}
}

// Add, update and delete, as an administrator would: defaults, a stable
// UniqueId, UpdatedOn moved by an edit unless the edit sets it.
func TestLegalMutations(t *testing.T) {
	s := newSim(t, Options{})
	id := s.AddAcceptance(AcceptanceSpec{Name: "Terms"})
	a := s.Acceptances()[0]
	if a.ID != id || a.UniqueID == "" || !a.CreatedOn.Equal(t0) || !a.UpdatedOn.Equal(t0) {
		t.Fatalf("defaults %+v", a)
	}
	if late := s.AddAcceptance(AcceptanceSpec{UpdatedOn: t0.Add(-time.Hour)}); !s.Acceptances()[1].CreatedOn.Equal(t0.Add(-time.Hour)) || late != id+1 {
		t.Fatalf("CreatedOn from UpdatedOn: %+v", s.Acceptances()[1])
	}
	s.Advance(time.Minute)
	if !s.UpdateAcceptance(id, func(a *AcceptanceSpec) { a.Name, a.UniqueID, a.ID = "Edited", "", 5 }) {
		t.Fatal("UpdateAcceptance")
	}
	if b := s.Acceptances()[0]; b.ID != id || b.UniqueID != a.UniqueID || b.Name != "Edited" || !b.UpdatedOn.Equal(t0.Add(time.Minute)) || !b.CreatedOn.Equal(t0) {
		t.Fatalf("after the edit %+v", b)
	}
	explicit := t0.Add(-time.Hour)
	s.UpdateAcceptance(id, func(a *AcceptanceSpec) { a.UpdatedOn = explicit })
	if b := s.Acceptances()[0]; !b.UpdatedOn.Equal(explicit) {
		t.Fatal("explicit UpdatedOn overwritten")
	}
	if !s.DeleteAcceptance(id) || s.DeleteAcceptance(id) || s.UpdateAcceptance(id, func(*AcceptanceSpec) {}) || len(s.Acceptances()) != 1 {
		t.Fatal("DeleteAcceptance")
	}

	tid := s.AddText(TextSpec{ID: 7000, Name: "Terms", Content: "v1"})
	if got := s.AddFile(FileSpec{}); got != 7001 {
		t.Fatalf("ids are shared by every record: %d", got)
	}
	s.Advance(time.Minute)
	s.UpdateText(tid, func(t *TextSpec) { t.Content = "v2" })
	tok := login(t, s)
	var rec map[string]any
	decode(t, get(t, s, textsURL+"/7000", tok), http.StatusOK, &rec)
	if rec["Content"] != "v2" || rec["UpdatedOn"] != "2025-01-15T10:32:45Z" || rec["CreatedOn"] != "2025-01-15T10:31:45Z" ||
		rec["UniqueId"] != s.Texts()[0].UniqueID {
		t.Fatalf("after the edit %v", rec)
	}
	if !s.DeleteText(tid) || s.DeleteText(tid) || s.UpdateText(tid, func(*TextSpec) {}) || len(s.Texts()) != 0 {
		t.Fatal("DeleteText")
	}
	resp := get(t, s, textsURL+"/7000", tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted text: %d", resp.StatusCode)
	}
}

// DenyRole: the routes that need the role answer 403 naming it (after
// authentication), the others are untouched, AllowRole gives it back.
func TestDenyRole(t *testing.T) {
	paths := map[Route]string{
		RouteAudits:  acceptancesURL,
		RouteTexts:   textsURL,
		RouteTextGet: textsURL + "/1",
		RouteList:    "/api/spaces/coworkerdatafiles",
	}
	for _, tt := range []struct {
		role   string
		denied []Route
	}{
		{"CoworkerLegalContentAudit-List", []Route{RouteAudits}},
		{"LegalContentAudit-List", []Route{RouteTexts, RouteTextGet}},
		{"CoworkerDataFile-List", []Route{RouteList}},
	} {
		t.Run(tt.role, func(t *testing.T) {
			s := newSim(t, Options{})
			s.AddText(TextSpec{ID: 1, Name: "Terms"})
			tok := login(t, s)
			s.DenyRole(tt.role)
			for route, path := range paths {
				resp := get(t, s, path, tok)
				if !slices.Contains(tt.denied, route) {
					body(t, resp, http.StatusOK)
					continue
				}
				var b map[string]any
				decode(t, resp, http.StatusForbidden, &b)
				if msg, _ := b["Message"].(string); !strings.Contains(msg, "have the "+tt.role+" role") {
					t.Errorf("%s: 403 %v", route, b)
				}
				body(t, get(t, s, path, ""), http.StatusUnauthorized) // no token: 401 first
				if s.Count(route) != 2 {
					t.Errorf("%s: %d requests counted", route, s.Count(route))
				}
			}
			s.AllowRole(tt.role)
			for _, route := range tt.denied {
				body(t, get(t, s, paths[route], tok), http.StatusOK)
			}
		})
	}
}

// The simulator's faults and throttling apply to the legal routes too.
func TestLegalRoutesFaultsAndThrottling(t *testing.T) {
	s := newSim(t, Options{})
	s.AddText(TextSpec{ID: 1, Name: "Terms"})
	tok := login(t, s)
	for route, path := range map[Route]string{RouteAudits: acceptancesURL, RouteTexts: textsURL, RouteTextGet: textsURL + "/1"} {
		s.FailNext(route, 1, Fault{Status: 503, RetryAfter: "3"})
		resp := get(t, s, path, tok)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "3" {
			t.Errorf("%s: fault answered %d %q", route, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		s.ThrottleNext(1, 30*time.Second)
		resp = get(t, s, path, tok)
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict || resp.Header.Get("Retry-After") != "30" {
			t.Errorf("%s: throttle answered %d %q", route, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		s.Advance(30 * time.Second)
		body(t, get(t, s, path, tok), http.StatusOK)
		if n := s.Count(route); n != 3 {
			t.Errorf("%s: %d requests counted", route, n)
		}
	}
}
