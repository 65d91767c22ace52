package coredata

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
)

// onlyReader hides Seek: a body that cannot be replayed.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// failingReader returns its error after some bytes.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	for i := range p {
		p[i] = 'x'
	}
	f.n -= len(p)
	return len(p), nil
}

// badSeeker fails to rewind.
type badSeeker struct{ *bytes.Reader }

func (badSeeker) Seek(int64, int) (int64, error) { return 0, errors.New("cannot rewind") }

func TestPutBlob(t *testing.T) {
	content := []byte("0123456789abcdef")
	errSource := errors.New("nexudus download broke")
	tests := []struct {
		name     string
		prepare  func(e *env, b *Blob)
		body     func() io.Reader
		length   int64
		ctype    string
		wantErr  error // nil: success
		wantText string
		puts     int // requests that reached storage
		uploaded bool
	}{
		{name: "ok", puts: 1, uploaded: true},
		{name: "forced expiry", prepare: func(e *env, _ *Blob) { e.sim.ExpireNextURLs(1) }, wantErr: ErrURLExpired, wantText: "Request has expired", puts: 1},
		{name: "expired by the clock", prepare: func(e *env, _ *Blob) { e.sim.Advance(time.Hour) }, wantErr: ErrURLExpired, puts: 1},
		{name: "tampered signature echoed by storage", prepare: func(e *env, b *Blob) {
			// S3 echoes the signature it got: the client must not repeat it.
			b.URL = strings.Replace(b.URL, "Signature=", "Signature=AA", 1)
			e.secrets = append(e.secrets, signatureOf(b.URL))
		}, wantErr: ErrURLExpired, wantText: "SignatureDoesNotMatch", puts: 1},
		{name: "content type differs from the declared one", ctype: "text/plain", wantErr: ErrURLExpired, puts: 1},
		{name: "500 twice, seekable body", prepare: func(e *env, _ *Blob) { e.sim.FailNext(coredatatest.RouteStorage, 500, 2) }, puts: 3, uploaded: true},
		{name: "429 then ok", prepare: func(e *env, _ *Blob) { e.sim.ThrottleNext(coredatatest.RouteStorage, "1", 1) }, puts: 2, uploaded: true},
		{name: "dropped connection, seekable body", prepare: func(e *env, _ *Blob) { e.sim.DropNext(coredatatest.RouteStorage, false, 1) }, puts: 2, uploaded: true},
		{name: "500, body cannot be replayed", prepare: func(e *env, _ *Blob) { e.sim.FailNext(coredatatest.RouteStorage, 500, 1) },
			body: func() io.Reader { return onlyReader{bytes.NewReader(content)} }, wantErr: ErrServer, puts: 1},
		{name: "stream body ok", body: func() io.Reader { return onlyReader{bytes.NewReader(content)} }, puts: 1, uploaded: true},
		{name: "500 until giving up", prepare: func(e *env, _ *Blob) { e.sim.FailNext(coredatatest.RouteStorage, 500, 100) },
			wantErr: ErrServer, wantText: "giving up after 6 attempts", puts: 6},
		{name: "rewind fails", prepare: func(e *env, _ *Blob) { e.sim.FailNext(coredatatest.RouteStorage, 500, 1) },
			body: func() io.Reader { return badSeeker{bytes.NewReader(content)} }, wantText: "rewinding", puts: 1},
		{name: "length other than declared", length: 4, body: func() io.Reader { return bytes.NewReader(content[:4]) }, wantErr: ErrBadRequest, puts: 1},
		{name: "body shorter than length", body: func() io.Reader { return onlyReader{bytes.NewReader(content[:5])} }, wantText: "body ended after 5 of 16 bytes"},
		{name: "source fails", body: func() io.Reader { return &failingReader{n: 3, err: errSource} }, wantErr: errSource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, coredatatest.Options{Now: fixedNow}, nil)
			b, err := e.c.RequestBlob(context.Background(), "application/pdf", int64(len(content)))
			if err != nil {
				t.Fatal(e.check(err))
			}
			if tt.prepare != nil {
				tt.prepare(e, &b)
			}
			body := io.Reader(bytes.NewReader(content))
			if tt.body != nil {
				body = tt.body()
			}
			length, ctype := int64(len(content)), "application/pdf"
			if tt.length != 0 {
				length = tt.length
			}
			if tt.ctype != "" {
				ctype = tt.ctype
			}
			err = e.check(e.c.PutBlob(context.Background(), b, body, length, ctype, "a.pdf"))
			switch {
			case tt.wantErr == nil && tt.wantText == "" && err != nil:
				t.Fatalf("PutBlob: %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)):
				t.Fatalf("err = %v, want text %q", err, tt.wantText)
			}
			if tt.puts > 0 {
				if got := e.sim.Count(coredatatest.RouteStorage); got != tt.puts {
					t.Fatalf("storage saw %d PUTs, want %d", got, tt.puts)
				}
			} else if got := e.sim.Count(coredatatest.RouteStorage); got > 1 {
				t.Fatalf("storage saw %d PUTs, want at most 1 (no retry)", got)
			}
			bi, _ := e.sim.Blob(b.Name)
			if bi.Uploaded != tt.uploaded || (tt.uploaded && bi.MD5 != md5hex(content)) {
				t.Fatalf("blob after PutBlob: %+v", bi)
			}
			if tt.wantErr == ErrURLExpired {
				if v := e.metric("syncd_api_requests_total", map[string]string{"api": "storage", "code": "403"}); v != 1 {
					t.Fatalf("storage 403 metric = %v", v)
				}
			}
		})
	}
}

func signatureOf(raw string) string {
	u, _ := url.Parse(raw)
	return u.Query().Get("Signature")
}

func TestPutBlobEmptyAndCancelled(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	ctx := context.Background()
	b, err := e.c.RequestBlob(ctx, "application/pdf", 0)
	if err != nil {
		t.Fatal(e.check(err))
	}
	if err := e.check(e.c.PutBlob(ctx, b, strings.NewReader(""), 0, "application/pdf", "empty.pdf")); err != nil {
		t.Fatalf("empty upload: %v", err)
	}
	if bi, _ := e.sim.Blob(b.Name); !bi.Uploaded || bi.MD5 != md5hex(nil) {
		t.Fatalf("empty blob %+v", bi)
	}

	b, err = e.c.RequestBlob(ctx, "application/pdf", 3)
	if err != nil {
		t.Fatal(e.check(err))
	}
	e.sim.SetStorageLatency(10 * time.Second)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = e.check(e.c.PutBlob(cctx, b, strings.NewReader("abc"), 3, "application/pdf", "a.pdf"))
	if !errors.Is(err, context.DeadlineExceeded) || e.sim.Count(coredatatest.RouteStorage) != 2 {
		t.Fatalf("cancelled upload: %v (%d PUTs)", err, e.sim.Count(coredatatest.RouteStorage))
	}
}

func TestPutBlobRefusesBadURLs(t *testing.T) {
	e := newEnv(t, coredatatest.Options{}, nil)
	e.secrets = append(e.secrets, "SIGSECRET", "KEYSECRET")
	tests := []string{
		"http://storage.example.com/laika/x?AWSAccessKeyId=KEYSECRET&Signature=SIGSECRET", // clear text off the machine
		"ftp://127.0.0.1/laika/x?Signature=SIGSECRET",
		"/laika/x?Signature=SIGSECRET",
		"http://[::1/laika/x?Signature=SIGSECRET",
	}
	for _, u := range tests {
		t.Run(u, func(t *testing.T) {
			err := e.check(e.c.PutBlob(context.Background(), Blob{Name: "x", URL: u}, strings.NewReader("a"), 1, "a/b", "a"))
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if err := e.check(e.c.PutBlob(context.Background(), Blob{Name: "x", URL: e.sim.URL() + "/laika/x"}, nil, 1, "a/b", "a")); err == nil {
		t.Fatal("nil body accepted")
	}
}

// TestRequestBlobAnswers drives RequestBlob against answers the simulator
// does not give.
func TestRequestBlobAnswers(t *testing.T) {
	tests := []struct {
		name, body string
		wantText   string
	}{
		{"remote plain http URL", `{"blobName":"abc","presignedUrl":"http://evil.example/laika/abc?Signature=SIGSECRET"}`, "scheme"},
		{"no blob name", `{"presignedUrl":"https://s.example/laika/abc?Signature=SIGSECRET"}`, "blobName"},
		{"blob name with a path", `{"blobName":"../x","presignedUrl":"https://s.example/laika/abc?Signature=SIGSECRET"}`, "blobName"},
		{"malformed JSON echoing the URL", `{"blobName":"abc","presignedUrl":"https://s.example/laika/abc?Signature=SIGSECRET"`, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, check := customClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.body)
			}, "SIGSECRET")
			_, err := c.RequestBlob(context.Background(), "application/pdf", 1)
			if check(err) == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("err = %v, want %q", err, tt.wantText)
			}
		})
	}
	c, check := customClient(t, func(http.ResponseWriter, *http.Request) { t.Error("request sent") })
	for _, tt := range []struct {
		ctype string
		n     int64
	}{{"", 1}, {"a/b", -1}} {
		if _, err := c.RequestBlob(context.Background(), tt.ctype, tt.n); check(err) == nil {
			t.Fatalf("RequestBlob(%q, %d) accepted", tt.ctype, tt.n)
		}
	}
}

// customClient is a client on a hand-written server, with the fake sleep;
// check asserts that an error holds neither the key nor the extra secrets.
func customClient(t *testing.T, h http.HandlerFunc, secrets ...string) (*Client, func(error) error) {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	const key = "custom-key-secret"
	c, err := New(Config{BaseURL: ts.URL, APIUser: "u", APIKey: key, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }},
		ts.Client(), ts.Client(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, key)
	return c, func(err error) error {
		t.Helper()
		if err == nil {
			return nil
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("secret %q in error: %v", s, err)
			}
		}
		return err
	}
}
