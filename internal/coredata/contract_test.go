package coredata

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
)

// contract is what syncd relies on from CoreData, as one suite that runs
// against the simulator (always) and against a real tenant (with the
// contract build tag and credentials, see contract_real_test.go). A
// difference between the two is a bug in the simulator or in the client.
//
// It creates one file under parent and gives it a second version; nothing
// is deleted (syncd never deletes).
func contract(t *testing.T, c *Client, parent string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stamp := time.Now().UTC().Format("20060102T150405.000")
	title := "syncd contract test " + stamp
	v1 := []byte("%PDF-1.4\n% syncd contract test " + stamp + " v1\n")
	v2 := []byte("%PDF-1.4\n% syncd contract test " + stamp + " v2, signed\n")

	upload := func(body []byte, name string) Blob {
		t.Helper()
		b, err := c.RequestBlob(ctx, "application/pdf", int64(len(body)))
		if err != nil {
			t.Fatalf("request blob: %v", err)
		}
		if err := c.PutBlob(ctx, b, strings.NewReader(string(body)), int64(len(body)), "application/pdf", name); err != nil {
			t.Fatalf("put blob: %v", err)
		}
		return b
	}

	// The three-step create.
	b := upload(v1, "contract.pdf")
	tags := []string{"syncd-contract-test", "nexudus-file-999999999"}
	id, err := c.CreateFile(ctx, NewFile{BlobName: b.Name, Filename: "contract.pdf", Title: title, Parent: parent, Tags: tags})
	if err != nil {
		t.Fatalf("create file: %v", err)
	}
	f, err := c.GetFile(ctx, id)
	if err != nil {
		t.Fatalf("get file: %v", err)
	}
	if f.ID != id || f.Digest != md5hex(v1) || f.Title != title || f.Size != int64(len(v1)) || f.SnapshotID == "" {
		t.Fatalf("created file reads back as %+v", f)
	}
	for _, tag := range tags {
		if !slices.Contains(f.Tags, tag) {
			t.Fatalf("tag %q lost: %v", tag, f.Tags)
		}
	}

	// Listing by parent and title finds it (crash reconciliation and
	// state rebuild depend on this).
	list, err := c.ListFiles(ctx, parent, title)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Digest != f.Digest {
		t.Fatalf("listing by parent and title: %+v", list)
	}

	// A stale snapshot is a conflict; the right one makes a new version.
	b2 := upload(v2, "contract-signed.pdf")
	if _, err := c.UpdateContent(ctx, id, b2.Name, md5hex(v2), "stale-"+f.SnapshotID, "contract-signed.pdf"); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale snapshot: %v, want ErrConflict", err)
	}
	b2 = upload(v2, "contract-signed.pdf")
	v, err := c.UpdateContent(ctx, id, b2.Name, md5hex(v2), f.SnapshotID, "contract-signed.pdf")
	if err != nil {
		t.Fatalf("update content: %v", err)
	}
	f2, err := c.GetFile(ctx, id)
	if err != nil {
		t.Fatalf("get file after update: %v", err)
	}
	if f2.Digest != md5hex(v2) || f2.SnapshotID == f.SnapshotID || (v.SnapshotID != "" && v.SnapshotID != f2.SnapshotID) {
		t.Fatalf("after the content update: %+v (answer %+v)", f2, v)
	}

	// A title change keeps the file.
	if err := c.UpdateMetadata(ctx, id, Metadata{Title: title + " (renamed)", Filename: f2.Filename, Parent: parent, Tags: tags}); err != nil {
		t.Fatalf("update metadata: %v", err)
	}
	f3, err := c.GetFile(ctx, id)
	if err != nil || f3.Title != title+" (renamed)" || f3.Digest != f2.Digest {
		t.Fatalf("after the title change: %+v %v", f3, err)
	}

	if _, err := c.GetFile(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown file: %v, want ErrNotFound", err)
	}
}

func TestContractAgainstSimulator(t *testing.T) {
	sim := coredatatest.New(coredatatest.Options{})
	defer sim.Close()
	c, err := New(Config{BaseURL: sim.URL(), APIUser: sim.APIUser(), APIKey: sim.APIKey()}, sim.Client(), sim.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	contract(t, c, "313ae0be-71cf-11ee-b1e9-ebd554949e29")
}
