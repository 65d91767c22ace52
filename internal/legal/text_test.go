package legal_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/coworkdocs/syncd/internal/legal"
)

func TestTextBytes(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"markdown", "# Terms\n\n1. You agree.\n", "# Terms\n\n1. You agree.\n", true},
		{"no newline added", "Terms", "Terms", true},
		{"CRLF kept", "a\r\nb\r\n", "a\r\nb\r\n", true},
		{"not NFC-normalised", "e\u0301", "e\u0301", true},
		{"BOM kept as sent", "\ufeffTerms", "\ufeffTerms", true},
		{"trailing spaces kept", "a  \n\n\n", "a  \n\n\n", true},
		{"NUL kept", "a\x00b", "a\x00b", true},
		{"empty", "", "", true},
		{"invalid byte", "a\xffb", "a\uFFFDb", false},
		{"truncated rune", "caf\xc3", "caf\uFFFD", false},
		{"one U+FFFD per bad byte", "\xff\xfe", "\uFFFD\uFFFD", false},
		{"surrogate", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := legal.TextBytes(tt.in)
			if string(b) != tt.want || ok != tt.ok {
				t.Fatalf("TextBytes(%q) = %q, %v", tt.in, b, ok)
			}
			if ok {
				sum := sha256.Sum256([]byte(tt.in))
				if legal.SHA256Hex(b) != hex.EncodeToString(sum[:]) {
					t.Fatal("sha256 of the bytes is not the Content's")
				}
			}
		})
	}
}

func TestSHA256Hex(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := legal.SHA256Hex([]byte(tt.in)); got != tt.want {
				t.Fatalf("SHA256Hex(%q) = %s", tt.in, got)
			}
		})
	}
}
