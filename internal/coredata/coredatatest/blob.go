package coredatatest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// blob is one presigned upload slot and, once uploaded, its md5 and size.
type blob struct {
	name        string
	contentType string // declared at issue time, part of the signature
	length      int64  // declared at issue time, part of the signature
	expires     int64  // unix seconds on the sim clock

	uploaded bool
	md5      string
	size     int64
	slug     string
	content  []byte // only with Options.KeepContent
	used     bool   // a blob backs at most one file version
}

// BlobInfo is what the simulator knows about a blob.
type BlobInfo struct {
	Name, ContentType string
	DeclaredLength    int64
	Expires           time.Time
	Uploaded          bool
	MD5               string
	Size              int64
	Slug              string
	Used              bool
}

// Blob reports the state of a blob by name.
func (s *Server) Blob(name string) (BlobInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[name]
	if !ok {
		return BlobInfo{}, false
	}
	return BlobInfo{
		Name: b.name, ContentType: b.contentType, DeclaredLength: b.length,
		Expires: time.Unix(b.expires, 0), Uploaded: b.uploaded, MD5: b.md5,
		Size: b.size, Slug: b.slug, Used: b.used,
	}, true
}

// sign is the presigned-URL signature: HMAC-SHA1 over what the upload must
// match, base64 as in S3's query-string authentication.
func (s *Server) sign(name string, expires, length int64, contentType string) string {
	m := hmac.New(sha1.New, s.signKey)
	fmt.Fprintf(m, "PUT\n%s\n%d\n%d\n%s", name, expires, length, contentType)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// handleBlob is POST /api/v3/blob/presigned-upload-url/?content_type=&content_length=
func (s *Server) handleBlob(w http.ResponseWriter, r *http.Request, _ *Request) {
	q := r.URL.Query()
	ctype := q.Get("content_type")
	length, err := strconv.ParseInt(q.Get("content_length"), 10, 64)
	switch {
	case ctype == "":
		writeJSONError(w, http.StatusBadRequest, "content_type is required")
		return
	case err != nil || length < 0:
		writeJSONError(w, http.StatusBadRequest, "content_length must be a non-negative integer")
		return
	}
	name := randomHex(16)
	s.mu.Lock()
	expires := s.nowLocked().Add(s.opts.URLTTL).Unix()
	sig := s.sign(name, expires, length, ctype)
	s.blobs[name] = &blob{name: name, contentType: ctype, length: length, expires: expires}
	s.secrets = append(s.secrets, sig)
	s.mu.Unlock()

	q = url.Values{}
	q.Set("AWSAccessKeyId", s.accessKey)
	q.Set("Expires", strconv.FormatInt(expires, 10))
	q.Set("Signature", sig)
	// The URL points at the host the client used, so a simulator behind any
	// listener hands out reachable URLs.
	presigned := (&url.URL{Scheme: "http", Host: r.Host, Path: "/laika/" + name, RawQuery: q.Encode()}).String()
	writeJSON(w, http.StatusOK, map[string]string{"blobName": name, "presignedUrl": presigned})
}

// handleStorage is PUT /laika/<blob>?AWSAccessKeyId=&Expires=&Signature=
func (s *Server) handleStorage(w http.ResponseWriter, r *http.Request, _ *Request) {
	name := strings.TrimPrefix(r.URL.Path, "/laika/")
	q := r.URL.Query()
	gotSig := q.Get("Signature")
	expires, expErr := strconv.ParseInt(q.Get("Expires"), 10, 64)
	s.mu.Lock()
	b := s.blobs[name]
	var length int64
	sigOK := false
	if b != nil && expErr == nil && q.Get("AWSAccessKeyId") == s.accessKey {
		length = b.length
		want := s.sign(name, expires, b.length, r.Header.Get("Content-Type"))
		sigOK = hmac.Equal([]byte(gotSig), []byte(want))
	}
	now := s.nowLocked()
	forced := false
	if sigOK && s.expireN > 0 {
		s.expireN--
		forced = true
	}
	s.mu.Unlock()

	switch {
	case !sigOK:
		// Like S3, the error echoes the key id and signature it received:
		// a client must not copy such a body into its errors verbatim.
		writeS3Error(w, http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.",
			"<AWSAccessKeyId>"+xmlEscape(q.Get("AWSAccessKeyId"))+"</AWSAccessKeyId><SignatureProvided>"+xmlEscape(gotSig)+"</SignatureProvided>")
		return
	case forced || now.Unix() > expires:
		writeS3Error(w, http.StatusForbidden, "AccessDenied", "Request has expired",
			"<Expires>"+time.Unix(expires, 0).UTC().Format(time.RFC3339)+"</Expires><ServerTime>"+now.UTC().Format(time.RFC3339)+"</ServerTime>")
		return
	case r.ContentLength != length:
		writeS3Error(w, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Content-Length %d does not match the declared length %d", r.ContentLength, length), "")
		return
	}

	h := md5.New()
	var keep *bytes.Buffer
	var dst io.Writer = h
	if s.opts.KeepContent {
		keep = &bytes.Buffer{}
		dst = io.MultiWriter(h, keep)
	}
	n, err := io.Copy(dst, io.LimitReader(r.Body, length+1))
	if err != nil || n != length {
		writeS3Error(w, http.StatusBadRequest, "IncompleteBody",
			"You did not provide the number of bytes specified by the Content-Length HTTP header", "")
		return
	}
	sum := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	b.uploaded, b.md5, b.size, b.slug = true, sum, n, r.Header.Get("Slug")
	if keep != nil {
		b.content = keep.Bytes()
	}
	s.mu.Unlock()
	w.Header().Set("ETag", `"`+sum+`"`)
	w.WriteHeader(http.StatusCreated)
}

func writeS3Error(w http.ResponseWriter, status int, code, msg, extra string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>%s</Code><Message>%s</Message>%s<RequestId>%s</RequestId></Error>\n",
		code, xmlEscape(msg), extra, randomHex(8))
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
