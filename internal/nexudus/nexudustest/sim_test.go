package nexudustest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 15, 10, 30, 45, 0, time.UTC)

// docRecordKeys are the keys of the record in the list document's example.
var docRecordKeys = []string{
	"BusinessId", "BusinessName", "CoworkerId", "CoworkerFullName", "CoworkerCoworkerType",
	"CoworkerCompanyName", "CoworkerBillingName", "Name", "Description", "AvailableToUser",
	"RequestDigitalSignature", "FileDataFileName", "NewFileDataUrl", "ClearFileDataFile",
	"SignedFileDataFileName", "NewSignedFileDataUrl", "ClearSignedFileDataFile", "Extension",
	"Billed", "Signed", "EsignIdentifier", "DocumentTemplateGuid", "NotifyWhenSignedEmail",
	"ProposalGuid", "CoworkerContractGuid", "Id", "UpdatedOn", "CreatedOn", "UniqueId",
	"UpdatedBy", "IsNew", "SystemId", "ToStringText", "LocalizationDetails", "CustomFields",
}

var docEnvelopeKeys = []string{
	"Records", "CurrentPageSize", "CurrentPage", "CurrentOrderField", "CurrentSortDirection",
	"FirstItem", "HasNextPage", "HasPreviousPage", "LastItem", "PageNumber", "PageSize",
	"TotalItems", "TotalPages",
}

func newSim(t *testing.T, o Options) *Server {
	t.Helper()
	s := New(o)
	t.Cleanup(s.Close)
	s.SetNow(t0)
	return s
}

func login(t *testing.T, s *Server) string {
	t.Helper()
	resp, err := s.Client().PostForm(s.URL+"/api/token", url.Values{
		"grant_type": {"password"}, "username": {s.Username()}, "password": {s.Password()},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	decode(t, resp, http.StatusOK, &tok)
	if tok["token_type"] != "bearer" || tok["refresh_token"] == "" || tok["expires_in"].(float64) != 3600 {
		t.Fatalf("token answer %v", tok)
	}
	return tok["access_token"].(string)
}

func get(t *testing.T, s *Server, path, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func decode(t *testing.T, resp *http.Response, status int, v any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", resp.Request.URL.Path, resp.StatusCode, status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func without(all []string, drop ...string) []string {
	var out []string
	for _, k := range all {
		if !slices.Contains(drop, k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func TestListEnvelopeAndPartialRecords(t *testing.T) {
	s := newSim(t, Options{})
	id := s.AddFile(FileSpec{BusinessID: 7, CoworkerID: 9, Name: "Contract", FileName: "c.pdf", Data: []byte("x"), Signed: true, Description: "notes"})
	tok := login(t, s)

	var env map[string]any
	decode(t, get(t, s, "/api/spaces/coworkerdatafiles?page=1&size=15&orderBy=Name&dir=1", tok), 200, &env)
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
	rec := env["Records"].([]any)[0].(map[string]any)
	partial := []string{"Description", "AvailableToUser", "RequestDigitalSignature"}
	if got, want := keys(rec), without(docRecordKeys, partial...); !slices.Equal(got, want) {
		t.Fatalf("list record keys %v, want %v", got, want)
	}
	if rec["UpdatedOn"] != "2025-01-15T10:30:45Z" || rec["Extension"] != "pdf" || rec["BusinessName"] != nil {
		t.Fatalf("record %v", rec)
	}

	var full map[string]any
	decode(t, get(t, s, "/api/spaces/coworkerdatafiles/"+itoa(id), tok), 200, &full)
	if got, want := keys(full), without(docRecordKeys); !slices.Equal(got, want) {
		t.Fatalf("full record keys %v, want %v", got, want)
	}
	if full["Description"] != "notes" {
		t.Fatalf("Description = %v", full["Description"])
	}
	resp := get(t, s, "/api/spaces/coworkerdatafiles/999999", tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown id: %d", resp.StatusCode)
	}
}

func itoa(n int64) string { return strings.TrimSpace(strings.Replace(string(mustRaw(n)), `"`, "", -1)) }

func listIDs(t *testing.T, s *Server, tok string, q url.Values) []float64 {
	t.Helper()
	var env struct{ Records []struct{ Id float64 } }
	decode(t, get(t, s, "/api/spaces/coworkerdatafiles?"+q.Encode(), tok), 200, &env)
	var ids []float64
	for _, r := range env.Records {
		ids = append(ids, r.Id)
	}
	return ids
}

func TestMinuteResolutionFilters(t *testing.T) {
	s := newSim(t, Options{})
	id := float64(s.AddFile(FileSpec{Name: "a", Signed: true, UpdatedOn: t0})) // 10:30:45
	tok := login(t, s)
	tests := []struct {
		key, value string
		found      bool
	}{
		{"from_CoworkerDataFile_UpdatedOn", "2025-01-15T10:30", true},
		{"from_CoworkerDataFile_UpdatedOn", "2025-01-15T10:31", false},
		{"to_CoworkerDataFile_UpdatedOn", "2025-01-15T10:30", true}, // to the minute's end
		{"to_CoworkerDataFile_UpdatedOn", "2025-01-15T10:29", false},
		{"from_CoworkerDataFile_CreatedOn", "2025-01-15T10:30", true},
		{"to_CoworkerDataFile_CreatedOn", "2025-01-15T10:29", false},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			ids := listIDs(t, s, tok, url.Values{tt.key: {tt.value}})
			if got := slices.Contains(ids, id); got != tt.found {
				t.Fatalf("found = %v, want %v", got, tt.found)
			}
		})
	}

	for _, bad := range []string{"2025-01-15T10:30:45", "2025-01-15", "15/01/2025 10:30", "yesterday"} {
		t.Run("malformed "+bad, func(t *testing.T) {
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
			decode(t, get(t, s, "/api/spaces/coworkerdatafiles?from_CoworkerDataFile_UpdatedOn="+url.QueryEscape(bad), tok), 400, &body)
			if body.WasSuccessful || len(body.Errors) != 1 || body.Errors[0].PropertyName != "from_CoworkerDataFile_UpdatedOn" ||
				body.Errors[0].AttemptedValue != bad || !strings.HasPrefix(body.Message, "from_CoworkerDataFile_UpdatedOn: ") {
				t.Fatalf("400 body %+v", body)
			}
		})
	}
}

func TestFiltersOrderAndPaging(t *testing.T) {
	s := newSim(t, Options{})
	for i := 0; i < 7; i++ {
		s.AddFile(FileSpec{ID: int64(100 + i), BusinessID: int64(1 + i%2), Name: string(rune('g' - i)), Signed: i != 3,
			UpdatedOn: t0.Add(time.Duration(7-i) * time.Minute)})
	}
	tok := login(t, s)
	if got := listIDs(t, s, tok, url.Values{"orderBy": {"UpdatedOn"}, "dir": {"1"}}); !slices.Equal(got, []float64{106, 105, 104, 103, 102, 101, 100}) {
		t.Fatalf("UpdatedOn asc: %v", got)
	}
	if got := listIDs(t, s, tok, url.Values{"orderBy": {"Id"}, "dir": {"-1"}, "CoworkerDataFile_Signed": {"true"}}); !slices.Equal(got, []float64{106, 105, 104, 102, 101, 100}) {
		t.Fatalf("signed, Id desc: %v", got)
	}
	if got := listIDs(t, s, tok, url.Values{"orderBy": {"Name"}, "CoworkerDataFile_Business": {"2"}}); !slices.Equal(got, []float64{105, 103, 101}) {
		t.Fatalf("business 2 by name: %v", got)
	}
	if got := listIDs(t, s, tok, url.Values{"orderBy": {"CreatedOn"}, "size": {"3"}, "page": {"3"}}); !slices.Equal(got, []float64{100}) {
		t.Fatalf("page 3 of 3: %v", got)
	}
	var env envelope
	decode(t, get(t, s, "/api/spaces/coworkerdatafiles?size=3&page=2", tok), 200, &env)
	if env.FirstItem != 4 || env.LastItem != 6 || !env.HasNextPage || !env.HasPreviousPage || env.TotalPages != 3 {
		t.Fatalf("page 2 envelope %+v", env)
	}
	decode(t, get(t, s, "/api/spaces/coworkerdatafiles?size=3&page=9", tok), 200, &env)
	if env.FirstItem != 0 || env.HasNextPage {
		t.Fatalf("past the end %+v", env)
	}
	s.SetIgnoreSignedFilter(true)
	if got := listIDs(t, s, tok, url.Values{"CoworkerDataFile_Signed": {"true"}}); len(got) != 7 {
		t.Fatalf("IgnoreSignedFilter: %v", got)
	}
	var bad map[string]any
	decode(t, get(t, s, "/api/spaces/coworkerdatafiles?size=x", tok), 400, &bad)
	if qs := s.ListQueries(); len(qs) != 8 || qs[0].Get("orderBy") != "UpdatedOn" {
		t.Fatalf("list query log %v", qs)
	}
}

func TestTimeFormats(t *testing.T) {
	at := time.Date(2025, 1, 15, 10, 0, 5, 123456789, time.UTC)
	tests := []struct {
		name string
		opts Options
		want string
		from string // a from-bound that still finds the record
		miss string // a from-bound that does not
	}{
		{"utc", Options{}, "2025-01-15T10:00:05Z", "2025-01-15T10:00", "2025-01-15T10:01"},
		{"fraction", Options{FractionalSeconds: true}, "2025-01-15T10:00:05.1234567Z", "2025-01-15T10:00", "2025-01-15T10:01"},
		{"local with Z", Options{LocalTimeWithZ: true, TenantZone: time.FixedZone("x", -5*3600)}, "2025-01-15T05:00:05Z", "2025-01-15T05:00", "2025-01-15T05:01"},
		{"default zone", Options{LocalTimeWithZ: true}, "2025-01-15T11:00:05Z", "2025-01-15T11:00", "2025-01-15T11:01"},
		{"custom", Options{FormatTime: func(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") }}, "2025-01-15T10:00:05+00:00", "2025-01-15T10:00", "2025-01-15T10:01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, tt.opts)
			id := float64(s.AddFile(FileSpec{Name: "a", UpdatedOn: at}))
			tok := login(t, s)
			var env struct{ Records []struct{ UpdatedOn string } }
			decode(t, get(t, s, "/api/spaces/coworkerdatafiles", tok), 200, &env)
			if env.Records[0].UpdatedOn != tt.want {
				t.Fatalf("UpdatedOn = %q, want %q", env.Records[0].UpdatedOn, tt.want)
			}
			if !slices.Contains(listIDs(t, s, tok, url.Values{"from_CoworkerDataFile_UpdatedOn": {tt.from}}), id) {
				t.Fatal("not found from", tt.from)
			}
			if slices.Contains(listIDs(t, s, tok, url.Values{"from_CoworkerDataFile_UpdatedOn": {tt.miss}}), id) {
				t.Fatal("found from", tt.miss)
			}
		})
	}
}

func TestCreateShapes(t *testing.T) {
	s := newSim(t, Options{})
	tok := login(t, s)
	post := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/spaces/coworkerdatafiles", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var bad struct {
		Message       string
		Value         any
		WasSuccessful bool
		Errors        []map[string]any
	}
	decode(t, post(`{"BusinessId":1,"CoworkerId":2}`), 400, &bad)
	if bad.Message != "Name: is a required field" || bad.WasSuccessful || len(bad.Errors) != 1 ||
		bad.Errors[0]["PropertyName"] != "Name" || bad.Errors[0]["Message"] != "is a required field" {
		t.Fatalf("400 %+v", bad)
	}
	if _, ok := bad.Errors[0]["AttemptedValue"]; !ok {
		t.Fatal("AttemptedValue missing")
	}
	decode(t, post(`{}`), 400, &bad)
	if len(bad.Errors) != 3 {
		t.Fatalf("want 3 errors: %+v", bad)
	}
	decode(t, post(`not json`), 400, &bad)

	var ok struct {
		Status        int
		Message       string
		Value         struct{ Id int64 }
		Errors        any
		WasSuccessful bool
		UpdatedOn     string
	}
	decode(t, post(`{"BusinessId":1,"CoworkerId":2,"Name":"Lease","Signed":true,"Extension":"pdf","NewFileDataUrl":"data:application/pdf;base64,JVBERi0=","NewSignedFileDataUrl":"data:application/pdf;base64,U0lHTg=="}`), 200, &ok)
	if ok.Status != 200 || !ok.WasSuccessful || ok.Errors != nil || ok.Value.Id == 0 || ok.UpdatedOn != "2025-01-15T10:30:45Z" {
		t.Fatalf("200 %+v", ok)
	}
	f, found := s.File(ok.Value.Id)
	if !found || string(f.Data) != "%PDF-" || string(f.SignedData) != "SIGN" || f.FileName != "Lease.pdf" || !f.Signed {
		t.Fatalf("stored %+v", f)
	}
	if s.Count(RouteCreate) != 4 {
		t.Fatalf("create count %d", s.Count(RouteCreate))
	}
}

func TestTokens(t *testing.T) {
	s := newSim(t, Options{TokenTTL: time.Minute})
	form := func(v url.Values) map[string]any {
		resp, err := s.Client().PostForm(s.URL+"/api/token", v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		m["status"] = resp.StatusCode
		return m
	}
	if m := form(url.Values{"grant_type": {"password"}, "username": {s.Username()}, "password": {"wrong"}}); m["status"] != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("wrong password: %v", m)
	}
	if m := form(url.Values{"grant_type": {"client_credentials"}}); m["error"] != "unsupported_grant_type" {
		t.Fatalf("grant type: %v", m)
	}
	first := form(url.Values{"grant_type": {"password"}, "username": {s.Username()}, "password": {s.Password()}})
	if first["expires_in"] != 60.0 {
		t.Fatalf("expires_in %v", first["expires_in"])
	}
	status := func(tok string) int {
		resp := get(t, s, "/api/spaces/coworkerdatafiles", tok)
		resp.Body.Close()
		return resp.StatusCode
	}
	if status(first["access_token"].(string)) != 200 || status("") != 401 || status("forged") != 401 {
		t.Fatal("bearer check")
	}
	s.Advance(time.Minute)
	if status(first["access_token"].(string)) != 401 {
		t.Fatal("expired token accepted")
	}
	second := form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}})
	if second["status"] != 200 || status(second["access_token"].(string)) != 200 {
		t.Fatalf("refresh: %v", second)
	}
	if again := form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}}); again["error"] != "invalid_grant" {
		t.Fatalf("refresh token reused: %v", again)
	}
	s.RevokeTokens()
	if status(second["access_token"].(string)) != 401 {
		t.Fatal("revoked token accepted")
	}
	if s.Grants("password") != 1 || s.Grants("refresh_token") != 1 {
		t.Fatalf("grants %d %d", s.Grants("password"), s.Grants("refresh_token"))
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/spaces/coworkerdatafiles", nil)
	req.SetBasicAuth(s.Username(), s.Password())
	resp, _ := s.Client().Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatal("basic accepted without AllowBasic")
	}
	resp, _ = s.Client().Post(s.URL+"/api/token", "application/json", strings.NewReader("{}"))
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatal("JSON token request accepted")
	}
}

func TestBasicAuth(t *testing.T) {
	s := newSim(t, Options{AllowBasic: true})
	for _, tt := range []struct {
		pass string
		want int
	}{{s.Password(), 200}, {"nope", 401}} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/spaces/coworkerdatafiles", nil)
		req.SetBasicAuth(s.Username(), tt.pass)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Fatalf("basic %q: %d", tt.pass, resp.StatusCode)
		}
	}
	if r := s.Requests(); r[0].AuthScheme != "Basic" {
		t.Fatalf("log %+v", r[0])
	}
}

func TestMutations(t *testing.T) {
	s := newSim(t, Options{})
	id := s.AddFile(FileSpec{Name: "a", FileName: "a.docx", Data: []byte("v1")})
	s.Advance(time.Minute)
	if !s.SetSignedData(id, "a-signed.pdf", []byte("sig")) {
		t.Fatal("SetSignedData")
	}
	f, _ := s.File(id)
	if !f.Signed || !f.UpdatedOn.Equal(t0.Add(time.Minute)) || !f.CreatedOn.Equal(t0) || f.Extension != "docx" {
		t.Fatalf("after SetSignedData %+v", f)
	}
	s.Advance(time.Minute)
	s.SetSigned(id, false)
	s.SetFileData(id, "b.txt", []byte("v2"))
	f, _ = s.File(id)
	if f.Signed || f.Extension != "txt" || string(f.Data) != "v2" || !f.UpdatedOn.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after updates %+v", f)
	}
	explicit := t0.Add(-time.Hour)
	s.UpdateFile(id, func(f *FileSpec) { f.UpdatedOn = explicit })
	if f, _ = s.File(id); !f.UpdatedOn.Equal(explicit) {
		t.Fatal("explicit UpdatedOn overwritten")
	}
	if !s.Delete(id) || s.Delete(id) || s.UpdateFile(id, func(*FileSpec) {}) || len(s.Files()) != 0 {
		t.Fatal("Delete")
	}
	if got := s.AddFile(FileSpec{ID: 5000}); got != 5000 || s.AddFile(FileSpec{}) != 5001 {
		t.Fatal("ids")
	}
}

func TestLatencyAndClock(t *testing.T) {
	s := New(Options{Latency: 30 * time.Millisecond, Now: func() time.Time { return t0 }})
	defer s.Close()
	if !s.Now().Equal(t0) {
		t.Fatal("Now option")
	}
	s.Advance(time.Hour)
	if !s.Now().Equal(t0.Add(time.Hour)) {
		t.Fatal("Advance on a running clock")
	}
	start := time.Now()
	login(t, s)
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("latency not applied")
	}
	s.SetLatency(0)
}

func TestSecretsListsPasswordAndIssuedTokens(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	resp, err := s.Client().PostForm(s.URL+"/api/token", url.Values{"grant_type": {"password"}, "username": {s.Username()}, "password": {s.Password()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := s.Secrets(); len(got) != 3 || got[0] != s.Password() {
		t.Fatalf("Secrets() = %d values", len(got))
	}
}
