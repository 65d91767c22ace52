package packid

import (
	"regexp"
	"strings"
	"testing"
)

var (
	canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	lowerMD5      = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

func TestPackUUID(t *testing.T) {
	const u = "389a5280-8efc-11e6-a6e0-2f4ee7e36368"
	cases := []struct {
		in   string
		pack bool
	}{
		{u, true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", true},
		{strings.ToUpper(u), false},
		{u[:35], false},
		{u + "0", false},
		{"{" + u[1:35] + "}", false},
		{u[:8] + "0" + u[9:], false},           // no hyphen
		{u[:8] + "-" + "8efc-" + u[14:], true}, // same string, built
		{"389a5280-8efc-11e6-a6e0-2f4ee7e3636g", false},
		{"389a5280-8efc-11e6-a6e0_2f4ee7e36368", false},
		{"cd-1", false},
		{"", false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			p, ok := UUID(c.in)
			if ok != c.pack {
				t.Fatalf("UUID(%q) ok = %v, want %v", c.in, ok, c.pack)
			}
			if ok {
				if got := string(AppendUUID(nil, p[:])); got != c.in {
					t.Errorf("unpacked %q, want %q", got, c.in)
				}
			}
		})
	}
}

func TestPackMD5(t *testing.T) {
	cases := []struct {
		in   string
		pack bool
	}{
		{"9e107d9d372bb6826bd81d3542a419d6", true},
		{"d41d8cd98f00b204e9800998ecf8427e", true},
		{"9E107D9D372BB6826BD81D3542A419D6", false},
		{"9e107d9d372bb6826bd81d3542a419d", false},
		{"9e107d9d372bb6826bd81d3542a419d60", false},
		{"9e107d9d372bb6826bd81d3542a419dx", false},
		{"", false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			p, ok := MD5(c.in)
			if ok != c.pack {
				t.Fatalf("MD5(%q) ok = %v, want %v", c.in, ok, c.pack)
			}
			if ok {
				if got := string(AppendHex(nil, p[:])); got != c.in {
					t.Errorf("unpacked %q, want %q", got, c.in)
				}
			}
		})
	}
}

// FuzzPackID: exactly the canonical forms pack, and they unpack to the
// string they came from; so two different strings never share a packed
// form, and nothing else is altered.
func FuzzPackID(f *testing.F) {
	for _, s := range []string{"389a5280-8efc-11e6-a6e0-2f4ee7e36368", "9e107d9d372bb6826bd81d3542a419d6",
		"389A5280-8EFC-11E6-A6E0-2F4EE7E36368", "cd-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := UUID(s)
		if ok != canonicalUUID.MatchString(s) {
			t.Fatalf("UUID(%q) ok = %v", s, ok)
		}
		if ok && string(AppendUUID(nil, p[:])) != s {
			t.Fatalf("UUID(%q) unpacks to %q", s, AppendUUID(nil, p[:]))
		}
		p, ok = MD5(s)
		if ok != lowerMD5.MatchString(s) {
			t.Fatalf("MD5(%q) ok = %v", s, ok)
		}
		if ok && string(AppendHex(nil, p[:])) != s {
			t.Fatalf("MD5(%q) unpacks to %q", s, AppendHex(nil, p[:]))
		}
	})
}
