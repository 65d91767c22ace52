package httpx

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"abc", 0, false},
		{"999999999", 86400 * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	for attempt := 0; attempt < 10; attempt++ {
		ceil := 100 * time.Millisecond << attempt
		if ceil > time.Second {
			ceil = time.Second
		}
		for i := 0; i < 50; i++ {
			d := b.Delay(attempt)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, d, ceil/2, ceil)
			}
		}
	}
	if got := b.Wait(0, 5*time.Second, true); got != 5*time.Second {
		t.Fatalf("Retry-After must be a floor: got %v", got)
	}
	if got := b.Wait(0, 0, false); got > 100*time.Millisecond {
		t.Fatalf("no Retry-After: got %v", got)
	}
}

func TestRedactURL(t *testing.T) {
	raw := "https://u:p@tenant.coredata.is/laika/abc?AWSAccessKeyId=s3f%3Amyuser&Expires=1698929283&Signature=vjbmLRn1Mj%3D"
	got := RedactURL(raw)
	for _, secret := range []string{"vjbmLRn1Mj", "myuser", ":p@"} {
		if strings.Contains(got, secret) {
			t.Errorf("RedactURL kept %q: %s", secret, got)
		}
	}
	if !strings.Contains(got, "Expires=1698929283") || !strings.Contains(got, "/laika/abc") {
		t.Errorf("RedactURL dropped harmless parts: %s", got)
	}
}

func TestRedactError(t *testing.T) {
	raw := "https://h/laika/abc?Signature=SECRETSIG"
	base := &url.Error{Op: "Put", URL: raw, Err: errors.New("connection reset")}
	for _, err := range []error{base, fmt.Errorf("coredata: put blob: %w", base)} {
		red := RedactError(err)
		if strings.Contains(red.Error(), "SECRETSIG") {
			t.Fatalf("signature in %q", red)
		}
		var ue *url.Error
		if !errors.As(red, &ue) {
			t.Fatalf("chain lost: %v", red)
		}
	}
	if RedactError(nil) != nil {
		t.Fatal("nil must stay nil")
	}
}

func TestExcerpt(t *testing.T) {
	html := "<html><head><title>502 Bad Gateway</title></head>\n<body>\x07 <h1>Bad\u202e Gateway</h1></body></html>"
	if got := Excerpt([]byte(html), 200); got != "502 Bad Gateway Bad Gateway" {
		t.Fatalf("Excerpt = %q", got)
	}
	if got := Excerpt([]byte(strings.Repeat("x", 500)), 10); got != strings.Repeat("x", 10)+"…" {
		t.Fatalf("Excerpt not cut: %q", got)
	}
}

func TestStatusErrorKinds(t *testing.T) {
	tests := []struct {
		status int
		kind   error
	}{
		{400, ErrBadRequest}, {401, ErrUnauthorized}, {403, ErrForbidden}, {404, ErrNotFound},
		{409, ErrConflict}, {413, ErrTooLarge}, {429, ErrThrottled}, {500, ErrServer}, {503, ErrServer},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrap: %w", NewStatusError("x", tt.status, []byte("<p>oops</p>")))
		if !errors.Is(err, tt.kind) {
			t.Errorf("status %d: not %v", tt.status, tt.kind)
		}
		if !strings.Contains(err.Error(), "oops") || !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
			t.Errorf("status %d: message %q lacks status or excerpt", tt.status, err)
		}
	}
}

func TestDecodeJSONBytes(t *testing.T) {
	var v struct{ A int }
	if err := DecodeJSONBytes("x", 200, "application/json", []byte(`{"A":1}`), &v); err != nil || v.A != 1 {
		t.Fatalf("decode: %v %v", v, err)
	}
	for _, body := range []string{"", "<html>Server Error</html>", `{"A":`} {
		err := DecodeJSONBytes("x", 500, "", []byte(body), &v)
		if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
			t.Errorf("body %q: err %v", body, err)
		}
	}
	if _, err := ReadBody(strings.NewReader("12345"), 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadBody over limit: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	m.ObserveRequest("nexudus", 200, time.Millisecond)
	m.ObserveRequest("nexudus", 0, time.Millisecond)
	m.ObserveRetry("nexudus", "throttled")
	if got := testutil.ToFloat64(m.requests.WithLabelValues("nexudus", "error")); got != 1 {
		t.Fatalf("error requests = %v", got)
	}
	var nilM *Metrics
	nilM.ObserveRequest("x", 1, 0) // must not panic
	nilM.ObserveRetry("x", "y")
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Wed, 21 Oct 2015 07:28:00 GMT", "-5", "1e9", ""} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseRetryAfter(s, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %v, %v", s, d, ok)
		}
	})
}

func FuzzExcerpt(f *testing.F) {
	f.Add([]byte("<html>x</html>"), 10)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 1000 {
			return
		}
		out := Excerpt(b, n)
		for _, r := range out {
			if r < 0x20 || isBidi(r) {
				t.Fatalf("control or bidi rune %U in %q", r, out)
			}
		}
	})
}

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		raw, want, err string
	}{
		{"https://spaces.nexudus.com/", "https://spaces.nexudus.com", ""},
		{" https://tenant.coredata.is/base// ", "https://tenant.coredata.is/base", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://[::1]:80", "http://[::1]:80", ""},
		{"http://localhost", "http://localhost", ""},
		{"", "", "is required"},
		{"spaces.nexudus.com", "", "absolute URL"},
		{"http://spaces.nexudus.com", "", "plain http"},
		{"http://127.0.0.1.evil.com", "", "plain http"},
		{"ftp://host", "", "scheme must be https"},
		{"https://u:hunter2@host", "", "credentials"},
		{"https://host/?token=abc", "", "query"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := ParseBaseURL("x", tt.raw)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "x: base_url") {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "abc") {
					t.Fatalf("secret in %v", err)
				}
				return
			}
			if err != nil || u.String() != tt.want {
				t.Fatalf("got %v %v, want %s", u, err, tt.want)
			}
		})
	}
	if _, err := ParseBaseURL("x", "http://example.com"); !errors.Is(err, ErrPlainHTTP) {
		t.Fatalf("not ErrPlainHTTP: %v", err)
	}
}
