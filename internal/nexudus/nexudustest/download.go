package nexudustest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"
)

// presignTTL is how long a storage URL stays valid on the simulator clock.
const presignTTL = 5 * time.Minute

// chunk is the write size of chunked bodies.
const chunk = 32 << 10

// blob is a file parked behind a presigned storage URL.
type blob struct {
	data        []byte
	contentType string
	name        string
}

func (s *Server) handleDownload(signed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		s.mu.Lock()
		f, ok := s.files[id]
		var b blob
		if ok {
			b = blob{data: f.Data, name: f.FileName}
			if signed {
				b = blob{data: f.SignedData, name: f.SignedFileName}
			}
		}
		redirect, chunked := s.opts.RedirectDownloads, s.opts.ChunkedDownloads
		s.mu.Unlock()
		if err != nil || !ok || b.name == "" {
			writeJSON(w, http.StatusNotFound, map[string]any{"Message": "File not found"})
			return
		}
		b.contentType = contentType(b.name)
		if redirect {
			http.Redirect(w, r, s.presign(b), http.StatusFound)
			return
		}
		writeBlob(w, b, chunked)
	}
}

// presign parks b under a random key and returns a signed-looking URL.
func (s *Server) presign(b blob) string {
	key := randomHex(12)
	s.mu.Lock()
	s.blobs[key] = b
	expires := s.clock.now().Add(presignTTL).Unix()
	s.mu.Unlock()
	base := s.URL
	if s.storage != nil {
		base = s.storage.URL
	}
	q := url.Values{
		"AWSAccessKeyId": {"SIMACCESSKEY"},
		"Expires":        {strconv.FormatInt(expires, 10)},
		"Signature":      {s.sign(key, expires)},
	}
	return base + "/storage/" + key + "?" + q.Encode()
}

func (s *Server) sign(key string, expires int64) string {
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "%s\n%d", key, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// handleStorage serves presigned URLs like S3: the signature must match and
// not be expired, and a request that also carries an Authorization header
// is refused (S3 allows one auth mechanism), which is how a client that
// leaks its credentials to storage shows up.
func (s *Server) handleStorage(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	q := r.URL.Query()
	expires, _ := strconv.ParseInt(q.Get("Expires"), 10, 64)
	s.mu.Lock()
	b, ok := s.blobs[key]
	now := s.clock.now()
	chunked := s.opts.ChunkedDownloads
	leaked := r.Header.Get("Authorization") != ""
	if leaked {
		s.storageAuth++
	}
	s.mu.Unlock()
	switch {
	case leaked:
		s3Error(w, http.StatusBadRequest, "InvalidArgument", "Only one auth mechanism allowed")
	case !ok || !hmac.Equal([]byte(q.Get("Signature")), []byte(s.sign(key, expires))):
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	case now.Unix() > expires:
		s3Error(w, http.StatusForbidden, "AccessDenied", "Request has expired")
	default:
		writeBlob(w, b, chunked)
	}
}

// StorageRequestsWithAuth counts storage requests that carried an
// Authorization header (credentials leaked to the storage host).
func (s *Server) StorageRequestsWithAuth() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storageAuth
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>", code, msg, randomHex(8))
}

func writeBlob(w http.ResponseWriter, b blob, chunked bool) {
	w.Header().Set("Content-Type", b.contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": b.name}))
	if !chunked {
		w.Header().Set("Content-Length", strconv.Itoa(len(b.data)))
		_, _ = w.Write(b.data)
		return
	}
	// Flushing before the end makes net/http send the body chunked.
	fl, _ := w.(http.Flusher)
	w.WriteHeader(http.StatusOK)
	for off := 0; off < len(b.data) || off == 0; off += chunk {
		end := min(off+chunk, len(b.data))
		_, _ = w.Write(b.data[off:end])
		if fl != nil {
			fl.Flush()
		}
		if end == len(b.data) {
			break
		}
	}
}

func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
