package sync

import (
	"fmt"
	"mime"
	"path"
	"strconv"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus"
)

// maxFilenameBytes keeps names within what file systems and CoreData's
// storage keys accept (255 bytes is the common limit).
const maxFilenameBytes = 200

// maxTitleRunes bounds a rendered title: a template over free-text fields
// must not produce a page-long title.
const maxTitleRunes = 250

// SafeFilename makes a Nexudus file name safe for CoreData: no path
// separators (so "../../etc/passwd" cannot walk anywhere), no control or
// bidi characters (which make a name display as something else), bounded
// length with the extension kept. An empty result becomes fallback.
func SafeFilename(name, fallback string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '/' || r == '\\' || r == ':':
			b.WriteRune('_')
		case r == utf8.RuneError, unicode.IsControl(r), httpx.IsBidi(r), r == '\u200b', r == '\ufeff':
			// dropped
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	s := strings.TrimSpace(b.String())
	// Leading dots would make a hidden file or a relative path component.
	s = strings.TrimLeft(s, ". ")
	s = strings.TrimRight(s, ". ")
	if s == "" {
		s = fallback
	}
	if len(s) > maxFilenameBytes {
		ext := path.Ext(s)
		if len(ext) > 16 || !utf8.ValidString(ext) {
			ext = ""
		}
		s = httpx.Truncate(strings.TrimSuffix(s, ext), maxFilenameBytes-len(ext)) + ext
	}
	return s
}

// filenameFor picks the name CoreData gets: the signed copy's name when
// that is what was downloaded, else the original file's, else the record's
// Name with its extension.
func filenameFor(f nexudus.File, fromSignedCopy bool) string {
	fallback := fmt.Sprintf("nexudus-file-%d", f.ID)
	if f.Extension != "" {
		fallback += "." + strings.TrimPrefix(f.Extension, ".")
	}
	candidates := []string{f.FileDataFileName, f.SignedFileDataFileName}
	if fromSignedCopy {
		candidates = []string{f.SignedFileDataFileName, f.FileDataFileName}
	}
	for _, c := range candidates {
		if strings.TrimSpace(c) != "" {
			return SafeFilename(c, fallback)
		}
	}
	if f.Name != "" {
		name := f.Name
		if f.Extension != "" && path.Ext(name) == "" {
			name += "." + strings.TrimPrefix(f.Extension, ".")
		}
		return SafeFilename(name, fallback)
	}
	return fallback
}

// DefaultTitle is the CoreData title template when none is configured.
const DefaultTitle = "{{.CoworkerFullName}} - {{.Name}}"

// ParseTitle parses a title template the way every part of syncd uses
// it: a field missing from the Nexudus record is an error, not "<no value>".
func ParseTitle(text string) (*template.Template, error) {
	return template.New("title").Option("missingkey=error").Parse(text)
}

// title renders the configured template. Control and bidi characters are
// removed here too: a title is shown to people just as a file name is.
func (e *Engine) title(f nexudus.File) (string, error) {
	f = ListView(f)
	raw, ok := planFor(e.opt.Title).render(&f) // see titlefast.go
	if !ok {
		var b strings.Builder
		if err := e.opt.Title.Execute(&b, f); err != nil {
			return "", fmt.Errorf("render title of file %d: %w", f.ID, err)
		}
		raw = b.String()
	}
	return cleanTitle(raw, f.ID), nil
}

// cleanTitle is what title does to the template's output.
func cleanTitle(raw string, id int64) string {
	if plainTitle(raw) {
		return raw
	}
	var out strings.Builder
	n := 0
	for _, r := range raw {
		if unicode.IsControl(r) || httpx.IsBidi(r) || r == utf8.RuneError {
			continue
		}
		if n == maxTitleRunes {
			break
		}
		out.WriteRune(r)
		n++
	}
	t := strings.Join(strings.Fields(out.String()), " ")
	if t == "" {
		t = fmt.Sprintf("Nexudus file %d", id)
	}
	return t
}

// FileTag is the tag that ties a CoreData file to its Nexudus file; state
// rebuild and crash reconciliation both rely on it.
func FileTag(nexudusID int64) string { return "nexudus-file-" + strconv.FormatInt(nexudusID, 10) }

// ParseFileTag reads a Nexudus Id back from a FileTag.
func ParseFileTag(tag string) (int64, bool) {
	rest, ok := strings.CutPrefix(tag, "nexudus-file-")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0
}

func (e *Engine) tags(f nexudus.File) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	add("nexudus")
	add(FileTag(f.ID))
	if f.CoworkerID != 0 {
		add("nexudus-coworker-" + strconv.FormatInt(f.CoworkerID, 10))
	}
	for _, t := range e.opt.Tags {
		add(t)
	}
	return out
}

// contentTypeFor prefers the type the extension implies: storage often
// answers application/octet-stream for everything.
func contentTypeFor(filename, header string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(filename))); t != "" {
		return t
	}
	if mt, _, err := mime.ParseMediaType(header); err == nil && mt != "" {
		return mt
	}
	return "application/octet-stream"
}

// ListView is a record as Nexudus' listing returns it: without the fields
// the listing leaves out (Description, AvailableToUser,
// RequestDigitalSignature), which only a fetch by Id holds. Titles are
// rendered from it, so a record gets the same title whether it came from
// a listing or a fetch; otherwise a template naming such a field would
// retitle the file back and forth. check-config warns about such a
// template.
func ListView(f nexudus.File) nexudus.File {
	f.Description, f.AvailableToUser, f.RequestDigitalSignature = "", false, false
	return f
}
