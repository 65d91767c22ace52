package legal

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Row is one acceptance in a register: the columns of SPEC, in order.
type Row struct {
	ID               int64 // the acceptance's Id
	UniqueID         string
	CreatedOn        time.Time // as Nexudus sent it; written in UTC
	CoworkerID       int64
	BusinessID       int64
	LegalContentType string // its name: GeneralTerms, VisitorTerms, CheckoutTerms, PrivacyPolicy, CookiesPolicy, TariffTerms (or the digits of an unknown number)
	Name             string
	TariffUniqueID   string
	TextUniqueID     string // LegalContentAuditUniqueId
	TextSHA256       string // hex sha256 of the accepted text's Content; "" while the version is unknown
	TextCoreDataID   string // the CoreData id of the text's file; "" while unknown
}

// Header is the CSV header row.
var Header = []string{
	"Id", "UniqueId", "CreatedOn", "CoworkerId", "BusinessId", "LegalContentType",
	"Name", "TariffUniqueId", "LegalContentAuditUniqueId", "text_sha256", "text_coredata_id",
}

// header is Header as Register writes it; Header is exported as a slice and
// could be changed by a caller, so the register never reads it.
var header = [...]string{
	"Id", "UniqueId", "CreatedOn", "CoworkerId", "BusinessId", "LegalContentType",
	"Name", "TariffUniqueId", "LegalContentAuditUniqueId", "text_sha256", "text_coredata_id",
}

const numColumns = len(header)

// timeLayout is RFC 3339 with fractional seconds only when present
// (time.RFC3339Nano drops trailing zeros and the dot with them).
const timeLayout = time.RFC3339Nano

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// Register is the bytes of one register file: RFC 4180 (CRLF line ends,
// quotes only where needed, doubled quotes), UTF-8 without BOM, the header
// row, then rows sorted by ID (a duplicate ID keeps the last given). The
// same rows in any order give the same bytes. CreatedOn is written as
// RFC 3339 UTC with seconds ("2006-01-02T15:04:05Z"), fractional seconds
// only when present. Invalid UTF-8 in a field is written as U+FFFD.
//
// CreatedOn must lie in the years 1 to 9999 (every time Nexudus' client
// decodes does; RFC 3339 cannot write others) and TextSHA256 be "" or
// SHA256Hex's form, or ParseRegister will not read the register back.
func Register(rows []Row) []byte {
	sorted := sortRows(rows)
	var b bytes.Buffer
	b.Grow(128 + 256*len(sorted))
	writeRecord(&b, header[:])
	var rec [numColumns]string
	for _, r := range sorted {
		rec = [numColumns]string{
			strconv.FormatInt(r.ID, 10),
			r.UniqueID,
			formatTime(r.CreatedOn),
			strconv.FormatInt(r.CoworkerID, 10),
			strconv.FormatInt(r.BusinessID, 10),
			r.LegalContentType,
			r.Name,
			r.TariffUniqueID,
			r.TextUniqueID,
			r.TextSHA256,
			r.TextCoreDataID,
		}
		writeRecord(&b, rec[:])
	}
	return b.Bytes()
}

// sortRows returns the rows sorted by ID, the last given of each ID kept.
// The input is not modified.
func sortRows(rows []Row) []Row {
	s := make([]Row, len(rows))
	copy(s, rows)
	sort.SliceStable(s, func(i, j int) bool { return s[i].ID < s[j].ID })
	out := s[:0]
	for i := range s {
		if i+1 < len(s) && s[i+1].ID == s[i].ID {
			continue // a later row with this ID follows; it wins
		}
		out = append(out, s[i])
	}
	return out
}

func writeRecord(b *bytes.Buffer, fields []string) {
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		f = validUTF8(f)
		if !needsQuotes(f) {
			b.WriteString(f)
			continue
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(f, `"`, `""`))
		b.WriteByte('"')
	}
	b.WriteString("\r\n")
}

// needsQuotes is RFC 4180's rule and nothing more.
func needsQuotes(f string) bool { return strings.ContainsAny(f, ",\"\r\n") }

// validUTF8 replaces each byte of invalid UTF-8 with U+FFFD, as
// encoding/json does, so a register is always valid UTF-8.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r) // an invalid byte decodes as utf8.RuneError, width 1
	}
	return b.String()
}

// parseError is what ParseRegister returns: the line (1-based, counting
// line breaks inside quoted fields too) and the column (the 1-based field
// number, named by its header) at fault.
type parseError struct {
	line, column int
	msg          string
}

func (e *parseError) Error() string {
	if e.column == 0 {
		return fmt.Sprintf("legal: register line %d: %s", e.line, e.msg)
	}
	name := ""
	if e.column <= numColumns {
		name = " (" + header[e.column-1] + ")"
	}
	return fmt.Sprintf("legal: register line %d, column %d%s: %s", e.line, e.column, name, e.msg)
}

// ParseRegister reads a register back (for verify and tests). It accepts
// exactly the bytes Register writes: a register it reads without error is
// reproduced byte for byte by Register(rows). Anything else (a BOM, LF or
// CR line ends, quotes where none are needed, a different header, rows out
// of order or with a repeated Id, a number or time not in the form
// Register writes, a malformed text_sha256, invalid UTF-8) is an error
// naming the line and column at fault.
func ParseRegister(b []byte) ([]Row, error) {
	if len(b) == 0 {
		return nil, &parseError{line: 1, msg: "empty, want the header row"}
	}
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		return nil, &parseError{line: 1, column: 1, msg: "starts with a byte order mark"}
	}
	p := parser{b: b, line: 1}
	var rows []Row
	first := true
	for p.pos < len(p.b) {
		start := p.line
		fields, err := p.record()
		if err != nil {
			return nil, err
		}
		if first {
			first = false
			for i, f := range fields {
				if f.value != header[i] {
					return nil, &parseError{line: start, column: i + 1, msg: fmt.Sprintf("header %q, want %q", f.value, header[i])}
				}
			}
			continue
		}
		r, err := parseRow(fields)
		if err != nil {
			return nil, err
		}
		if n := len(rows); n > 0 && r.ID <= rows[n-1].ID {
			what := "out of order"
			if r.ID == rows[n-1].ID {
				what = "repeated"
			}
			return nil, &parseError{line: start, column: 1, msg: fmt.Sprintf("Id %d after %d is %s: rows are sorted by Id, each Id once", r.ID, rows[n-1].ID, what)}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

type field struct {
	value  string
	line   int // where the field starts
	column int // 1-based field number
}

type parser struct {
	b    []byte
	pos  int
	line int
}

func (p *parser) errAt(line, column int, format string, args ...any) error {
	return &parseError{line: line, column: column, msg: fmt.Sprintf(format, args...)}
}

// record reads one record with its CRLF; it checks the number of fields.
func (p *parser) record() ([]field, error) {
	recLine := p.line
	fields := make([]field, 0, numColumns)
	for {
		col := len(fields) + 1
		if col > numColumns {
			return nil, p.errAt(p.line, col, "more than %d fields", numColumns)
		}
		f, err := p.field(col)
		if err != nil {
			return nil, err
		}
		fields = append(fields, f)
		if p.pos >= len(p.b) {
			return nil, p.errAt(p.line, col, "no CRLF at the end of the record")
		}
		switch p.b[p.pos] {
		case ',':
			p.pos++
			continue
		case '\r':
			if p.pos+1 < len(p.b) && p.b[p.pos+1] == '\n' {
				p.pos += 2
				p.line++
				if len(fields) != numColumns {
					return nil, p.errAt(recLine, len(fields), "%d fields, want %d", len(fields), numColumns)
				}
				return fields, nil
			}
			return nil, p.errAt(p.line, col, "CR without LF outside quotes")
		case '\n':
			return nil, p.errAt(p.line, col, "LF without CR outside quotes (line ends are CRLF)")
		default:
			// Only reachable after a quoted field.
			return nil, p.errAt(p.line, col, "%q after the closing quote", p.b[p.pos])
		}
	}
}

// field reads one field, leaving pos at the byte after it.
func (p *parser) field(col int) (field, error) {
	f := field{line: p.line, column: col}
	if p.pos < len(p.b) && p.b[p.pos] == '"' {
		p.pos++
		var v []byte
		for {
			if p.pos >= len(p.b) {
				return f, p.errAt(f.line, col, "quoted field not closed")
			}
			c := p.b[p.pos]
			p.pos++
			if c == '"' {
				if p.pos < len(p.b) && p.b[p.pos] == '"' {
					v = append(v, '"')
					p.pos++
					continue
				}
				break
			}
			if c == '\n' {
				p.line++
			}
			v = append(v, c)
		}
		f.value = string(v)
		if !needsQuotes(f.value) {
			return f, p.errAt(f.line, col, "quoted without need (Register quotes only a field with a comma, quote, CR or LF)")
		}
	} else {
		start := p.pos
		for p.pos < len(p.b) {
			c := p.b[p.pos]
			if c == ',' || c == '\r' || c == '\n' {
				break
			}
			if c == '"' {
				return f, p.errAt(f.line, col, "quote in an unquoted field")
			}
			p.pos++
		}
		f.value = string(p.b[start:p.pos])
	}
	if !utf8.ValidString(f.value) {
		return f, p.errAt(f.line, col, "invalid UTF-8")
	}
	return f, nil
}

func parseRow(fs []field) (Row, error) {
	var r Row
	var err error
	num := func(f field) int64 {
		if err != nil {
			return 0
		}
		n, e := strconv.ParseInt(f.value, 10, 64)
		if e != nil || strconv.FormatInt(n, 10) != f.value {
			err = &parseError{line: f.line, column: f.column, msg: fmt.Sprintf("%q is not a decimal integer as Register writes it", f.value)}
		}
		return n
	}
	r.ID = num(fs[0])
	r.UniqueID = fs[1].value
	r.CoworkerID = num(fs[3])
	r.BusinessID = num(fs[4])
	if err != nil {
		return r, err
	}
	t, e := time.Parse(timeLayout, fs[2].value)
	if e != nil || formatTime(t) != fs[2].value {
		return r, &parseError{line: fs[2].line, column: fs[2].column, msg: fmt.Sprintf("%q is not an RFC 3339 UTC time as Register writes it", fs[2].value)}
	}
	r.CreatedOn = t.UTC()
	r.LegalContentType = fs[5].value
	r.Name = fs[6].value
	r.TariffUniqueID = fs[7].value
	r.TextUniqueID = fs[8].value
	r.TextSHA256 = fs[9].value
	if r.TextSHA256 != "" && !isSHA256Hex(r.TextSHA256) {
		return r, &parseError{line: fs[9].line, column: fs[9].column, msg: fmt.Sprintf("%q is not empty or 64 lowercase hex digits", r.TextSHA256)}
	}
	r.TextCoreDataID = fs[10].value
	return r, nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
