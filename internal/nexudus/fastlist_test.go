package nexudus

import (
	"reflect"
	"strings"
	"testing"
)

// fastListSeeds are pages the fast decoder must decode as encoding/json
// does, or leave to it.
var fastListSeeds = []string{
	`{"Records":[{"Id":1,"Signed":true,"Name":"A","UpdatedOn":"2024-03-01T10:00:00Z"}],"CurrentPage":1,"PageSize":100,"TotalItems":1,"TotalPages":1,"HasNextPage":false}`,
	`{"Records":[{"Id":1,"Signed":true,"Name":"Smith \u0026 Co \"x\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800 \udc00x","CoworkerFullName":"Zoë","UpdatedOn":"2024-03-01T10:00:00.1234567Z","CreatedOn":null}]}`,
	`{"Records":[{"Id":2,"Signed":false},{"Id":3,"Signed":true,"Signed":null,"Name":null,"UpdatedOn":""}],"PageNumber":2,"CurrentPageSize":50}`,
	`{"Records":null}`,
	`{}`,
	` {"Records":[]} `,
	`{"records":[{"Id":1,"Signed":true}]}`,
	`{"Records":[{"id":1,"Signed":true}]}`,
	`{"Records":[{"Id":1,"Signed":true,"Extra":{"a":[1,2.5e-3,-0,true,false,null,"s\u0041"]},"ToStringText":"x"}]}`,
	`{"Records":[{"Id":1.0,"Signed":true}]}`,
	`{"Records":[{"Id":"1","Signed":true}]}`,
	`{"Records":[{"Id":1,"Signed":true,"UpdatedOn":"yesterday"}]}`,
	`{"Records":[null]}`,
	`{"Records":[{"Id":1,"Signed":true}]} x`,
	`{"Records":[{"Id":1,"Signed":true,}]}`,
	`{"Records":[{"Id":01,"Signed":true}]}`,
	`{"Records":[{"Id":99999999999999999999,"Signed":true}]}`,
	`{"Records":[{"Id":1,"Signed":true,"Name":"bad \xff byte"}]}`,
	`{"Records":[{"Id":1,"Signed":true,"Name":"ctl ` + "\x01" + `"}]}`,
	`{"Records":[{"Id":1,"Signed":true,"K\u212a":1}]}`,
	`{"Records":[{"Id":1,"Signed":true,"\u004eame":"x"}]}`,
	`{"Records":[{"Id":1,"Signed":true}],"Records":[]}`,
	`{"Records":[{"Id":-7,"Signed":true,"BusinessId":-0,"UpdatedOn":"2024-03-01 10:00"}],"TotalItems":-1}`,
	`[]`,
	`<html>`,
}

func fastSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, s := range fastListSeeds {
		out = append(out, []byte(s))
	}
	for _, name := range []string{"list_page.json", "list_page_doc.json", "list_page_partial.json"} {
		b, err := payload(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkFast: whatever the fast decoder takes, encoding/json decodes to
// the same page.
func checkFast(t *testing.T, contentType string, body []byte) (taken bool) {
	fast, ok := decodeListPageFast(contentType, body)
	if !ok {
		return false
	}
	want, err := decodeListPageJSON(200, contentType, body)
	if err != nil {
		t.Fatalf("fast decoder took a page encoding/json refuses (%v):\n%q", err, body)
	}
	if !reflect.DeepEqual(fast, want) {
		t.Fatalf("fast decoder differs from encoding/json on %q:\n fast %+v\n json %+v", body, fast, want)
	}
	return true
}

func TestFastListPageAgreesWithEncodingJSON(t *testing.T) {
	taken := 0
	for _, body := range fastSeeds(t) {
		if checkFast(t, "application/json", body) {
			taken++
		}
		// Whichever decodes it, decodeListPage gives what it gave before.
		got, gerr := decodeListPage(200, "application/json", body)
		want, werr := decodeListPageJSON(200, "application/json", body)
		if werr != nil {
			want, werr = decodeListPageByRecord(200, "application/json", body)
		}
		if (gerr == nil) != (werr == nil) || (gerr == nil && !samePage(got, want)) {
			t.Errorf("decodeListPage(%q) = %+v, %v; want %+v, %v", body, got, gerr, want, werr)
		}
	}
	if taken < 10 {
		t.Errorf("the fast decoder took only %d of the seeds", taken)
	}
	if _, ok := decodeListPageFast("text/html", []byte(`{}`)); ok {
		t.Error("fast decoder took a text/html answer")
	}
	// The recorded pages are the usual shape: they must not fall back.
	for _, name := range []string{"list_page.json", "list_page_doc.json", "list_page_partial.json"} {
		b, _ := payload(name)
		if _, ok := decodeListPageFast("application/json; charset=utf-8", b); !ok {
			t.Errorf("%s is left to encoding/json", name)
		}
	}
	// Records share one copy of the page, not the caller's buffer.
	body := []byte(`{"Records":[{"Id":1,"Signed":true,"Name":"keep"}]}`)
	p, ok := decodeListPageFast("application/json", body)
	copy(body, strings.Repeat("x", len(body)))
	if !ok || p.Records[0].Name != "keep" {
		t.Errorf("record changed with the body: %+v", p)
	}
}

// FuzzFastListPage: the fast decoder decodes exactly what encoding/json
// decodes, or leaves the page to it.
func FuzzFastListPage(f *testing.F) {
	for _, b := range fastSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFast(t, "application/json", body)
	})
}
