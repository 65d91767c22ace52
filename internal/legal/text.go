package legal

import (
	"crypto/sha256"
	"encoding/hex"
	"unicode/utf8"
)

// TextBytes is a text's Content as the mirrored file's bytes: the Content
// exactly, as UTF-8. Nothing is added or normalised (no BOM, no final
// newline, line ends and Unicode forms as sent), so the file's sha256 is
// the Content's. Invalid UTF-8, which a decoded JSON string never holds,
// is replaced with U+FFFD (one per bad byte, as encoding/json does) and
// reported with ok=false so the caller can log it; the hash is then over
// the replaced bytes, the ones mirrored.
func TextBytes(content string) (b []byte, ok bool) {
	if utf8.ValidString(content) {
		return []byte(content), true
	}
	return []byte(validUTF8(content)), false
}

// SHA256Hex is the lowercase hex sha256 of b, the form of text_sha256.
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
