package verify

import "encoding/hex"

// packed16 holds a CoreData UUID or md5 digest as its 16 bytes when its
// text is the canonical lower-case form, else the text itself: ids and
// digests are most of what verify keeps of 100,000 listed files, and 16
// bytes in place cost no allocation.
type packed16 struct {
	b    [16]byte
	text string // the text when it is not canonical (or is all zeros)
}

const uuidLen = 36

func packUUID(s string) packed16 {
	var p packed16
	if len(s) != uuidLen || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return packed16{text: s}
	}
	src := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if !decodeLowerHex(p.b[:], src) {
		return packed16{text: s}
	}
	return p
}

func packMD5(s string) packed16 {
	var p packed16
	if len(s) != 32 || !decodeLowerHex(p.b[:], s) {
		return packed16{text: s}
	}
	return p
}

// decodeLowerHex decodes 32 lower-case hex digits that are not all zero
// (a zero value stands for the empty text).
func decodeLowerHex(dst []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return false
	}
	return dst != nil && [16]byte(dst) != [16]byte{}
}

func (p packed16) uuid() string {
	if p.text != "" || p.b == [16]byte{} {
		return p.text
	}
	h := hex.EncodeToString(p.b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (p packed16) md5() string {
	if p.text != "" || p.b == [16]byte{} {
		return p.text
	}
	return hex.EncodeToString(p.b[:])
}
