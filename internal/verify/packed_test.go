package verify

import "testing"

func TestPackedKeepsEveryTextAsGiven(t *testing.T) {
	for _, tt := range []struct{ name, s string }{
		{"uuid", "313ae0be-71cf-11ee-b1e9-ebd554949e29"},
		{"upper-case uuid", "313AE0BE-71CF-11EE-B1E9-EBD554949E29"},
		{"zero uuid", "00000000-0000-0000-0000-000000000000"},
		{"not a uuid", "file-17"},
		{"empty", ""},
		{"md5", "d41d8cd98f00b204e9800998ecf8427e"},
		{"upper-case md5", "D41D8CD98F00B204E9800998ECF8427E"},
		{"zero md5", "00000000000000000000000000000000"},
		{"md5 with a space", " d41d8cd98f00b204e9800998ecf8427"},
		{"hyphens misplaced", "313ae0be71cf-11ee-b1e9-ebd554949e29-"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := packUUID(tt.s).uuid(); got != tt.s {
				t.Errorf("packUUID(%q).uuid() = %q", tt.s, got)
			}
			if got := packMD5(tt.s).md5(); got != tt.s {
				t.Errorf("packMD5(%q).md5() = %q", tt.s, got)
			}
		})
	}
	if p := packUUID("313ae0be-71cf-11ee-b1e9-ebd554949e29"); p.text != "" {
		t.Errorf("a canonical uuid is kept as text %q", p.text)
	}
	if p := packMD5("d41d8cd98f00b204e9800998ecf8427e"); p.text != "" {
		t.Errorf("a canonical md5 is kept as text %q", p.text)
	}
}

func FuzzPacked(f *testing.F) {
	f.Add("313ae0be-71cf-11ee-b1e9-ebd554949e29")
	f.Add("d41d8cd98f00b204e9800998ecf8427e")
	f.Fuzz(func(t *testing.T, s string) {
		if got := packUUID(s).uuid(); got != s {
			t.Fatalf("packUUID(%q).uuid() = %q", s, got)
		}
		if got := packMD5(s).md5(); got != s {
			t.Fatalf("packMD5(%q).md5() = %q", s, got)
		}
	})
}
