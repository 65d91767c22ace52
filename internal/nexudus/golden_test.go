package nexudus

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// The document's own example decodes field by field; its record is not
// Signed, so the client drops it from Records.
func TestDecodeDocExample(t *testing.T) {
	body, err := payload("list_page_doc.json")
	if err != nil {
		t.Fatal(err)
	}
	var env envelope[File]
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	f := env.Records[0]
	if f.ID != 87654321 || f.UniqueID != "a1b2c3d4-e5f6-7890-abcd-ef1234567890" || f.UpdatedBy != "admin@example.com" ||
		!f.UpdatedOn.Equal(time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)) || !f.CreatedOn.Equal(time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)) ||
		f.BusinessName != "" || f.Signed {
		t.Fatalf("record %+v", f)
	}
	if env.CurrentPageSize != 15 || env.CurrentOrderField != "Name" || env.CurrentSortDirection != 1 || env.FirstItem != 1 ||
		env.LastItem != 1 || env.PageNumber != 1 || env.TotalItems != 1 || env.TotalPages != 1 || env.HasNextPage || env.HasPreviousPage {
		t.Fatalf("envelope %+v", env)
	}
	p, err := decodeListPage(200, "application/json; charset=utf-8", body)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 0 || p.Unsigned != 1 || p.Page != 1 || p.PageSize != 15 {
		t.Fatalf("page %+v", p)
	}
}

// A recorded page in the document's shape (partial records, mixed time
// forms) decodes to the golden Page.
func TestDecodeRecordedPageGolden(t *testing.T) {
	body, err := payload("list_page.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := decodeListPage(200, "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "list_page.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("decoded page differs from %s (go test -run Golden -update):\n%s", golden, got)
	}
	// The points the golden file encodes, stated outright.
	if len(p.Records) != 2 || p.Unsigned != 1 || p.Page != 2 || p.TotalPages != 3 || !p.HasNextPage {
		t.Fatalf("page %+v", p)
	}
	if want := time.Date(2025, 1, 15, 10, 32, 10, 500000000, time.UTC); !p.Records[1].UpdatedOn.Equal(want) {
		t.Fatalf("offset time %v", p.Records[1].UpdatedOn)
	}
}
