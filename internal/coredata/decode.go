package coredata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// File is a CoreData file as GetFile and ListFiles return it (the fields
// syncd uses; Digest and SnapshotID are those of the latest version).
type File struct {
	ID, Digest, SnapshotID, Title, Filename, Parent, MimeType, BlobName string
	Size                                                                int64
	Tags                                                                []string
	Created, Modified                                                   string
	Dynatype                                                            string // the dynatype's title, e.g. "File"
}

// fileJSON is the wire form. Some fields come in more than one shape across
// CoreData versions (parent and dynatype as a string or an object, tags as
// strings or objects, size as a number or a string); the helper types
// accept each of them.
type fileJSON struct {
	ID          string    `json:"id"`
	ResourceURI string    `json:"resource_uri"`
	Digest      string    `json:"digest"`
	SnapshotID  string    `json:"snapshot_id"`
	Title       string    `json:"title"`
	Filename    string    `json:"filename"`
	Parent      refField  `json:"parent"`
	MimeType    string    `json:"mime_type"`
	BlobName    string    `json:"blob_name"`
	Size        sizeField `json:"size"`
	Tags        tagsField `json:"tags"`
	Created     string    `json:"created"`
	Modified    string    `json:"modified"`
	Dynatype    nameField `json:"dynatype"`
}

// decodeFile decodes one file object.
func decodeFile(data []byte) (*File, error) {
	var j fileJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, err
	}
	return j.file()
}

func (j fileJSON) file() (*File, error) {
	id := j.ID
	if id == "" && j.ResourceURI != "" {
		id, _ = ParseLocation(j.ResourceURI)
	}
	if !validID(id) {
		return nil, errors.New("file object has no valid id")
	}
	return &File{
		ID: id, Digest: strings.ToLower(strings.TrimSpace(j.Digest)), SnapshotID: j.SnapshotID,
		Title: j.Title, Filename: j.Filename, Parent: string(j.Parent), MimeType: j.MimeType,
		BlobName: j.BlobName, Size: int64(j.Size), Tags: []string(j.Tags),
		Created: j.Created, Modified: j.Modified, Dynatype: string(j.Dynatype),
	}, nil
}

// refField is an id given as "uuid" or as {"id": "uuid", ...}.
type refField string

func (r *refField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*r = ""
		return nil
	case len(b) > 0 && b[0] == '{':
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return fmt.Errorf("parent: %w", err)
		}
		*r = refField(o.ID)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("parent: %w", err)
	}
	*r = refField(s)
	return nil
}

// nameField is a name given as "File" or as {"title": "File", ...} or
// {"name": "File"}.
type nameField string

func (n *nameField) UnmarshalJSON(b []byte) error {
	s, err := nameOf(b)
	if err != nil {
		return fmt.Errorf("dynatype: %w", err)
	}
	*n = nameField(s)
	return nil
}

// nameOf reads a string, or the "name" (else "title") of an object.
func nameOf(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return "", nil
	}
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			Name  *string `json:"name"`
			Title *string `json:"title"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return "", err
		}
		switch {
		case o.Name != nil && *o.Name != "":
			return *o.Name, nil
		case o.Title != nil:
			return *o.Title, nil
		}
		return "", nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}

// tagsField is a tag list: strings, objects with "name" or "title", or the
// comma-separated string the write side uses. Blank tags are dropped.
type tagsField []string

func (t *tagsField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	switch {
	case bytes.Equal(b, []byte("null")):
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		for _, p := range strings.Split(s, ",") {
			add(p)
		}
	default:
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		for _, r := range raw {
			s, err := nameOf(r)
			if err != nil {
				return fmt.Errorf("tags: %w", err)
			}
			add(s)
		}
	}
	*t = out
	return nil
}

// sizeField is a byte count given as a number (possibly written as a
// float, 3028.0) or a numeric string.
type sizeField int64

func (s *sizeField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return fmt.Errorf("size: %w", err)
		}
		b = []byte(strings.TrimSpace(str))
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		if n < 0 {
			return fmt.Errorf("size %d is negative", n)
		}
		*s = sizeField(n)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f != math.Trunc(f) || f > math.MaxInt64/2 {
		return fmt.Errorf("size %q is not a byte count", httpx.Shorten(string(b), 40))
	}
	*s = sizeField(int64(f))
	return nil
}
