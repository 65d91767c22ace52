package coredata

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeFile: decoding never panics, and what it accepts is a valid,
// stable File: re-encoding it in the canonical shape decodes to the same.
func FuzzDecodeFile(f *testing.F) {
	f.Add([]byte(`{"id":"a","tags":[{"name":"x"},{"title":"y"},"z"],"size":"12","parent":{"id":"p"},"dynatype":"Contract"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeFile(data)
		if err != nil {
			return
		}
		if !validID(got.ID) || got.Size < 0 {
			t.Fatalf("accepted id %q size %d", got.ID, got.Size)
		}
		for _, tag := range got.Tags {
			if tag == "" || strings.TrimSpace(tag) != tag {
				t.Fatalf("tag %q not trimmed", tag)
			}
		}
		canon, err := json.Marshal(map[string]any{
			"id": got.ID, "digest": got.Digest, "snapshot_id": got.SnapshotID, "title": got.Title,
			"filename": got.Filename, "parent": got.Parent, "mime_type": got.MimeType, "blob_name": got.BlobName,
			"size": got.Size, "tags": got.Tags, "created": got.Created, "modified": got.Modified,
			"dynatype": map[string]string{"title": got.Dynatype},
		})
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeFile(canon)
		if err != nil {
			t.Fatalf("canonical form %s rejected: %v", canon, err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip changed the file:\n%+v\n%+v", got, again)
		}
	})
}

// FuzzParseLocation: an accepted id is a single safe path segment, and the
// documented form of that id parses back to it.
func FuzzParseLocation(f *testing.F) {
	f.Add("/api/v2/files/cb2cca52-7422-11ee-91ce-dff1c719d262/")
	f.Fuzz(func(t *testing.T, loc string) {
		id, err := ParseLocation(loc)
		if err != nil {
			if id != "" {
				t.Fatalf("error with id %q", id)
			}
			return
		}
		if !validID(id) || strings.ContainsAny(id, "/?#%.") {
			t.Fatalf("ParseLocation(%q) = unsafe id %q", loc, id)
		}
		if back, err := ParseLocation("/api/v2/files/" + id + "/"); err != nil || back != id {
			t.Fatalf("documented form of %q parses to %q, %v", id, back, err)
		}
	})
}

func TestRedactText(t *testing.T) {
	in := `body {"presignedUrl":"https://h/laika/x?AWSAccessKeyId=s3f%3Auser&Expires=1&Signature=abc%2Fdef%3D"} <SignatureProvided>SIGX</SignatureProvided><AWSAccessKeyId>s3f:u</AWSAccessKeyId>`
	out := redactText(string(redactBody([]byte(in))))
	for _, s := range []string{"s3f%3Auser", "abc%2Fdef", "SIGX", "s3f:u"} {
		if strings.Contains(out, s) {
			t.Errorf("%q kept in %s", s, out)
		}
	}
	if !strings.Contains(out, "Expires=1") {
		t.Errorf("harmless parameter dropped: %s", out)
	}
}
