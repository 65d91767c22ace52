package nexudus

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// contract is what syncd relies on from Nexudus, as one read-only suite
// that runs against the simulator (always) and against a real tenant (with
// the contract build tag and credentials, see contract_real_test.go). A
// difference between the two is a bug in the simulator or in the client.
func contract(t *testing.T, c *Client, since time.Time) {
	t.Helper()
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

	if _, err := c.LegalContentAudits(ctx, first.CoworkerID); err != nil {
		t.Fatalf("legal content audits of customer %d: %v", first.CoworkerID, err)
	}
}

func TestContractAgainstSimulator(t *testing.T) {
	sim := nexudustest.New(nexudustest.Options{RedirectDownloads: true, FractionalSeconds: true})
	defer sim.Close()
	since := sim.Now().Add(-time.Hour)
	sim.AddFile(nexudustest.FileSpec{BusinessID: 1, CoworkerID: 5, Name: "a", FileName: "a.pdf", Data: []byte("a"),
		SignedFileName: "a-signed.pdf", SignedData: []byte("signed a"), Signed: true})
	sim.AddFile(nexudustest.FileSpec{BusinessID: 1, CoworkerID: 5, Name: "b", FileName: "b.pdf", Data: []byte("b")})
	sim.AddAudit(nexudustest.AuditSpec{CoworkerID: 5, BusinessID: 1, Name: "Terms"})
	c, err := New(Config{BaseURL: sim.URL, Username: sim.Username(), Password: sim.Password()},
		&http.Client{Timeout: time.Minute}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	contract(t, c, since)
}
