package httpx

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScrubKeepsTheChainAndDropsSecrets(t *testing.T) {
	base := &StatusError{API: "coredata", Status: 500, Excerpt: "echo: key s3cr3t-key and https://x/?X-Amz-Signature=abcdef", Kind: ErrServer}
	err := Scrub(base, "s3cr3t-key", "abc") // "abc" is too short to replace
	if !errors.Is(err, ErrServer) {
		t.Fatalf("chain lost: %v", err)
	}
	for _, leak := range []string{"s3cr3t-key", "abcdef"} {
		if msg := err.Error(); strings.Contains(msg, leak) {
			t.Fatalf("%q left in %q", leak, msg)
		}
	}
	if Scrub(nil) != nil {
		t.Fatal("Scrub(nil) is not nil")
	}
	plain := errors.New("nothing secret")
	if Scrub(plain, "other") != plain {
		t.Fatal("an error with nothing to scrub was wrapped")
	}
}

func TestTruncateNeverSplitsARune(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"héllo", 2, "h"}, // é is two bytes: not split
		{"日本語", 4, "日"},
		{"日本語", 6, "日本"},
		{"x", -1, ""},
	}
	for _, tt := range tests {
		if got := Truncate(tt.s, tt.n); got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
	if got := Shorten("日本語", 4); got != "日…" {
		t.Errorf("Shorten = %q", got)
	}
	if got := Shorten("ab", 4); got != "ab" {
		t.Errorf("Shorten of a short value = %q", got)
	}
}

func FuzzTruncate(f *testing.F) {
	for _, s := range []string{"", "abc", "日本語", "\xff\xfe"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := Truncate(s, n)
		if len(got) > len(s) || (n >= 0 && len(got) > n) {
			t.Fatalf("Truncate(%q, %d) = %q: too long", s, n, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Truncate(%q, %d) = %q split a rune", s, n, got)
		}
	})
}
