package nexudus

import (
	"bytes"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeListPageFast decodes a list page of the usual shape, with no
// reflection and one allocation for all of its plain strings: a poll over
// records already mirrored spends most of its time listing, and
// encoding/json took about 10 µs a record of a list page.
//
// It decodes exactly what encoding/json would, or gives up (ok false) and
// leaves the page to decodeListPage's general path: on anything invalid
// or unusual (a value of an unexpected type, a key that matches a field
// only case-insensitively, a key with escapes, a null record, nesting
// deeper than 1,000), so that no error and no odd case needs handling
// twice. FuzzFastListPage holds it to that: whatever it decodes, the
// general path decodes the same.
func decodeListPageFast(contentType string, body []byte) (p *Page, ok bool) {
	trimmed := bytes.TrimSpace(body) // as httpx.DecodeJSONBytes does
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, false
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "text/html" {
		return nil, false
	}
	d := &listDecoder{s: string(trimmed)} // the copy every plain string shares
	p, ok = d.page()
	if !ok || d.fail {
		return nil, false
	}
	d.ws()
	if d.i != len(d.s) {
		return nil, false // data after the top-level value
	}
	return p, true
}

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

// unknown skips the value of a key that names no field, unless
// encoding/json would match it to one case-insensitively (or might: a
// key with non-ASCII letters), which is left to encoding/json.
func (d *listDecoder) unknown(key string, ofFile bool) {
	var buf [32]byte
	if len(key) <= len(buf) {
		for i := 0; i < len(key); i++ {
			c := key[i]
			if c >= utf8.RuneSelf {
				d.fail = true
				return
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		lower := string(buf[:len(key)]) // on the stack: neither call keeps it
		if ofFile && isFileField(lower) || !ofFile && isEnvelopeField(lower) {
			d.fail = true
			return
		}
	} else {
		for i := 0; i < len(key); i++ {
			if key[i] >= utf8.RuneSelf {
				d.fail = true
				return
			}
		}
	}
	d.skip(0)
}

func (d *listDecoder) page() (*Page, bool) {
	var (
		env        envelope[File]
		sawRecords bool
		records    []File
	)
	d.object(func(key string) {
		switch key {
		case "Records":
			if sawRecords {
				d.fail = true // a repeated key: left to encoding/json
				return
			}
			sawRecords = true
			if d.next() == 'n' {
				d.literal("null")
				return
			}
			records = make([]File, 0, 100)
			d.array(func() {
				if d.next() != '{' {
					d.fail = true // null or another type: left to encoding/json
					return
				}
				records = append(records, File{})
				d.file(&records[len(records)-1])
			})
		case "CurrentPage":
			d.goInt(&env.CurrentPage)
		case "CurrentPageSize":
			d.goInt(&env.CurrentPageSize)
		case "PageNumber":
			d.goInt(&env.PageNumber)
		case "PageSize":
			d.goInt(&env.PageSize)
		case "TotalItems":
			d.goInt(&env.TotalItems)
		case "TotalPages":
			d.goInt(&env.TotalPages)
		case "HasNextPage":
			d.boolValue(&env.HasNextPage)
		case "HasPreviousPage":
			d.boolValue(&env.HasPreviousPage)
		case "FirstItem":
			d.goInt(&env.FirstItem)
		case "LastItem":
			d.goInt(&env.LastItem)
		case "CurrentOrderField":
			d.stringValue(&env.CurrentOrderField)
		case "CurrentSortDirection":
			d.goInt(&env.CurrentSortDirection)
		default:
			d.unknown(key, false)
		}
	})
	if d.fail {
		return nil, false
	}
	p := &Page{
		Page:        env.pageNumber(),
		PageSize:    env.pageSize(),
		TotalItems:  env.TotalItems,
		TotalPages:  env.TotalPages,
		HasNextPage: env.HasNextPage,
	}
	// Signed records only, in order, as decodeListPage keeps them
	// (compacted in place: each record moves down or stays).
	kept := records[:0]
	for _, f := range records {
		if !f.Signed {
			p.Unsigned++
			continue
		}
		kept = append(kept, f)
	}
	if kept == nil {
		kept = []File{} // no Records: an empty page, as decodeListPage makes it
	}
	p.Records = kept
	return p, true
}

func isEnvelopeField(lower string) bool {
	switch lower {
	case "records", "currentpage", "currentpagesize", "pagenumber", "pagesize", "totalitems", "totalpages",
		"hasnextpage", "haspreviouspage", "firstitem", "lastitem", "currentorderfield", "currentsortdirection":
		return true
	}
	return false
}

// file reads one record; its keys are File's JSON names.
func (d *listDecoder) file(f *File) {
	d.object(func(key string) {
		switch key {
		case "Id":
			d.intValue(&f.ID)
		case "BusinessId":
			d.intValue(&f.BusinessID)
		case "BusinessName":
			d.stringValue(&f.BusinessName)
		case "CoworkerId":
			d.intValue(&f.CoworkerID)
		case "CoworkerFullName":
			d.stringValue(&f.CoworkerFullName)
		case "CoworkerCompanyName":
			d.stringValue(&f.CoworkerCompanyName)
		case "CoworkerBillingName":
			d.stringValue(&f.CoworkerBillingName)
		case "CoworkerCoworkerType":
			d.stringValue(&f.CoworkerCoworkerType)
		case "Name":
			d.stringValue(&f.Name)
		case "Description":
			d.stringValue(&f.Description)
		case "FileDataFileName":
			d.stringValue(&f.FileDataFileName)
		case "SignedFileDataFileName":
			d.stringValue(&f.SignedFileDataFileName)
		case "Extension":
			d.stringValue(&f.Extension)
		case "Signed":
			d.boolValue(&f.Signed)
		case "Billed":
			d.boolValue(&f.Billed)
		case "AvailableToUser":
			d.boolValue(&f.AvailableToUser)
		case "RequestDigitalSignature":
			d.boolValue(&f.RequestDigitalSignature)
		case "EsignIdentifier":
			d.stringValue(&f.EsignIdentifier)
		case "DocumentTemplateGuid":
			d.stringValue(&f.DocumentTemplateGuid)
		case "ProposalGuid":
			d.stringValue(&f.ProposalGuid)
		case "CoworkerContractGuid":
			d.stringValue(&f.CoworkerContractGuid)
		case "UniqueId":
			d.stringValue(&f.UniqueID)
		case "UpdatedBy":
			d.stringValue(&f.UpdatedBy)
		case "UpdatedOn":
			d.timeValue(&f.UpdatedOn)
		case "CreatedOn":
			d.timeValue(&f.CreatedOn)
		default:
			d.unknown(key, true)
		}
	})
}

func isFileField(lower string) bool {
	switch lower {
	case "id", "businessid", "businessname", "coworkerid", "coworkerfullname", "coworkercompanyname",
		"coworkerbillingname", "coworkercoworkertype", "name", "description", "filedatafilename",
		"signedfiledatafilename", "extension", "signed", "billed", "availabletouser",
		"requestdigitalsignature", "esignidentifier", "documenttemplateguid", "proposalguid",
		"coworkercontractguid", "uniqueid", "updatedby", "updatedon", "createdon":
		return true
	}
	return false
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
