package nexudus

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// pageBody is a list answer of n signed records as the simulator writes
// them (about 900 bytes a record).
func pageBody(b *testing.B, n int) []byte {
	sim := nexudustest.New(nexudustest.Options{})
	defer sim.Close()
	for i := 0; i < n; i++ {
		sim.AddFile(nexudustest.FileSpec{BusinessID: 1, BusinessName: "Main", CoworkerID: int64(100 + i), CoworkerFullName: fmt.Sprint("Member ", i),
			Name: fmt.Sprint("Contract ", i), FileName: "contract.pdf", SignedFileName: "signed.pdf", Signed: true,
			UpdatedOn: t0.Add(time.Duration(i) * time.Minute)})
	}
	c, err := New(Config{BaseURL: sim.URL, Username: sim.Username(), Password: sim.Password(), RequestsPerMinute: -1, RequestsPerHour: -1}, sim.Client(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := c.do(context.Background(), request{op: "bench", path: filesPath, query: c.listValues(ListQuery{}, 1), accept: "application/json"})
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatal(resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkDecodeListPage is the client's share of listing: decoding a page
// of 100 records (ns/record). A poll over records already mirrored costs
// little more than this and the engine's decision per record.
func BenchmarkDecodeListPage(b *testing.B) {
	for _, tc := range []struct {
		name   string
		decode func(int, string, []byte) (*Page, error)
	}{{"one-pass", decodeListPage}, {"encoding-json", decodeListPageJSON}, {"by-record", decodeListPageByRecord}} {
		b.Run(tc.name, func(b *testing.B) {
			body := pageBody(b, 100)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := tc.decode(200, "application/json", body)
				if err != nil || len(p.Records) != 100 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/record")
		})
	}
}
