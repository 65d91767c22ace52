package nexudustest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd"
)

// The simulator against the payloads recorded from the Nexudus documents
// (testdata/api/nexudus, see its README.md). The client's contract tests
// decode the same files, so a simulator answer that passes here is one
// the client has been shown to read.

func recorded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := syncd.APIPayload("nexudus/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// body reads an answer that must have the given status.
func body(t *testing.T, resp *http.Response, status int) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", resp.Request.URL.Path, resp.StatusCode, status, b)
	}
	return b
}

// sameShape fails unless got has the shape of the named recordings.
func sameShape(t *testing.T, what string, got []byte, rules syncd.ShapeRules, names ...string) {
	t.Helper()
	var recs [][]byte
	for _, n := range names {
		recs = append(recs, recorded(t, n))
	}
	diffs, err := syncd.ShapeDiff(got, rules, recs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Errorf("%s differs in shape from %s:\n  %s\nanswer: %s", what, strings.Join(names, ", "), strings.Join(diffs, "\n  "), got)
	}
}

// sameJSON fails unless got and the recording are the same JSON value.
func sameJSON(t *testing.T, what string, got []byte, name string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v: %s", what, err, got)
	}
	if err := json.Unmarshal(recorded(t, name), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s is not the recorded %s:\n got %s", what, name, got)
	}
}

// fullSpec sets every field, so that no value of the rendering is null
// only because it was left empty; bareSpec leaves them all empty.
var (
	fullSpec = FileSpec{
		BusinessID: 1432, BusinessName: "Coworking Main Street", CoworkerID: 90817, CoworkerFullName: "Ada Lovelace",
		CoworkerCompanyName: "Lovelace Ltd", CoworkerBillingName: "Ada Lovelace", CoworkerType: "Individual",
		Name: "Membership agreement 2025", Description: "notes", FileName: "membership-agreement.docx", Data: []byte("docx"),
		SignedFileName: "membership-agreement-signed.pdf", SignedData: []byte("%PDF-"), Signed: true, Billed: true,
		AvailableToUser: true, RequestDigitalSignature: true, EsignIdentifier: "env-7f3a9c",
		DocumentTemplateGuid: "0c9f4d0e-2b1e-4a8e-9f7c-6a1d2e3f4a5b", ProposalGuid: "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6",
		CoworkerContractGuid: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", UniqueID: "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
		CreatedOn: t0.Add(-5 * 24 * time.Hour),
	}
	bareSpec = FileSpec{Name: "bare"}
)

const listPath = "/api/spaces/coworkerdatafiles?page=1&size=15&orderBy=UpdatedOn&dir=1"

var listTimes = []string{"Records[].UpdatedOn", "Records[].CreatedOn"}

// The listing answers partial records: the document's example less the
// three fields its text says the listing leaves out, as recorded. Times are
// written as the document writes them.
func TestListPageHasTheRecordedShape(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		times syncd.ShapeRules
		from  []string // the recordings the time layouts come from
	}{
		{"utc", Options{}, syncd.ShapeRules{Layouts: listTimes}, []string{"list_page_partial.json"}},
		{"local time with a literal Z", Options{LocalTimeWithZ: true}, syncd.ShapeRules{Layouts: listTimes}, []string{"list_page_partial.json"}},
		// Not in the document: .NET's seven digits, as list_page.json has
		// them in its first UpdatedOn.
		{"fractional seconds", Options{FractionalSeconds: true}, syncd.ShapeRules{Layouts: listTimes[:1]},
			[]string{"list_page_partial.json", "list_page.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, tt.opts)
			s.AddFile(fullSpec)
			s.AddFile(bareSpec)
			got := body(t, get(t, s, listPath, login(t, s)), http.StatusOK)
			sameShape(t, "list page", got, syncd.ShapeRules{}, "list_page_partial.json", "list_page.json")
			sameShape(t, "list page times", got, tt.times, tt.from...)
		})
	}
}

// Against the document's example as printed (full records in the list),
// exactly the three fields the listing leaves out are missing: the
// comparison sees a drift of the record's fields, and the simulator keeps
// the trap of partial list records.
func TestListPageLacksWhatTheListingLeavesOut(t *testing.T) {
	s := newSim(t, Options{})
	s.AddFile(fullSpec)
	got := body(t, get(t, s, listPath, login(t, s)), http.StatusOK)
	diffs, err := syncd.ShapeDiff(got, syncd.ShapeRules{}, recorded(t, "list_page_doc.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Records[].AvailableToUser: missing", "Records[].Description: missing", "Records[].RequestDigitalSignature: missing"}
	if !slices.Equal(diffs, want) {
		t.Fatalf("against the printed example: %q, want %q", diffs, want)
	}
}

// The comparison itself: a renamed field, a changed type, a time written
// in another layout and a field added are each reported.
func TestShapeDiffSeesADrift(t *testing.T) {
	s := newSim(t, Options{})
	s.AddFile(fullSpec)
	got := body(t, get(t, s, listPath, login(t, s)), http.StatusOK)
	drifts := map[string]struct {
		edit func(rec map[string]any)
		want string
	}{
		"renamed":    {func(r map[string]any) { r["CoworkerID"] = r["CoworkerId"]; delete(r, "CoworkerId") }, "Records[].CoworkerId: missing"},
		"type":       {func(r map[string]any) { r["Id"] = "87654321" }, "Records[].Id: string, recorded as number"},
		"added":      {func(r map[string]any) { r["Description"] = "" }, "Records[].Description: not in the recordings"},
		"null":       {func(r map[string]any) { r["Signed"] = nil }, "Records[].Signed: null, recorded as bool"},
		"no literal": {func(r map[string]any) { r["UpdatedOn"] = "2025-01-15T10:30:45" }, `Records[].UpdatedOn: layout 9999-99-99A99:99:99 ("2025-01-15T10:30:45"), recorded as 9999-99-99A99:99:99A`},
	}
	for name, d := range drifts {
		t.Run(name, func(t *testing.T) {
			var page map[string]any
			if err := json.Unmarshal(got, &page); err != nil {
				t.Fatal(err)
			}
			d.edit(page["Records"].([]any)[0].(map[string]any))
			edited, _ := json.Marshal(page)
			diffs, err := syncd.ShapeDiff(edited, syncd.ShapeRules{Layouts: listTimes}, recorded(t, "list_page_partial.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(diffs, d.want) {
				t.Fatalf("diffs %q lack %q", diffs, d.want)
			}
		})
	}
}

// A record by id is the full record of the document's example.
func TestGetHasTheRecordedFullShape(t *testing.T) {
	s := newSim(t, Options{})
	tok := login(t, s)
	for _, spec := range []FileSpec{fullSpec, bareSpec} {
		id := s.AddFile(spec)
		got := body(t, get(t, s, "/api/spaces/coworkerdatafiles/"+itoa(id), tok), http.StatusOK)
		sameShape(t, "record "+spec.Name, got, syncd.ShapeRules{Layouts: []string{"UpdatedOn", "CreatedOn"}}, "coworkerdatafile.json")
	}
}

// The acceptances list is the document's example (audits_list.json, from
// nexudus-coworkerlegalcontentaudits-search.txt): envelope, record members
// and their types, and times as the document writes them, the trap of
// local time with a literal Z too.
func TestAuditsHaveTheRecordedShape(t *testing.T) {
	path := "/api/sys/coworkerlegalcontentaudits?page=1&size=15&orderBy=Name&dir=1"
	add := func(s *Server) {
		s.AddAcceptance(AcceptanceSpec{CoworkerID: 5, BusinessID: 1, Name: "Plan terms", LegalContentType: 6,
			TariffUniqueID: "7a1c0e2f-3b4d-4e5f-8a9b-0c1d2e3f4a5b", TextUniqueID: "2f3e4d5c-6b7a-4988-a7b6-c5d4e3f2a1b0"})
		s.AddAcceptance(AcceptanceSpec{CoworkerID: 5, BusinessID: 1, Name: "Privacy", LegalContentType: 4,
			CreatedOn: t0.Add(-time.Hour), UpdatedOn: t0})
	}
	for _, opts := range []Options{{}, {LocalTimeWithZ: true}} {
		s := newSim(t, opts)
		add(s)
		got := body(t, get(t, s, path, login(t, s)), http.StatusOK)
		sameShape(t, "audits page", got, syncd.ShapeRules{Layouts: listTimes}, "audits_list.json")
	}

	// AuditTypeAsName departs from the document on purpose (the client
	// reads both); the comparison says where.
	s := newSim(t, Options{AuditTypeAsName: true})
	add(s)
	got := body(t, get(t, s, path, login(t, s)), http.StatusOK)
	diffs, err := syncd.ShapeDiff(got, syncd.ShapeRules{}, recorded(t, "audits_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Records[].LegalContentType: string, recorded as number"}; !slices.Equal(diffs, want) {
		t.Fatalf("AuditTypeAsName: %q, want %q", diffs, want)
	}
}

// textsReference is the recorded acceptances page with its record's own
// members replaced by those SPEC.md gives a LegalContentAudit (no document
// shows one): the envelope and the record's tail stay the document's.
func textsReference(t *testing.T) []byte {
	t.Helper()
	var page map[string]any
	if err := json.Unmarshal(recorded(t, "audits_list.json"), &page); err != nil {
		t.Fatal(err)
	}
	rec := page["Records"].([]any)[0].(map[string]any)
	for _, k := range []string{"CoworkerId", "LegalContentAuditUniqueId"} {
		if _, ok := rec[k]; !ok {
			t.Fatalf("the recording has no %s any more", k)
		}
		delete(rec, k)
	}
	// BusinessId, Name, LegalContentType and TariffUniqueId are the
	// acceptance's, with their recorded types.
	rec["Content"], rec["Author"] = "", nil
	b, _ := json.Marshal(page)
	return b
}

// The texts list and a text by id have the acceptances' envelope and
// record tail, with the fields SPEC.md lists (a choice, see legal.go).
func TestTextsHaveTheShapeOfTheRecordedAcceptances(t *testing.T) {
	ref := textsReference(t)
	for _, opts := range []Options{{}, {LocalTimeWithZ: true}} {
		s := newSim(t, opts)
		id := s.AddText(TextSpec{BusinessID: 1, Name: "Plan terms", Content: "# Terms\n", Author: "Legal team", LegalContentType: 6,
			TariffUniqueID: "7a1c0e2f-3b4d-4e5f-8a9b-0c1d2e3f4a5b"})
		s.AddText(TextSpec{BusinessID: 1, Name: "Privacy", Content: "Privacy", LegalContentType: 4})
		tok := login(t, s)
		got := body(t, get(t, s, "/api/sys/legalcontentaudits?page=1&size=15&orderBy=Name&dir=1", tok), http.StatusOK)
		diffs, err := syncd.ShapeDiff(got, syncd.ShapeRules{Layouts: listTimes}, ref)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) > 0 {
			t.Errorf("texts page differs in shape:\n  %s\nanswer: %s", strings.Join(diffs, "\n  "), got)
		}
		var refPage struct{ Records []json.RawMessage }
		_ = json.Unmarshal(ref, &refPage)
		one := body(t, get(t, s, "/api/sys/legalcontentaudits/"+itoa(id), tok), http.StatusOK)
		diffs, err = syncd.ShapeDiff(one, syncd.ShapeRules{Layouts: []string{"UpdatedOn", "CreatedOn"}}, refPage.Records[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) > 0 {
			t.Errorf("text differs in shape:\n  %s\nanswer: %s", strings.Join(diffs, "\n  "), one)
		}
	}
}

func TestCreateAnswersAreTheRecordedOnes(t *testing.T) {
	s := newSim(t, Options{})
	tok := login(t, s)
	post := func(b string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/spaces/coworkerdatafiles", strings.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// The document's 400 is the answer to a create without its Name.
	sameJSON(t, "400 without Name", body(t, post(`{"BusinessId":1,"CoworkerId":2}`), http.StatusBadRequest), "validation_400.json")
	sameShape(t, "400 without anything", body(t, post(`{}`), http.StatusBadRequest), syncd.ShapeRules{}, "validation_400.json")
	// Every validation answer has the same shape, a list's bad paging too.
	sameShape(t, "400 of a list", body(t, get(t, s, "/api/spaces/coworkerdatafiles?size=x", tok), http.StatusBadRequest),
		syncd.ShapeRules{}, "validation_400.json")

	got := body(t, post(`{"BusinessId":1,"CoworkerId":2,"Name":"Lease"}`), http.StatusOK)
	sameShape(t, "200 of a create", got, syncd.ShapeRules{Layouts: []string{"UpdatedOn"}}, "create_200.json")
	var ok, want struct{ Status, Message any }
	_ = json.Unmarshal(got, &ok)
	_ = json.Unmarshal(recorded(t, "create_200.json"), &want)
	if ok != want {
		t.Errorf("create: %+v, recorded %+v", ok, want)
	}
}

func TestTokenAnswersAreTheRecordedOnes(t *testing.T) {
	s := newSim(t, Options{})
	token := func(v url.Values) *http.Response {
		resp, err := s.Client().PostForm(s.URL+"/api/token", v)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	got := body(t, token(url.Values{"grant_type": {"password"}, "username": {s.Username()}, "password": {s.Password()}}), http.StatusOK)
	sameShape(t, "token", got, syncd.ShapeRules{Layouts: []string{".issued", ".expires"}}, "token.json")

	got = body(t, token(url.Values{"grant_type": {"password"}, "username": {s.Username()}, "password": {"wrong"}}), http.StatusBadRequest)
	if !bytes.Equal(got, recorded(t, "token_invalid_grant.json")) {
		t.Errorf("wrong password: %s", got)
	}

	// Throttled, the token route like any other: 409 (or 429) with
	// Retry-After and the recorded body.
	for _, status := range []int{http.StatusConflict, http.StatusTooManyRequests} {
		s := newSim(t, Options{ThrottleStatus: status})
		s.ThrottleNext(1, 30*time.Second)
		resp, err := s.Client().PostForm(s.URL+"/api/token", url.Values{"grant_type": {"password"}})
		if err != nil {
			t.Fatal(err)
		}
		got := body(t, resp, status)
		if resp.Header.Get("Retry-After") != "30" || !bytes.Equal(got, recorded(t, "throttled.json")) {
			t.Errorf("throttled %d: Retry-After %q, body %s", status, resp.Header.Get("Retry-After"), got)
		}
	}

	if got := body(t, get(t, s, listPath, "forged"), http.StatusUnauthorized); !bytes.Equal(got, recorded(t, "unauthorized.json")) {
		t.Errorf("401: %s", got)
	}
}

func TestHTMLErrorPageIsTheRecordedOne(t *testing.T) {
	s := newSim(t, Options{})
	tok := login(t, s)
	page := string(recorded(t, "error_page.html"))
	for status, want := range map[int]string{
		500: page,
		503: strings.ReplaceAll(page, "500 - Internal Server Error", "503 - Service Unavailable"),
	} {
		s.FailNext(RouteList, 1, Fault{HTML: true, Status: status})
		resp := get(t, s, listPath, tok)
		if got := string(body(t, resp, status)); got != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("HTML %d (%s):\n%s", status, resp.Header.Get("Content-Type"), got)
		}
	}
	if !strings.Contains(page, "500 - Internal Server Error") {
		t.Fatal("the recorded page no longer names its status as the simulator expects")
	}
}
