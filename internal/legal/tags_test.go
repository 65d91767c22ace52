package legal_test

import (
	"strings"
	"testing"

	"github.com/coworkdocs/syncd/internal/legal"
)

func TestTextTag(t *testing.T) {
	const guid = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
	if got := legal.TextTag(guid); got != "nexudus-legal-text-"+guid {
		t.Fatalf("TextTag = %q", got)
	}
	tests := []struct {
		name, tag, want string
		ok              bool
	}{
		{"guid", legal.TextTag(guid), guid, true},
		{"upper case kept", legal.TextTag(strings.ToUpper(guid)), strings.ToUpper(guid), true},
		{"underscore", "nexudus-legal-text-a_b", "a_b", true},
		{"longest", "nexudus-legal-text-" + strings.Repeat("a", 128), strings.Repeat("a", 128), true},
		{"too long", "nexudus-legal-text-" + strings.Repeat("a", 129), "", false},
		{"empty id", "nexudus-legal-text-", "", false},
		{"no prefix", guid, "", false},
		{"other tag", "nexudus-file-42", "", false},
		{"register tag", "nexudus-legal-register-1-2024-01", "", false},
		{"prefix case", "Nexudus-Legal-Text-" + guid, "", false},
		{"space", "nexudus-legal-text-a b", "", false},
		{"comma", "nexudus-legal-text-a,b", "", false},
		{"braces", "nexudus-legal-text-{" + guid + "}", "", false},
		{"slash", "nexudus-legal-text-../x", "", false},
		{"non-ASCII", "nexudus-legal-text-é", "", false},
		{"newline", "nexudus-legal-text-a\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := legal.ParseTextTag(tt.tag)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("ParseTextTag(%q) = %q, %v", tt.tag, got, ok)
			}
		})
	}
}

func TestRegisterTag(t *testing.T) {
	if got := legal.RegisterTag(1234, "2024-01"); got != "nexudus-legal-register-1234-2024-01" {
		t.Fatalf("RegisterTag = %q", got)
	}
	tests := []struct {
		name, tag string
		business  int64
		month     string
		ok        bool
	}{
		{"round trip", legal.RegisterTag(1234, "2024-01"), 1234, "2024-01", true},
		{"one digit", "nexudus-legal-register-1-2024-12", 1, "2024-12", true},
		{"max id", "nexudus-legal-register-9223372036854775807-9999-12", 9223372036854775807, "9999-12", true},
		{"id not a number", "nexudus-legal-register-x-2024-01", 0, "", false},
		{"month 13", "nexudus-legal-register-1-2024-13", 0, "", false},
		{"month 00", "nexudus-legal-register-1-2024-00", 0, "", false},
		{"no id", "nexudus-legal-register--2024-01", 0, "", false},
		{"no month", "nexudus-legal-register-1", 0, "", false},
		{"short month", "nexudus-legal-register-1-2024-1", 0, "", false},
		{"day too", "nexudus-legal-register-1-2024-01-05", 0, "", false},
		{"zero id", "nexudus-legal-register-0-2024-01", 0, "", false},
		{"negative id", "nexudus-legal-register--5-2024-01", 0, "", false},
		{"leading zero", "nexudus-legal-register-01-2024-01", 0, "", false},
		{"plus sign", "nexudus-legal-register-+1-2024-01", 0, "", false},
		{"overflow", "nexudus-legal-register-9223372036854775808-2024-01", 0, "", false},
		{"no separator", "nexudus-legal-register-12024-01", 0, "", false},
		{"prefix only", "nexudus-legal-register-", 0, "", false},
		{"text tag", "nexudus-legal-text-1-2024-01", 0, "", false},
		{"trailing space", "nexudus-legal-register-1-2024-01 ", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, m, ok := legal.ParseRegisterTag(tt.tag)
			if b != tt.business || m != tt.month || ok != tt.ok {
				t.Fatalf("ParseRegisterTag(%q) = %d, %q, %v", tt.tag, b, m, ok)
			}
		})
	}
}
