package coredata

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// ContentVersion is what CoreData reports after a content update: the md5
// of the new content and the snapshot id of the new version. A field is
// empty when the answer did not carry its header.
type ContentVersion struct {
	Digest, SnapshotID string
}

// UpdateContent makes the uploaded blob the new content of file id.
// md5hex is the md5 of the uploaded bytes (CoreData checks it); snapshotID,
// when set, is the version the update builds on: if the file has moved on,
// the answer is 409 and the error wraps ErrConflict. Like CreateFile it is
// never resent once it may have been applied (ErrOutcomeUnknown). A digest
// reported back that differs from md5hex wraps ErrDigestMismatch.
func (c *Client) UpdateContent(ctx context.Context, id, blobName, md5hex, snapshotID, filename string) (ContentVersion, error) {
	op := "update content of " + id
	switch {
	case !validID(id):
		return ContentVersion{}, fmt.Errorf("coredata: update content: invalid file id %q", httpx.Excerpt([]byte(id), 64))
	case blobName == "" || md5hex == "":
		return ContentVersion{}, fmt.Errorf("coredata: %s: blob name and digest are required", op)
	}
	q := url.Values{}
	q.Set("blob_name", blobName)
	q.Set("digest", md5hex)
	if snapshotID != "" {
		q.Set("snapshot_id", snapshotID)
	}
	if filename != "" {
		// The new bytes may be another format (the signed PDF after the
		// original DOCX): CoreData takes the name, and its extension, from
		// here.
		q.Set("filename", filename)
	}
	resp, err := c.do(ctx, call{op: op, method: http.MethodPut,
		url: c.endpoint("/api/v2/files/"+id+"/content/", q)})
	if err != nil {
		return ContentVersion{}, c.clean(err)
	}
	drain(resp)
	v := ContentVersion{
		Digest:     strings.TrimSpace(resp.Header.Get("X-Coredata-fields-filedigest")),
		SnapshotID: strings.TrimSpace(resp.Header.Get("X-Coredata-fields-snapshot-id")),
	}
	if v.Digest != "" && !strings.EqualFold(v.Digest, md5hex) {
		return v, fmt.Errorf("coredata: %s: CoreData reports digest %s for content sent as %s: %w", op, httpx.Excerpt([]byte(v.Digest), 64), md5hex, ErrDigestMismatch)
	}
	return v, nil
}
