package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/config"
	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
)

// The wiring's timeouts bound a stalled transfer, not a slow one: with
// nexudus.timeout and coredata.timeout far below how long the transfers
// take in total, a steady trickle completes both ways, and a peer that
// goes silent fails as a timeout.

const (
	wiringStall = 150 * time.Millisecond // nexudus.timeout, coredata.timeout
	trickleGap  = 10 * time.Millisecond  // well under the stall
	trickleLen  = 40                     // bytes: ~400ms in all, over twice the stall
)

// stallConfig is a validated-enough configuration pointing both APIs at
// url (plain http on loopback is allowed).
func stallConfig(url string) *config.Config {
	cfg := config.Defaults()
	cfg.Nexudus.BaseURL = url
	cfg.Nexudus.Auth = "basic"
	cfg.Nexudus.Username, cfg.Nexudus.Password = "user", "secret"
	cfg.Nexudus.RequestsPerMinute, cfg.Nexudus.RequestsPerHour = 0, 0
	cfg.Nexudus.MaxRetries = -1
	cfg.Nexudus.Timeout = wiringStall
	cfg.CoreData.BaseURL = url
	cfg.CoreData.APIUser, cfg.CoreData.APIKey = "apiuser", "apikey"
	cfg.CoreData.MaxRetries = -1
	cfg.CoreData.Timeout = wiringStall
	return &cfg
}

// trickle writes n bytes, one every gap, flushing each.
func trickle(w http.ResponseWriter, n int, gap time.Duration) {
	f := w.(http.Flusher)
	for i := 0; i < n; i++ {
		if _, err := w.Write([]byte{'x'}); err != nil {
			return
		}
		f.Flush()
		time.Sleep(gap)
	}
}

// newStallClients builds the clients the way syncd does, against one
// server that plays Nexudus, CoreData and storage; it returns the server's
// URL too, for presigned upload URLs.
func newStallClients(t *testing.T, h http.Handler) (*clients, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cl, err := newClients(stallConfig(srv.URL), nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return cl, srv.URL
}

func TestWiringSlowDownloadCompletes(t *testing.T) {
	cl, _ := newStallClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		trickle(w, trickleLen, trickleGap)
	}))
	d, err := cl.nexudus.Download(context.Background(), nexudus.File{ID: 7})
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer d.Body.Close()
	b, err := io.ReadAll(d.Body)
	if err != nil {
		t.Fatalf("a slow but steady download failed: %v", err)
	}
	if len(b) != trickleLen {
		t.Fatalf("got %d bytes, want %d", len(b), trickleLen)
	}
}

func TestWiringStalledDownloadTimesOut(t *testing.T) {
	release := make(chan struct{})
	cl, _ := newStallClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		trickle(w, 3, trickleGap)
		select { // then silence
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handler
	d, err := cl.nexudus.Download(context.Background(), nexudus.File{ID: 7})
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer d.Body.Close()
	_, err = io.ReadAll(d.Body)
	assertTimeout(t, err)
}

func TestWiringSlowUploadCompletes(t *testing.T) {
	got := make(chan int, 1)
	cl, url := newStallClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- len(b)
	}))
	blob := coredata.Blob{Name: "b1", URL: url + "/laika/b1?Signature=x"}
	body := &slowReader{r: bytes.NewReader(bytes.Repeat([]byte{'x'}, trickleLen)), gap: trickleGap}
	// A reader that is not a ReadSeeker: no retry could hide a failure.
	if err := cl.coredata.PutBlob(context.Background(), blob, body, trickleLen, "application/pdf", "a.pdf"); err != nil {
		t.Fatalf("a slow but steady upload failed: %v", err)
	}
	if n := <-got; n != trickleLen {
		t.Fatalf("storage got %d bytes, want %d", n, trickleLen)
	}
}

func TestWiringStalledUploadTimesOut(t *testing.T) {
	release := make(chan struct{})
	cl, url := newStallClients(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never reads the body, never answers
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handler
	blob := coredata.Blob{Name: "b1", URL: url + "/laika/b1?Signature=x"}
	// Bigger than any socket buffer, so the writes block.
	const n = 64 << 20
	done := make(chan error, 1)
	go func() {
		done <- cl.coredata.PutBlob(context.Background(), blob, io.LimitReader(zeros{}, n), n, "application/pdf", "a.pdf")
	}()
	select {
	case err := <-done:
		assertTimeout(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("a stalled upload never failed")
	}
}

func assertTimeout(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("a stalled transfer succeeded")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("not a timeout: %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("not classified as a deadline (an unavailable API): %v", err)
	}
	if !strings.Contains(err.Error(), "stall") {
		t.Fatalf("error does not name the stall: %v", err)
	}
}

// slowReader hands out one byte per gap: a source slower than the stall
// bound in total, never silent for that long.
type slowReader struct {
	r   io.Reader
	gap time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.gap)
	if len(p) > 1 {
		p = p[:1]
	}
	return s.r.Read(p)
}

// zeros is an endless source that never blocks.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
