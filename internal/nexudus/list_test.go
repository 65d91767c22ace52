package nexudus

import (
	"context"
	"encoding/json"
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

func TestListMinuteResolution(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	id := e.sim.AddFile(nexudustest.FileSpec{Name: "a", Signed: true, UpdatedOn: t0}) // 10:30:45
	e.sim.AddFile(nexudustest.FileSpec{Name: "old", Signed: true, UpdatedOn: t0.Add(-time.Minute)})

	// A cursor later in the same minute must still find the record.
	from := time.Date(2025, 1, 15, 10, 30, 59, 999, time.UTC)
	p, err := e.c.ListPage(context.Background(), ListQuery{UpdatedFrom: from}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0].ID != id || !p.Records[0].UpdatedOn.Equal(t0) {
		t.Fatalf("records %+v", p.Records)
	}
	want := url.Values{
		"page": {"1"}, "size": {"100"}, "orderBy": {"UpdatedOn"}, "dir": {"1"},
		"CoworkerDataFile_Signed":         {"true"},
		"from_CoworkerDataFile_UpdatedOn": {"2025-01-15T10:30"},
	}
	if got := e.sim.ListQueries()[0]; got.Encode() != want.Encode() {
		t.Fatalf("query %v\nwant  %v", got, want)
	}

	// With an upper bound, a location and a non-UTC cursor.
	paris := time.FixedZone("CET", 3600)
	_, err = e.c.ListPage(context.Background(), ListQuery{
		UpdatedFrom: time.Date(2025, 1, 15, 11, 29, 1, 0, paris),
		UpdatedTo:   time.Date(2025, 1, 15, 12, 0, 30, 0, time.UTC),
		Business:    42,
	}, 3)
	if err != nil {
		t.Fatal(err)
	}
	q := e.sim.ListQueries()[1]
	if q.Get("from_CoworkerDataFile_UpdatedOn") != "2025-01-15T10:29" || q.Get("to_CoworkerDataFile_UpdatedOn") != "2025-01-15T12:00" ||
		q.Get("CoworkerDataFile_Business") != "42" || q.Get("page") != "3" {
		t.Fatalf("query %v", q)
	}
}

func TestListPagesToTheEnd(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	want := map[int64]bool{}
	for i := 0; i < 250; i++ {
		id := e.sim.AddFile(nexudustest.FileSpec{Name: fmt.Sprint(i), Signed: true, UpdatedOn: t0.Add(time.Duration(i) * time.Second)})
		want[id] = true
	}
	for i := 0; i < 30; i++ {
		e.sim.AddFile(nexudustest.FileSpec{Name: "unsigned", UpdatedOn: t0})
	}
	seen := map[int64]int{}
	var last time.Time
	err := e.c.List(context.Background(), ListQuery{UpdatedFrom: t0.Add(-time.Hour)}, func(f File) error {
		seen[f.ID]++
		if f.UpdatedOn.Before(last) {
			t.Errorf("out of order at %d", f.ID)
		}
		last = f.UpdatedOn.Time
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 250 {
		t.Fatalf("saw %d files", len(seen))
	}
	for id, n := range seen {
		if n != 1 || !want[id] {
			t.Fatalf("file %d seen %d times (wanted %v)", id, n, want[id])
		}
	}
	if n := e.sim.Count(nexudustest.RouteList); n != 3 {
		t.Fatalf("%d list requests, want 3", n)
	}
}

func TestListChecksSigned(t *testing.T) {
	e := newEnv(t, nexudustest.Options{IgnoreSignedFilter: true}, nil)
	signed := e.sim.AddFile(nexudustest.FileSpec{Name: "s", Signed: true})
	e.sim.AddFile(nexudustest.FileSpec{Name: "u"})
	p, err := e.c.ListPage(context.Background(), ListQuery{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 1 || p.Records[0].ID != signed || p.Unsigned != 1 || p.TotalItems != 2 || p.Page != 1 {
		t.Fatalf("page %+v", p)
	}
}

func TestListPartialRecordsAndGet(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, nil)
	id := e.sim.AddFile(nexudustest.FileSpec{BusinessID: 3, BusinessName: "Main St", CoworkerID: 9, CoworkerFullName: "Ada",
		Name: "Lease", Description: "notes", AvailableToUser: true, RequestDigitalSignature: true, Signed: true,
		FileName: "lease.pdf", SignedFileName: "lease-signed.pdf"})
	var listed File
	if err := e.c.List(context.Background(), ListQuery{}, func(f File) error { listed = f; return nil }); err != nil {
		t.Fatal(err)
	}
	if listed.Description != "" || listed.AvailableToUser || listed.RequestDigitalSignature {
		t.Fatalf("list record not partial: %+v", listed)
	}
	if listed.BusinessName != "Main St" || listed.SignedFileDataFileName != "lease-signed.pdf" || listed.Extension != "pdf" || listed.CoworkerCompanyName != "" {
		t.Fatalf("list record %+v", listed)
	}
	full, err := e.c.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if full.Description != "notes" || !full.AvailableToUser || !full.RequestDigitalSignature || full.ID != id || full.UniqueID == "" {
		t.Fatalf("full record %+v", full)
	}
	_, err = e.c.Get(context.Background(), 999999)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "get file 999999") {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestListStopsOnCallbackError(t *testing.T) {
	e := newEnv(t, nexudustest.Options{}, func(c *Config) { c.PageSize = 2 })
	for i := 0; i < 5; i++ {
		e.sim.AddFile(nexudustest.FileSpec{Name: "x", Signed: true})
	}
	stop := errors.New("stop")
	n := 0
	err := e.c.List(context.Background(), ListQuery{}, func(File) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || e.sim.Count(nexudustest.RouteList) != 2 {
		t.Fatalf("err %v after %d pages", err, e.sim.Count(nexudustest.RouteList))
	}
}

func TestListTimeVariants(t *testing.T) {
	at := time.Date(2025, 1, 15, 10, 0, 5, 123456700, time.UTC)
	tests := []struct {
		name string
		opts nexudustest.Options
		want time.Time
	}{
		{"Z", nexudustest.Options{}, at.Truncate(time.Second)},
		{"fraction", nexudustest.Options{FractionalSeconds: true}, at},
		// The trap: wall clock of UTC+1 with a literal Z reads an hour late.
		{"local with Z", nexudustest.Options{LocalTimeWithZ: true}, at.Truncate(time.Second).Add(time.Hour)},
		{"offset", nexudustest.Options{FormatTime: func(t time.Time) string {
			return t.In(time.FixedZone("", 3600)).Format("2006-01-02T15:04:05.999999999-07:00")
		}}, at},
		{"no zone", nexudustest.Options{FormatTime: func(t time.Time) string { return t.Format("2006-01-02T15:04:05.000") }}, at.Truncate(time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts, nil)
			e.sim.AddFile(nexudustest.FileSpec{Name: "a", Signed: true, UpdatedOn: at, CreatedOn: at})
			p, err := e.c.ListPage(context.Background(), ListQuery{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Records[0]; !got.UpdatedOn.Equal(tt.want) || !got.CreatedOn.Equal(tt.want) || got.UpdatedOn.Location() != time.UTC {
				t.Fatalf("UpdatedOn %v, want %v", got.UpdatedOn, tt.want)
			}
		})
	}
}

// A server that always claims another page must not keep List going.
func TestListGuardsAgainstEndlessPaging(t *testing.T) {
	for _, tt := range []struct {
		name, records string
		totalPages    int
		wantPages     int
	}{
		{"empty page", `[]`, 0, 1},
		{"past TotalPages", `[{"Id":1,"Signed":true}]`, 2, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pages := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				pages++
				fmt.Fprintf(w, `{"Records":%s,"HasNextPage":true,"TotalPages":%d}`, tt.records, tt.totalPages)
			}))
			defer srv.Close()
			c, err := New(Config{BaseURL: srv.URL, Auth: AuthBasic, Username: "u", Password: "p", RequestsPerMinute: -1, RequestsPerHour: -1}, srv.Client(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.List(context.Background(), ListQuery{}, func(File) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if pages != tt.wantPages {
				t.Fatalf("%d pages", pages)
			}
		})
	}
}

// One record with an odd time must not hide the rest of its page.
func TestDecodeListPageKeepsGoodRecordsBesideABadOne(t *testing.T) {
	body := []byte(`{"Records":[
		{"Id":1,"Signed":true,"UpdatedOn":"2025-01-15T10:30:00Z"},
		{"Id":2,"Signed":true,"UpdatedOn":"the day before yesterday"},
		{"Id":3,"Signed":false,"UpdatedOn":"not a time either"},
		{"Id":"four","Signed":true},
		{"Id":5,"Signed":true,"UpdatedOn":null}
	],"CurrentPage":1,"TotalItems":5,"HasNextPage":false}`)
	p, err := decodeListPage(200, "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 2 || p.Records[0].ID != 1 || p.Records[1].ID != 5 || !p.Records[1].UpdatedOn.IsZero() {
		t.Fatalf("records %+v", p.Records)
	}
	if p.Unsigned != 1 || len(p.Bad) != 2 {
		t.Fatalf("unsigned %d, bad %+v", p.Unsigned, p.Bad)
	}
	if p.Bad[0].ID != 2 || !strings.Contains(p.Bad[0].Err.Error(), "Id 2") || !strings.Contains(p.Bad[0].Err.Error(), "the day before yesterday") {
		t.Fatalf("bad record 2: %+v", p.Bad[0])
	}
	if p.Bad[1].ID != 0 {
		t.Fatalf("bad record without a readable Id: %+v", p.Bad[1])
	}
}

// TestOnePassDecodeFallsBackPerRecord: a page whose records all decode is
// read in one pass; one unreadable record sends the page to the
// record-by-record decode, which still reads the others and names it.
func TestOnePassDecodeFallsBackPerRecord(t *testing.T) {
	good := `{"Id":1,"Signed":true,"UpdatedOn":"2025-01-15T10:30:45Z","Name":"a"}`
	unsigned := `{"Id":2,"Signed":false,"UpdatedOn":"2025-01-15T10:30:46Z"}`
	bad := `{"Id":3,"Signed":true,"UpdatedOn":"not a time"}`
	for _, tc := range []struct {
		name            string
		records         string
		signed, unsignd int
		bad             []int64
	}{
		{"all readable", good + "," + unsigned + ",null", 1, 2, nil},
		{"one unreadable", good + "," + bad + "," + unsigned, 1, 1, []int64{3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(`{"Records":[` + tc.records + `],"CurrentPage":1,"PageSize":25,"TotalItems":3,"TotalPages":1}`)
			p, err := decodeListPage(200, "application/json", body)
			if err != nil {
				t.Fatal(err)
			}
			var bads []int64
			for _, b := range p.Bad {
				bads = append(bads, b.ID)
			}
			if len(p.Records) != tc.signed || p.Unsigned != tc.unsignd || fmt.Sprint(bads) != fmt.Sprint(tc.bad) ||
				p.Records[0].ID != 1 || !p.Records[0].UpdatedOn.Equal(time.Date(2025, 1, 15, 10, 30, 45, 0, time.UTC)) {
				t.Fatalf("page %+v", p)
			}
			slow, err := decodeListPageByRecord(200, "application/json", body)
			if err != nil || !samePage(p, slow) {
				t.Fatalf("record by record: %v\n%+v\n%+v", err, p, slow)
			}
		})
	}
}

// TestTimeFastPathReadsAsTheDecoder: times without escapes are read
// without a second JSON decode, and anything else goes through it, with
// the same results.
func TestTimeFastPathReadsAsTheDecoder(t *testing.T) {
	for _, in := range []string{`"2025-01-15T10:30:45Z"`, `"2025-01-15T10:30:45.1234567Z"`, `"2025-01-15T10:30:45\u002B01:00"`,
		`"2025-01-15T10:30:45+01:00"`, `""`, `null`, `"  "`, `12`, `"2025-01-15T10:30:45Z\"`, "\"2025-01-15\x01\"", `"é"`} {
		var fast Time
		fastErr := fast.UnmarshalJSON([]byte(in))
		var s string
		var want time.Time
		var wantErr error
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			if in != "null" {
				wantErr = err
			}
		} else if strings.TrimSpace(s) != "" {
			want, wantErr = ParseTime(s)
		}
		if (fastErr == nil) != (wantErr == nil) || !fast.Equal(want) {
			t.Errorf("%s: got %v, %v; want %v, %v", in, fast.Time, fastErr, want, wantErr)
		}
	}
}
