// Package packid packs ids. CoreData ids, snapshot ids and parents are
// UUIDs in their canonical text form (36 bytes), and digests md5 in
// lowercase hex (32 bytes): the state file, and verify's listing of
// 100,000 files, keep those as their 16 bytes. Only the exact
// canonical form is packed, so that unpacking gives back the same string;
// an id of any other form (upper case, braces, a test's "cd-1") is kept as
// it is.
package packid

// The lengths of a UUID's text, an md5's hex and either packed.
const (
	UUIDLen   = 36 // xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
	MD5HexLen = 32
	Len       = 16
)

// uuidGroups are the offsets of the hex digits' groups in a UUID's text.
var uuidGroups = [5][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}}

const lowerHex = "0123456789abcdef"

// unhex is a lowercase hex digit's value, or 0xff for any other byte:
// upper case digits are not packed, since they would unpack in lower case.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range lowerHex {
		t[c] = byte(i)
	}
	return t
}()

// packHex packs the lowercase hex digits of s into dst (len(s)/2 bytes);
// false when s holds any other byte.
func packHex(dst []byte, s string) bool {
	for i := 0; i < len(dst); i++ {
		hi, lo := unhex[s[2*i]], unhex[s[2*i+1]]
		if hi|lo == 0xff {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// UUID packs a canonical lowercase UUID; false for any other string.
func UUID(s string) (p [Len]byte, ok bool) {
	if len(s) != UUIDLen || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return p, false
	}
	off := 0
	for _, g := range uuidGroups {
		n := (g[1] - g[0]) / 2
		if !packHex(p[off:off+n], s[g[0]:g[1]]) {
			return [Len]byte{}, false
		}
		off += n
	}
	return p, true
}

// MD5 packs 32 lowercase hex digits; false for any other string.
func MD5(s string) (p [Len]byte, ok bool) {
	if len(s) != MD5HexLen {
		return p, false
	}
	return p, packHex(p[:], s)
}

// AppendHex appends the lowercase hex of b.
func AppendHex(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, lowerHex[c>>4], lowerHex[c&0xf])
	}
	return dst
}

// AppendUUID appends the canonical text of a packed UUID.
func AppendUUID(dst, p []byte) []byte {
	dst = AppendHex(dst, p[0:4])
	dst = append(dst, '-')
	dst = AppendHex(dst, p[4:6])
	dst = append(dst, '-')
	dst = AppendHex(dst, p[6:8])
	dst = append(dst, '-')
	dst = AppendHex(dst, p[8:10])
	dst = append(dst, '-')
	return AppendHex(dst, p[10:16])
}
