package verify

import "github.com/coworkdocs/syncd/internal/packid"

// packed16 holds a CoreData UUID or md5 digest as its 16 bytes when its
// text is the canonical lower-case form (packid), else the text itself:
// ids and digests are most of what verify keeps of 100,000 listed files,
// and 16 bytes in place cost no allocation.
type packed16 struct {
	b [packid.Len]byte
	// text is the text when it does not pack, or packs to all zeros: a
	// zero b stands for the empty text.
	text string
}

func packUUID(s string) packed16 {
	if b, ok := packid.UUID(s); ok && b != [packid.Len]byte{} {
		return packed16{b: b}
	}
	return packed16{text: s}
}

func packMD5(s string) packed16 {
	if b, ok := packid.MD5(s); ok && b != [packid.Len]byte{} {
		return packed16{b: b}
	}
	return packed16{text: s}
}

func (p packed16) uuid() string {
	if p.text != "" || p.b == [packid.Len]byte{} {
		return p.text
	}
	return string(packid.AppendUUID(make([]byte, 0, packid.UUIDLen), p.b[:]))
}

func (p packed16) md5() string {
	if p.text != "" || p.b == [packid.Len]byte{} {
		return p.text
	}
	return string(packid.AppendHex(make([]byte, 0, packid.MD5HexLen), p.b[:]))
}
