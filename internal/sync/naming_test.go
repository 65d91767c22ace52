package sync_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	syncer "github.com/coworkdocs/syncd/internal/sync"
)

func TestSafeFilename(t *testing.T) {
	long := strings.Repeat("ä", 150) + ".pdf" // 300 bytes of name
	tests := []struct{ in, want string }{
		{"contract.pdf", "contract.pdf"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{`..\..\windows\system32.dll`, `_.._windows_system32.dll`},
		{"C:/boot.ini", "C__boot.ini"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"}, // right-to-left override
		{"a\u2066b\u2069c.pdf", "abc.pdf"},
		{"new\nline\t.pdf", "newline.pdf"},
		{"\x00\x1f", "fallback.bin"},
		{"   ", "fallback.bin"},
		{"...", "fallback.bin"},
		{".hidden.pdf", "hidden.pdf"},
		{"zero\u200bwidth.pdf", "zerowidth.pdf"},
		{"bad\xffutf8.pdf", "badutf8.pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := syncer.SafeFilename(tt.in, "fallback.bin"); got != tt.want {
				t.Fatalf("SafeFilename(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	got := syncer.SafeFilename(long, "x")
	if len(got) > 200 || !strings.HasSuffix(got, ".pdf") || !utf8.ValidString(got) {
		t.Fatalf("long name: %d bytes, %q", len(got), got)
	}
}

func FuzzSafeFilename(f *testing.F) {
	for _, s := range []string{"contract.pdf", "../../etc/passwd", "a\u202Eb", strings.Repeat("x", 300) + ".pdf", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := syncer.SafeFilename(in, "fallback")
		if out == "" || len(out) > 200 || !utf8.ValidString(out) {
			t.Fatalf("SafeFilename(%q) = %q", in, out)
		}
		if strings.ContainsAny(out, "/\\") || strings.HasPrefix(out, ".") {
			t.Fatalf("SafeFilename(%q) = %q keeps a path", in, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) {
				t.Fatalf("SafeFilename(%q) = %q keeps %U", in, out, r)
			}
		}
	})
}

func TestFileTagRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		tag string
		id  int64
		ok  bool
	}{{syncer.FileTag(42), 42, true}, {"nexudus-file-0", 0, false}, {"nexudus-file-x", 0, false}, {"nexudus", 0, false}} {
		id, ok := syncer.ParseFileTag(tt.tag)
		if id != tt.id || ok != tt.ok {
			t.Errorf("ParseFileTag(%q) = %d %v", tt.tag, id, ok)
		}
	}
}
