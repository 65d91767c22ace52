package nexudus

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The reflection-free JSON reader behind decodeListPageFast (fastlist.go):
// strings, numbers, literals, objects and arrays, each read as
// encoding/json would, or given up on.

// listDecoder reads JSON from s; fail is set on anything it does not take.
type listDecoder struct {
	s    string
	i    int
	fail bool
}

func (d *listDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte (0 at the end).
func (d *listDecoder) next() byte {
	d.ws()
	if d.i >= len(d.s) {
		return 0
	}
	return d.s[d.i]
}

func (d *listDecoder) expect(c byte) bool {
	if d.next() != c {
		d.fail = true
		return false
	}
	d.i++
	return true
}

// object calls field for each key of the object at d.i; field must read
// the value. Keys with escapes are not taken.
func (d *listDecoder) object(field func(key string)) {
	if !d.expect('{') {
		return
	}
	if d.next() == '}' {
		d.i++
		return
	}
	for !d.fail {
		if d.next() != '"' {
			d.fail = true
			return
		}
		key, escaped := d.str()
		if escaped {
			d.fail = true
		}
		if d.fail || !d.expect(':') {
			d.fail = true
			return
		}
		field(key)
		if d.fail {
			return
		}
		switch d.next() {
		case ',':
			d.i++
		case '}':
			d.i++
			return
		default:
			d.fail = true
			return
		}
	}
}

// str reads a JSON string at d.i and returns its raw content and whether
// it holds escapes (then it needs unquoting).
func (d *listDecoder) str() (raw string, escaped bool) {
	d.i++ // the opening quote
	start := d.i
	for d.i < len(d.s) {
		// Plain bytes, the bulk of every string, in a tight loop.
		for d.i < len(d.s) && d.s[d.i] >= 0x20 && d.s[d.i] != '"' && d.s[d.i] != '\\' {
			d.i++
		}
		if d.i >= len(d.s) {
			break
		}
		c := d.s[d.i]
		switch {
		case c == '"':
			raw = d.s[start:d.i]
			d.i++
			return raw, escaped
		case c == '\\':
			escaped = true
			if d.i+1 >= len(d.s) {
				d.fail = true
				return "", false
			}
			switch d.s[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				if d.i+6 > len(d.s) || !isHex4(d.s[d.i+2:d.i+6]) {
					d.fail = true
					return "", false
				}
				d.i += 6
			default:
				d.fail = true
				return "", false
			}
		case c < 0x20:
			d.fail = true
			return "", false
		default:
			d.i++
		}
	}
	d.fail = true
	return "", false
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// stringValue reads a string or null into *dst, as encoding/json does
// (null leaves it as it is).
func (d *listDecoder) stringValue(dst *string) {
	switch d.next() {
	case '"':
		raw, escaped := d.str()
		if d.fail {
			return
		}
		*dst = d.text(raw, escaped)
	case 'n':
		d.literal("null")
	default:
		d.fail = true
	}
}

// text is the Go string of a JSON string's raw content: the raw content
// itself (a substring of the page) when it needs nothing done.
func (d *listDecoder) text(raw string, escaped bool) string {
	if !escaped && utf8.ValidString(raw) {
		return raw
	}
	return unquote(raw)
}

func (d *listDecoder) boolValue(dst *bool) {
	switch d.next() {
	case 't':
		if d.literal("true") {
			*dst = true
		}
	case 'f':
		if d.literal("false") {
			*dst = false
		}
	case 'n':
		d.literal("null")
	default:
		d.fail = true
	}
}

// intValue reads an integer or null; any other number (a fraction, an
// exponent, out of range) is left to encoding/json.
func (d *listDecoder) intValue(dst *int64) {
	c := d.next()
	if c == 'n' {
		d.literal("null")
		return
	}
	start := d.i
	if c == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case d.i < len(d.s) && '1' <= d.s[d.i] && d.s[d.i] <= '9':
		for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
			d.i++
		}
	default:
		d.fail = true
		return
	}
	if d.i < len(d.s) && (d.s[d.i] == '.' || d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.fail = true
		return
	}
	n, err := strconv.ParseInt(d.s[start:d.i], 10, 64)
	if err != nil {
		d.fail = true
		return
	}
	*dst = n
}

func (d *listDecoder) goInt(dst *int) {
	var n int64
	d.intValue(&n)
	if int64(int(n)) != n {
		d.fail = true
		return
	}
	if !d.fail {
		*dst = int(n)
	}
}

// timeValue reads a Time as Time.UnmarshalJSON does: a string in a form
// ParseTime knows, "" or null. A time that does not parse is left to the
// general path, which names the record.
func (d *listDecoder) timeValue(dst *Time) {
	switch d.next() {
	case '"':
		raw, escaped := d.str()
		if d.fail {
			return
		}
		s := d.text(raw, escaped)
		if strings.TrimSpace(s) == "" {
			dst.Time = time.Time{}
			return
		}
		t, err := ParseTime(s)
		if err != nil {
			d.fail = true
			return
		}
		dst.Time = t
	case 'n':
		if d.literal("null") {
			dst.Time = time.Time{}
		}
	default:
		d.fail = true
	}
}

func (d *listDecoder) literal(lit string) bool {
	if !strings.HasPrefix(d.s[d.i:], lit) {
		d.fail = true
		return false
	}
	d.i += len(lit)
	return true
}

// maxSkipDepth bounds the nesting skip follows; deeper is left to
// encoding/json (which allows 10,000).
const maxSkipDepth = 1000

// skip reads and validates any JSON value.
func (d *listDecoder) skip(depth int) {
	if depth > maxSkipDepth {
		d.fail = true
		return
	}
	switch c := d.next(); {
	case c == '"':
		d.str()
	case c == '{':
		d.object(func(string) { d.skip(depth + 1) })
	case c == '[':
		d.array(func() { d.skip(depth + 1) })
	case c == 't':
		d.literal("true")
	case c == 'f':
		d.literal("false")
	case c == 'n':
		d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		d.number()
	default:
		d.fail = true
	}
}

// array calls elem for each element of the array at d.i.
func (d *listDecoder) array(elem func()) {
	if !d.expect('[') {
		return
	}
	if d.next() == ']' {
		d.i++
		return
	}
	for !d.fail {
		elem()
		if d.fail {
			return
		}
		switch d.next() {
		case ',':
			d.i++
		case ']':
			d.i++
			return
		default:
			d.fail = true
			return
		}
	}
}

// number validates a JSON number.
func (d *listDecoder) number() {
	digits := func() int {
		n := 0
		for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.s[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.s) && d.s[d.i] == '0':
		d.i++
	case digits() == 0:
		d.fail = true
		return
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if digits() == 0 {
			d.fail = true
			return
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			d.fail = true
		}
	}
}

// unquote decodes the content of a JSON string (already validated) as
// encoding/json does: escapes, UTF-16 surrogate pairs, and U+FFFD for a
// lone surrogate or a byte that is not UTF-8.
func unquote(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r := hex4(s[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if dec := utf16.DecodeRune(r, hex4(s[i+2:])); dec != unicode.ReplacementChar {
							b.WriteRune(dec)
							i += 6
							continue
						}
					}
					r = unicode.ReplacementChar
				}
				b.WriteRune(r)
				continue
			default: // '"', '\\', '/'
				b.WriteByte(s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r) // RuneError for an invalid byte, as encoding/json
			i += size
		}
	}
	return b.String()
}

func hex4(s string) rune {
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
