package nexudustest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestThrottling(t *testing.T) {
	s := newSim(t, Options{})
	tok := login(t, s)
	s.ThrottleNext(2, 1500*time.Millisecond)
	for i := 0; i < 2; i++ {
		resp := get(t, s, "/api/spaces/coworkerdatafiles", tok)
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict || resp.Header.Get("Retry-After") != "2" {
			t.Fatalf("throttle %d: %d %q", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if s.EarlyRetries() != 1 {
		t.Fatalf("early retries %d", s.EarlyRetries())
	}
	s.Advance(2 * time.Second)
	if resp := get(t, s, "/api/spaces/coworkerdatafiles", tok); resp.StatusCode != 200 {
		t.Fatalf("after throttle: %d", resp.StatusCode)
	}

	r := newSim(t, Options{RequestsPerMinute: 3, ThrottleStatus: http.StatusTooManyRequests})
	tok = login(t, r) // 1
	for i := 0; i < 2; i++ {
		get(t, r, "/api/spaces/coworkerdatafiles", tok).Body.Close()
	}
	r.Advance(20 * time.Second)
	resp := get(t, r, "/api/spaces/coworkerdatafiles", tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "40" {
		t.Fatalf("rate limit: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	r.Advance(40 * time.Second)
	if resp := get(t, r, "/api/spaces/coworkerdatafiles", tok); resp.StatusCode != 200 {
		t.Fatalf("window slid: %d", resp.StatusCode)
	}
	r.SetRateLimit(0, 4)
	resp = get(t, r, "/api/spaces/coworkerdatafiles", tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || r.Throttled() != 2 {
		t.Fatalf("hour limit: %d, throttled %d", resp.StatusCode, r.Throttled())
	}
}

func TestFaults(t *testing.T) {
	s := newSim(t, Options{})
	s.AddFile(FileSpec{Name: "a", FileName: "a.txt", Data: []byte("0123456789")})
	tok := login(t, s)
	path := "/api/spaces/coworkerdatafiles"

	s.FailNext(RouteList, 1, Fault{HTML: true, Status: 502})
	resp := get(t, s, path, tok)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || !strings.Contains(string(b), "<html>") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("html: %d %s", resp.StatusCode, b)
	}

	s.FailNext(RouteList, 1, Fault{MalformedJSON: true})
	resp = get(t, s, path, tok)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Valid(b) {
		t.Fatalf("malformed: %d %s", resp.StatusCode, b)
	}

	s.FailNext(RouteList, 1, Fault{Status: 503, RetryAfter: "3"})
	resp = get(t, s, path, tok)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("503: %d", resp.StatusCode)
	}

	for _, route := range []Route{RouteList, RouteDownload} {
		s.FailNext(route, 1, Fault{Truncate: true})
		p := path
		if route == RouteDownload {
			p += "/getFileData/1001"
		}
		resp = get(t, s, p, tok)
		_, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncated %s: %v", route, err)
		}
	}

	s.FailWhen(func(route Route, r Request) bool { return r.Query.Get("page") == "2" }, -1, Fault{Reset: true})
	if _, err := s.Client().Get(s.URL + path + "?page=2"); err == nil {
		t.Fatal("reset: no error")
	}
	if resp := get(t, s, path+"?page=1", tok); resp.StatusCode != 200 {
		t.Fatalf("predicate hit page 1: %d", resp.StatusCode)
	}
	if _, err := s.Client().Get(s.URL + path + "?page=2"); err == nil {
		t.Fatal("forever fault ran out")
	}
	s.ClearFaults()
	if resp := get(t, s, path+"?page=2", tok); resp.StatusCode != 200 {
		t.Fatalf("after ClearFaults: %d", resp.StatusCode)
	}
	if s.Counts()[RouteList] != 8 {
		t.Fatalf("counts %v", s.Counts())
	}
	s.ResetCounts()
	if s.Count(RouteList) != 0 || len(s.Requests()) != 0 {
		t.Fatal("ResetCounts")
	}
}
