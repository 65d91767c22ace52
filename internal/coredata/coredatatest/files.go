package coredatatest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// file is one CoreData File and its content history.
type file struct {
	id, parent, title, filename, dynatype string
	tags                                  []string
	created, modified                     time.Time
	versions                              []Version // oldest first; never empty
}

func (f *file) current() Version { return f.versions[len(f.versions)-1] }

// maxFieldBytes caps a non-file multipart field or a metadata body.
const maxFieldBytes = 1 << 20

// handleCreate is POST /api/v2/files/ (multipart: blob_name or content,
// filename, title, parent, dynatype, tags).
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, rec *Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "expected multipart/form-data")
		return
	}
	form := map[string]string{}
	var direct *Version // content uploaded in the create itself
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "malformed multipart body")
			return
		}
		name := part.FormName()
		if name == "content" {
			v, err := s.readContent(part, part.Header.Get("Content-Type"))
			if err != nil {
				writeJSONError(w, http.StatusBadRequest, "reading content: "+err.Error())
				return
			}
			direct = &v
			if form["filename"] == "" {
				form["filename"] = part.FileName()
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil || len(b) > maxFieldBytes {
			writeJSONError(w, http.StatusBadRequest, "field "+name+" unreadable or too large")
			return
		}
		form[name] = string(b)
	}
	rec.Form = form

	for _, k := range []string{"filename", "title", "parent"} {
		if strings.TrimSpace(form[k]) == "" {
			writeJSONError(w, http.StatusBadRequest, k+" is required")
			return
		}
	}
	if direct == nil && form["blob_name"] == "" {
		writeJSONError(w, http.StatusBadRequest, "content or blob_name is required")
		return
	}
	dynatype := form["dynatype"]
	if dynatype == "" {
		dynatype = "File"
	}

	s.mu.Lock()
	if rf, ok := s.refused[form["parent"]]; ok {
		s.mu.Unlock()
		writeJSONError(w, rf.Status, rf.Message)
		return
	}
	var v Version
	if direct != nil {
		v = *direct
	} else {
		var msg string
		v, msg = s.takeBlobLocked(form["blob_name"])
		if msg != "" {
			s.mu.Unlock()
			writeJSONError(w, http.StatusBadRequest, msg)
			return
		}
	}
	now := s.nowLocked()
	v.SnapshotID, v.Created = newUUID(), now
	f := &file{
		id: newUUID(), parent: form["parent"], title: s.storedTitle(form["title"]), filename: form["filename"],
		dynatype: dynatype, tags: splitTags(form["tags"]), created: now, modified: now,
		versions: []Version{v},
	}
	s.files[f.id] = f
	s.order = append(s.order, f.id)
	s.mu.Unlock()

	loc := "/api/v2/files/" + f.id + "/"
	if s.opts.AbsoluteLocation {
		loc = "http://" + r.Host + loc
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusCreated)
}

// takeBlobLocked turns an uploaded, unused blob into a version (marking it
// used), or returns why it cannot.
func (s *Server) takeBlobLocked(name string) (Version, string) {
	b, ok := s.blobs[name]
	switch {
	case !ok:
		return Version{}, "unknown blob_name"
	case !b.uploaded:
		return Version{}, "blob " + name + " has no content yet"
	case b.used:
		return Version{}, "blob " + name + " is already used"
	}
	b.used = true
	return Version{BlobName: name, Digest: b.md5, Size: b.size, MimeType: b.contentType, Content: b.content}, ""
}

// readContent hashes a directly uploaded body.
func (s *Server) readContent(r io.Reader, ctype string) (Version, error) {
	h := md5.New()
	var keep *bytes.Buffer
	var dst io.Writer = h
	if s.opts.KeepContent {
		keep = &bytes.Buffer{}
		dst = io.MultiWriter(h, keep)
	}
	n, err := io.Copy(dst, r)
	if err != nil {
		return Version{}, err
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	v := Version{BlobName: randomHex(16), Digest: hex.EncodeToString(h.Sum(nil)), Size: n, MimeType: ctype}
	if keep != nil {
		v.Content = keep.Bytes()
	}
	return v, nil
}

func splitTags(s string) []string {
	out := []string{}
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// handleGet is GET /api/v2/files/<id>/
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, _ *Request) {
	s.mu.Lock()
	f, ok := s.files[fileID(r.URL.Path)]
	var doc map[string]any
	if ok {
		doc = s.renderLocked(f)
	}
	s.mu.Unlock()
	if !ok {
		writeJSONError(w, http.StatusNotFound, "file not found")
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// handleUpdateContent is PUT /api/v2/files/<id>/content/?blob_name=&digest=&snapshot_id=&filename=
// (or the new bytes as the body when blob_name is absent).
func (s *Server) handleUpdateContent(w http.ResponseWriter, r *http.Request, _ *Request) {
	id := fileID(r.URL.Path)
	q := r.URL.Query()
	blobName, digest, snap := q.Get("blob_name"), strings.ToLower(q.Get("digest")), q.Get("snapshot_id")

	s.mu.Lock()
	_, exists := s.files[id]
	s.mu.Unlock()
	if !exists {
		writeJSONError(w, http.StatusNotFound, "file not found")
		return
	}
	if blobName != "" && digest == "" {
		writeJSONError(w, http.StatusBadRequest, "digest is required with blob_name")
		return
	}
	var direct *Version
	if blobName == "" {
		v, err := s.readContent(r.Body, r.Header.Get("Content-Type"))
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "reading content: "+err.Error())
			return
		}
		direct = &v
	}

	s.mu.Lock()
	f, ok := s.files[id]
	if !ok { // deleted while the body was read
		s.mu.Unlock()
		writeJSONError(w, http.StatusNotFound, "file not found")
		return
	}
	if snap != "" && snap != f.current().SnapshotID {
		s.mu.Unlock()
		writeJSONError(w, http.StatusConflict, "snapshot_id "+snap+" is not the latest version of the file")
		return
	}
	var v Version
	if direct != nil {
		v = *direct
	} else {
		b, ok := s.blobs[blobName]
		if ok && b.uploaded && !b.used && b.md5 != digest {
			s.mu.Unlock()
			writeJSONError(w, http.StatusBadRequest, "digest does not match the uploaded content")
			return
		}
		var msg string
		if v, msg = s.takeBlobLocked(blobName); msg != "" {
			s.mu.Unlock()
			writeJSONError(w, http.StatusBadRequest, msg)
			return
		}
	}
	now := s.nowLocked()
	v.SnapshotID, v.Created = newUUID(), now
	f.versions = append(f.versions, v)
	f.modified = now
	if fn := q.Get("filename"); fn != "" {
		f.filename = fn
	}
	s.mu.Unlock()

	w.Header().Set("X-Coredata-fields-filedigest", v.Digest)
	w.Header().Set("X-Coredata-fields-snapshot-id", v.SnapshotID)
	w.WriteHeader(http.StatusCreated)
}

// metadataBody is the JSON of PUT /api/v2/files/<id>/. Tags are documented
// as a comma-separated string; a list is accepted too.
type metadataBody struct {
	Title    *string         `json:"title"`
	Filename *string         `json:"filename"`
	Parent   *string         `json:"parent"`
	Dynatype *string         `json:"dynatype"`
	Tags     json.RawMessage `json:"tags"`
}

// handleUpdateMetadata is PUT /api/v2/files/<id>/ with a JSON body.
func (s *Server) handleUpdateMetadata(w http.ResponseWriter, r *http.Request, _ *Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSONError(w, http.StatusBadRequest, "expected application/json")
		return
	}
	var body metadataBody
	if err := json.NewDecoder(io.LimitReader(r.Body, maxFieldBytes)).Decode(&body); err != nil {
		writeJSONError(w, http.StatusBadRequest, "malformed JSON body")
		return
	}
	for k, v := range map[string]*string{"title": body.Title, "filename": body.Filename, "parent": body.Parent} {
		if v == nil || strings.TrimSpace(*v) == "" {
			writeJSONError(w, http.StatusBadRequest, k+" is required")
			return
		}
	}
	var tags []string
	if len(body.Tags) > 0 && string(body.Tags) != "null" {
		var str string
		if err := json.Unmarshal(body.Tags, &str); err == nil {
			tags = splitTags(str)
		} else if err := json.Unmarshal(body.Tags, &tags); err != nil {
			writeJSONError(w, http.StatusBadRequest, "tags must be a comma-separated string")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID(r.URL.Path)]
	if !ok {
		writeJSONError(w, http.StatusNotFound, "file not found")
		return
	}
	f.title, f.filename, f.parent = *body.Title, *body.Filename, *body.Parent
	if body.Dynatype != nil && *body.Dynatype != "" {
		f.dynatype = *body.Dynatype
	}
	if tags != nil {
		f.tags = tags
	}
	f.modified = s.nowLocked()
	w.WriteHeader(http.StatusNoContent)
}

// handleDelete is DELETE /api/v2/files/<id>/
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, _ *Request) {
	if !s.DeleteFile(fileID(r.URL.Path)) {
		writeJSONError(w, http.StatusNotFound, "file not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// renderLocked is the File JSON of the document's "Get File details".
func (s *Server) renderLocked(f *file) map[string]any {
	v := f.current()
	var tags any = f.tags
	if s.opts.TagObjects {
		objs := make([]map[string]string, len(f.tags))
		for i, t := range f.tags {
			objs[i] = map[string]string{"name": t, "title": t}
		}
		tags = objs
	}
	const ts = "2006-01-02T15:04:05"
	return map[string]any{
		"aspects":    map[string]any{},
		"blob_name":  v.BlobName,
		"category":   "main",
		"created":    f.created.UTC().Format(ts),
		"created_by": "API User",
		"digest":     v.Digest,
		"dynatype": map[string]string{
			"caption_plural":   "dynatypes_labels:" + f.dynatype + "_plural:",
			"caption_singular": "dynatypes_labels:" + f.dynatype + "_singular:",
			"id":               dynatypeID(f.dynatype),
			"title":            f.dynatype,
		},
		"description":    "",
		"filename":       f.filename,
		"fileplan":       "",
		"fileplan_title": "",
		"folder":         "",
		"id":             f.id,
		"mime_type":      v.MimeType,
		"modified":       f.modified.UTC().Format(ts),
		"modified_by":    "API User",
		"owner":          nil,
		"parent":         f.parent,
		"path":           "/domain/sim/" + url.PathEscape(f.parent) + "/" + url.PathEscape(f.filename),
		"project":        nil,
		"resource_uri":   "/api/v2/files/" + f.id + "/",
		"size":           v.Size,
		"snapshot_id":    v.SnapshotID,
		"space":          nil,
		"tags":           tags,
		"template":       nil,
		"title":          f.title,
		"type":           "File",
		"userhome":       nil,
		"version":        "0." + strconv.Itoa(len(f.versions)),
	}
}

// dynatypeID gives every dynatype name a stable fake UUID.
func dynatypeID(name string) string {
	sum := md5.Sum([]byte("dynatype:" + name))
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Server) storedTitle(t string) string {
	if s.opts.StoreTitle == nil {
		return t
	}
	return s.opts.StoreTitle(t)
}
