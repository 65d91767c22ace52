package legal

import (
	"strconv"
	"strings"
)

const (
	textTagPrefix     = "nexudus-legal-text-"
	registerTagPrefix = "nexudus-legal-register-"
)

// maxUniqueIDLen bounds a UniqueId taken from a tag: Nexudus' are GUIDs
// (36 characters).
const maxUniqueIDLen = 128

// TextTag is the tag that ties a CoreData file to the version of a legal
// text it mirrors: "nexudus-legal-text-<UniqueId>". The UniqueId is kept
// as given (case included); ParseTextTag reads it back when it is a valid
// one (see there), so a caller holding an odd UniqueId can check with
// ParseTextTag(TextTag(u)) before using the tag.
func TextTag(uniqueID string) string { return textTagPrefix + uniqueID }

// ParseTextTag reads a UniqueId back from a TextTag. A valid UniqueId is 1
// to 128 ASCII letters, digits, '-' and '_' (Nexudus sends GUIDs): nothing a
// comma-separated tag list, a CoreData query or a log line could split.
func ParseTextTag(tag string) (uniqueID string, ok bool) {
	rest, ok := strings.CutPrefix(tag, textTagPrefix)
	if !ok || !validUniqueID(rest) {
		return "", false
	}
	return rest, true
}

func validUniqueID(s string) bool {
	if s == "" || len(s) > maxUniqueIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// RegisterTag is the tag of a location's register for one month:
// "nexudus-legal-register-<BusinessId>-<YYYY-MM>".
func RegisterTag(business int64, month string) string {
	return registerTagPrefix + strconv.FormatInt(business, 10) + "-" + month
}

// ParseRegisterTag reads a RegisterTag back. The BusinessId is a positive
// decimal without sign or leading zeros and the month a valid YYYY-MM, so
// a tag parses only in the one form RegisterTag writes.
func ParseRegisterTag(tag string) (business int64, month string, ok bool) {
	rest, ok := strings.CutPrefix(tag, registerTagPrefix)
	if !ok || len(rest) < len("1-2006-01") {
		return 0, "", false
	}
	idPart, month := rest[:len(rest)-len("-2006-01")], rest[len(rest)-len("2006-01"):]
	if rest[len(idPart)] != '-' || !isMonth(month) {
		return 0, "", false
	}
	id, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != idPart {
		return 0, "", false
	}
	return id, month, true
}
