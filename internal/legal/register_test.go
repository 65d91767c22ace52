package legal_test

import (
	"bytes"
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/legal"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.csv")

func sha(s string) string { return legal.SHA256Hex([]byte(s)) }

// goldenRows is the register of the golden file, deliberately out of order.
func goldenRows() []legal.Row {
	return []legal.Row{
		{ // commas and quotes in Name, fractional seconds
			ID: 1003, UniqueID: "c3c3c3c3-0000-4000-8000-000000001003", CreatedOn: time.Date(2024, 3, 9, 17, 45, 12, 250_000_000, time.UTC),
			CoworkerID: 77, BusinessID: 12, LegalContentType: "CheckoutTerms", Name: `Checkout, "express" terms`,
			TariffUniqueID: "", TextUniqueID: "7e7e7e7e-0000-4000-8000-00000000c0de", TextSHA256: sha("checkout v3"), TextCoreDataID: "f-3",
		},
		{ // the version is not known yet: empty text columns
			ID: 1002, UniqueID: "b2b2b2b2-0000-4000-8000-000000001002", CreatedOn: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
			CoworkerID: 42, BusinessID: 12, LegalContentType: "PrivacyPolicy", Name: "Privacy policy",
			TextUniqueID: "9f9f9f9f-0000-4000-8000-00000000dead",
		},
		{ // line breaks (LF and CRLF) and non-ASCII in Name, a tariff
			ID: 1001, UniqueID: "a1a1a1a1-0000-4000-8000-000000001001", CreatedOn: time.Date(2024, 3, 5, 9, 30, 0, 0, time.UTC),
			CoworkerID: 42, BusinessID: 12, LegalContentType: "TariffTerms", Name: "Conditions générales\nde vente — 利用規約\r\nv2",
			TariffUniqueID: "5a5a5a5a-0000-4000-8000-00000000face", TextUniqueID: "6b6b6b6b-0000-4000-8000-00000000beef",
			TextSHA256: sha("conditions v2"), TextCoreDataID: "0b8e5e3c-2f7a-4a7e-9d7e-3f1f4c1d2e10",
		},
		{ // an offset time (written in UTC), an unknown type number, spaces and a formula kept as they are
			ID: 1005, UniqueID: "e5e5e5e5-0000-4000-8000-000000001005", CreatedOn: time.Date(2024, 3, 31, 23, 59, 59, 0, time.FixedZone("", 2*3600)),
			CoworkerID: 0, BusinessID: 12, LegalContentType: "7", Name: ` =HYPERLINK("x") `,
			TextUniqueID: "", TextSHA256: "", TextCoreDataID: "",
		},
		{ // replaced by the later row with the same Id
			ID: 1004, UniqueID: "stale", CreatedOn: time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), BusinessID: 12, Name: "stale",
		},
		{
			ID: 1004, UniqueID: "d4d4d4d4-0000-4000-8000-000000001004", CreatedOn: time.Date(2024, 3, 10, 8, 0, 0, 1, time.UTC),
			CoworkerID: 43, BusinessID: 12, LegalContentType: "GeneralTerms", Name: "General terms",
			TextUniqueID: "1c1c1c1c-0000-4000-8000-00000000cafe", TextSHA256: sha("general v1"), TextCoreDataID: "f-1",
		},
	}
}

func TestRegisterGolden(t *testing.T) {
	tests := []struct {
		name, file string
		rows       []legal.Row
	}{
		{"mixed", "register.golden.csv", goldenRows()},
		{"empty", "register_empty.golden.csv", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := legal.Register(tt.rows)
			golden := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -run Golden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("register differs from %s (go test -run Golden -update after checking):\n got %q\nwant %q", golden, got, want)
			}
		})
	}
	// The points the golden file encodes, stated outright.
	b := legal.Register(goldenRows())
	for _, want := range []string{
		"Id,UniqueId,CreatedOn,CoworkerId,BusinessId,LegalContentType,Name,TariffUniqueId,LegalContentAuditUniqueId,text_sha256,text_coredata_id\r\n",
		"\r\n1001,",
		`"Conditions générales` + "\nde vente — 利用規約\r\nv2\"",
		"\r\n1002,b2b2b2b2-0000-4000-8000-000000001002,2024-03-01T00:00:00Z,42,12,PrivacyPolicy,Privacy policy,,9f9f9f9f-0000-4000-8000-00000000dead,,\r\n",
		`,"Checkout, ""express"" terms",`,
		"2024-03-09T17:45:12.25Z",
		"2024-03-10T08:00:00.000000001Z",
		"\r\n1005,e5e5e5e5-0000-4000-8000-000000001005,2024-03-31T21:59:59Z,0,12,7,\" =HYPERLINK(\"\"x\"\") \",,,,\r\n",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("register lacks %q", want)
		}
	}
	if bytes.Contains(b, []byte("stale")) {
		t.Error("the first of two rows with one Id was kept")
	}
	if i1, i2, i3, i4, i5 := bytes.Index(b, []byte("\r\n1001,")), bytes.Index(b, []byte("\r\n1002,")), bytes.Index(b, []byte("\r\n1003,")),
		bytes.Index(b, []byte("\r\n1004,")), bytes.Index(b, []byte("\r\n1005,")); !(i1 < i2 && i2 < i3 && i3 < i4 && i4 < i5) {
		t.Error("rows not sorted by Id")
	}
}

// wantRows is what ParseRegister must give back for rows: sorted by ID,
// the last of an ID kept, times in UTC.
func wantRows(rows []legal.Row) []legal.Row {
	byID := map[int64]legal.Row{}
	for _, r := range rows {
		r.CreatedOn = r.CreatedOn.UTC()
		byID[r.ID] = r
	}
	var out []legal.Row
	for _, r := range byID {
		out = append(out, r)
	}
	for i := 1; i < len(out); i++ { // insertion sort: no import of sort just for this
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func equalRows(a, b []legal.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.CreatedOn.Equal(y.CreatedOn) {
			return false
		}
		x.CreatedOn, y.CreatedOn = time.Time{}, time.Time{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func TestRegisterRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rows []legal.Row
	}{
		{"golden", goldenRows()},
		{"none", nil},
		{"one", []legal.Row{{ID: 1, CreatedOn: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}},
		{"zero time", []legal.Row{{ID: 5}}},
		{"negative ids", []legal.Row{{ID: -3, CoworkerID: -1, BusinessID: -2}, {ID: 9223372036854775807}}},
		{"only quotes", []legal.Row{{ID: 1, Name: `"`, UniqueID: `""`, TextCoreDataID: `","`}}},
		{"lone CR and LF", []legal.Row{{ID: 1, Name: "\r", UniqueID: "\n", LegalContentType: "a\rb\nc"}}},
		{"controls and bidi kept", []legal.Row{{ID: 1, Name: "nul\x00 tab\t rlo\u202e bom\ufeff"}}},
		{"year 9999", []legal.Row{{ID: 1, CreatedOn: time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := legal.Register(tt.rows)
			got, err := legal.ParseRegister(b)
			if err != nil {
				t.Fatalf("ParseRegister: %v\n%q", err, b)
			}
			if want := wantRows(tt.rows); !equalRows(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if again := legal.Register(got); !bytes.Equal(again, b) {
				t.Fatalf("Register(ParseRegister(b)) != b:\n%q\n%q", again, b)
			}
		})
	}
}

func TestRegisterDeterministic(t *testing.T) {
	rows := goldenRows()[:4] // distinct Ids: any order is the same register
	for i := range 50 {
		rows = append(rows, legal.Row{ID: int64(2000 + i*7%50), Name: strings.Repeat("n", i), CreatedOn: time.Unix(int64(i)*86400, 0)})
	}
	want := legal.Register(rows)
	rng := rand.New(rand.NewSource(1))
	for i := range 20 {
		shuffled := append([]legal.Row(nil), rows...)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if got := legal.Register(shuffled); !bytes.Equal(got, want) {
			t.Fatalf("shuffle %d gives other bytes", i)
		}
	}
	// Times in another zone are the same instants: the same bytes.
	local := append([]legal.Row(nil), rows...)
	for i := range local {
		local[i].CreatedOn = local[i].CreatedOn.In(time.FixedZone("X", -7*3600))
	}
	if got := legal.Register(local); !bytes.Equal(got, want) {
		t.Fatal("the zone of CreatedOn changes the bytes")
	}
}

func TestRegisterKeepsInput(t *testing.T) {
	rows := goldenRows()
	before := goldenRows()
	legal.Register(rows)
	if !reflect.DeepEqual(rows, before) {
		t.Fatal("Register changed its input")
	}
}

func TestRegisterDialect(t *testing.T) {
	tests := []struct {
		name string
		row  legal.Row
		want string // the data record
	}{
		{"plain", legal.Row{ID: 1, Name: "Terms"}, "1,,0001-01-01T00:00:00Z,0,0,,Terms,,,,\r\n"},
		{"comma", legal.Row{ID: 1, Name: "a,b"}, "1,,0001-01-01T00:00:00Z,0,0,,\"a,b\",,,,\r\n"},
		{"quote", legal.Row{ID: 1, Name: `say "hi"`}, "1,,0001-01-01T00:00:00Z,0,0,,\"say \"\"hi\"\"\",,,,\r\n"},
		{"LF kept", legal.Row{ID: 1, Name: "a\nb"}, "1,,0001-01-01T00:00:00Z,0,0,,\"a\nb\",,,,\r\n"},
		{"CR kept", legal.Row{ID: 1, Name: "a\rb"}, "1,,0001-01-01T00:00:00Z,0,0,,\"a\rb\",,,,\r\n"},
		{"spaces not quoted", legal.Row{ID: 1, Name: " a "}, "1,,0001-01-01T00:00:00Z,0,0,, a ,,,,\r\n"},
		{"non-ASCII not quoted", legal.Row{ID: 1, Name: "Ünïcødé ✓"}, "1,,0001-01-01T00:00:00Z,0,0,,Ünïcødé ✓,,,,\r\n"},
		{"invalid UTF-8", legal.Row{ID: 1, Name: "a\xffb\xc3"}, "1,,0001-01-01T00:00:00Z,0,0,,a\uFFFDb\uFFFD,,,,\r\n"},
		{"seconds", legal.Row{ID: 1, CreatedOn: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}, "1,,2024-01-02T03:04:05Z,0,0,,,,,,\r\n"},
		{"millis", legal.Row{ID: 1, CreatedOn: time.Date(2024, 1, 2, 3, 4, 5, 120_000_000, time.UTC)}, "1,,2024-01-02T03:04:05.12Z,0,0,,,,,,\r\n"},
		{"offset to UTC", legal.Row{ID: 1, CreatedOn: time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600))}, "1,,2024-01-02T08:04:05Z,0,0,,,,,,\r\n"},
		{"all columns", legal.Row{ID: 9, UniqueID: "u", CreatedOn: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), CoworkerID: 8, BusinessID: 7,
			LegalContentType: "VisitorTerms", Name: "n", TariffUniqueID: "t", TextUniqueID: "x", TextSHA256: sha(""), TextCoreDataID: "c"},
			"9,u,2024-01-02T03:04:05Z,8,7,VisitorTerms,n,t,x,e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,c\r\n"},
	}
	const head = "Id,UniqueId,CreatedOn,CoworkerId,BusinessId,LegalContentType,Name,TariffUniqueId,LegalContentAuditUniqueId,text_sha256,text_coredata_id\r\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(legal.Register([]legal.Row{tt.row}))
			if got != head+tt.want {
				t.Fatalf("got  %q\nwant %q", got, head+tt.want)
			}
		})
	}
	if got := strings.Join(legal.Header, ",") + "\r\n"; got != head {
		t.Fatalf("Header %q", got)
	}
}

// A caller changing the exported Header does not change registers.
func TestHeaderCopy(t *testing.T) {
	want := legal.Register(nil)
	old := legal.Header[0]
	legal.Header[0] = "changed"
	defer func() { legal.Header[0] = old }()
	if got := legal.Register(nil); !bytes.Equal(got, want) {
		t.Fatal("Register reads the exported Header")
	}
}

func TestParseRegisterErrors(t *testing.T) {
	const head = "Id,UniqueId,CreatedOn,CoworkerId,BusinessId,LegalContentType,Name,TariffUniqueId,LegalContentAuditUniqueId,text_sha256,text_coredata_id\r\n"
	const row = "1,u,2024-01-02T03:04:05Z,8,7,GeneralTerms,n,,,,\r\n"
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "line 1: empty"},
		{"BOM", "\xef\xbb\xbf" + head, "line 1, column 1 (Id): starts with a byte order mark"},
		{"other header", strings.Replace(head, "Name", "Nom", 1), "line 1, column 7 (Name): header \"Nom\""},
		{"short header", "Id,UniqueId\r\n", "line 1, column 2 (UniqueId): 2 fields, want 11"},
		{"no final CRLF", head + strings.TrimSuffix(row, "\r\n"), "line 2, column 11 (text_coredata_id): no CRLF"},
		{"LF line ends", strings.ReplaceAll(head+row, "\r\n", "\n"), "line 1, column 11 (text_coredata_id): LF without CR"},
		{"lone CR", head + strings.Replace(row, "\r\n", "\r", 1) + row, "line 2, column 11 (text_coredata_id): CR without LF"},
		{"too many fields", head + "1,u,2024-01-02T03:04:05Z,8,7,GeneralTerms,n,,,,,\r\n", "line 2, column 12: more than 11 fields"},
		{"too few fields", head + "1,u,2024-01-02T03:04:05Z\r\n", "line 2, column 3 (CreatedOn): 3 fields, want 11"},
		{"blank line", head + row + "\r\n", "line 3, column 1 (Id): 1 fields, want 11"},
		{"bad Id", head + strings.Replace(row, "1,", "x,", 1), "line 2, column 1 (Id): \"x\" is not a decimal integer"},
		{"leading zero", head + strings.Replace(row, "1,", "01,", 1), "line 2, column 1 (Id): \"01\""},
		{"plus sign", head + strings.Replace(row, ",8,", ",+8,", 1), "line 2, column 4 (CoworkerId): \"+8\""},
		{"bad BusinessId", head + strings.Replace(row, ",7,", ",7.0,", 1), "line 2, column 5 (BusinessId)"},
		{"bad time", head + strings.Replace(row, "2024-01-02T03:04:05Z", "2024-01-02 03:04:05", 1), "line 2, column 3 (CreatedOn): \"2024-01-02 03:04:05\" is not an RFC 3339 UTC time"},
		{"offset time", head + strings.Replace(row, "2024-01-02T03:04:05Z", "2024-01-02T03:04:05+01:00", 1), "line 2, column 3 (CreatedOn)"},
		{"trailing zeros", head + strings.Replace(row, "05Z", "05.500Z", 1), "line 2, column 3 (CreatedOn)"},
		{"no seconds", head + strings.Replace(row, "03:04:05Z", "03:04Z", 1), "line 2, column 3 (CreatedOn)"},
		{"bad sha", head + strings.Replace(row, ",,,,", ",,,ABC,", 1), "line 2, column 10 (text_sha256): \"ABC\""},
		{"upper sha", head + strings.Replace(row, ",,,,", ",,,"+strings.ToUpper(sha("x"))+",", 1), "line 2, column 10 (text_sha256)"},
		{"needless quotes", head + strings.Replace(row, ",n,", `,"n",`, 1), "line 2, column 7 (Name): quoted without need"},
		{"quoted empty", head + strings.Replace(row, ",n,", `,"",`, 1), "line 2, column 7 (Name): quoted without need"},
		{"quote inside", head + strings.Replace(row, ",n,", `,n"x,`, 1), "line 2, column 7 (Name): quote in an unquoted field"},
		{"after closing quote", head + strings.Replace(row, ",n,", `,"a,b"x,`, 1), "line 2, column 7 (Name): 'x' after the closing quote"},
		{"unclosed quote", head + strings.Replace(row, ",n,", `,"a,b`, 1), "line 2, column 7 (Name): quoted field not closed"},
		{"invalid UTF-8", head + strings.Replace(row, ",n,", ",n\xff,", 1), "line 2, column 7 (Name): invalid UTF-8"},
		{"unsorted", head + strings.Replace(row, "1,", "2,", 1) + row, "line 3, column 1 (Id): Id 1 after 2 is out of order"},
		{"repeated", head + row + row, "line 3, column 1 (Id): Id 1 after 1 is repeated"},
		{"line after quoted LF", head + "1,u,2024-01-02T03:04:05Z,8,7,GeneralTerms,\"a\nb\r\nc\",,,,\r\n" + "x" + row[1:], "line 5, column 1 (Id)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := legal.ParseRegister([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error; rows %+v", rows)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "legal: register line ") {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseRegisterGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "register.golden.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := legal.ParseRegister(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantRows(goldenRows()); !equalRows(rows, want) {
		t.Fatalf("golden rows:\n got %+v\nwant %+v", rows, want)
	}
	if r := rows[1]; r.ID != 1002 || r.TextSHA256 != "" || r.TextCoreDataID != "" || r.TextUniqueID == "" {
		t.Fatalf("unknown-version row %+v", r)
	}
}
