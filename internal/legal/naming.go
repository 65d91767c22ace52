package legal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"
)

// The title templates used when legal.text_title and legal.register_title
// are not configured.
const (
	DefaultTextTitle     = "{{.Name}} ({{.LegalContentType}}) {{.CreatedOn}}"
	DefaultRegisterTitle = "Terms acceptances {{.BusinessId}} {{.Month}}"
)

// maxTitleRunes bounds a rendered title, as for contracts: a template over
// free-text fields must not produce a page-long title.
const maxTitleRunes = 250

// maxFilenameBytes keeps names within what file systems and CoreData's
// storage keys accept, as for contracts.
const maxFilenameBytes = 200

// dateLayout is how CreatedOn renders in a text title.
const dateLayout = "2006-01-02"

// TextFields are what text_title may use: one version of a legal text.
type TextFields struct {
	UniqueId         string
	BusinessId       int64
	Name             string
	Author           string
	LegalContentType string
	CreatedOn        time.Time
}

// RegisterFields are what register_title may use: BusinessName is "" when
// the location's name is not known.
type RegisterFields struct {
	BusinessId   int64
	BusinessName string
	Month        string
}

// textView is what the text template sees: CreatedOn is its UTC date
// (2006-01-02), the day of Nexudus' wall clock as Month reads it.
type textView struct {
	UniqueId         string
	BusinessId       int64
	Name             string
	Author           string
	LegalContentType string
	CreatedOn        string
}

func viewOf(f TextFields) textView {
	return textView{
		UniqueId: f.UniqueId, BusinessId: f.BusinessId, Name: f.Name, Author: f.Author,
		LegalContentType: f.LegalContentType, CreatedOn: f.CreatedOn.UTC().Format(dateLayout),
	}
}

// Titles are the parsed legal.text_title and legal.register_title.
type Titles struct {
	text, register *template.Template
}

// Sample fields ParseTitles renders the templates with: every field set.
var (
	sampleText = TextFields{
		UniqueId: "00000000-0000-0000-0000-000000000000", BusinessId: 1, Name: "General terms",
		Author: "author@example.com", LegalContentType: "GeneralTerms", CreatedOn: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	sampleRegister = RegisterFields{BusinessId: 1, BusinessName: "Sample location", Month: "2024-01"}
)

// ParseTitles parses both templates and checks them by rendering sample
// fields: a template that does not parse, names an unknown field, fails or
// renders empty (after cleaning) is an error naming its key
// ("legal.text_title: ..."). register_title is also rendered with an empty
// BusinessName, since that is what it gets while the name is unknown.
func ParseTitles(textTitle, registerTitle string) (*Titles, error) {
	text, err := parseTitle("text_title", textTitle)
	if err != nil {
		return nil, err
	}
	register, err := parseTitle("register_title", registerTitle)
	if err != nil {
		return nil, err
	}
	if err := checkTitle("text_title", text, viewOf(sampleText), ""); err != nil {
		return nil, err
	}
	if err := checkTitle("register_title", register, sampleRegister, ""); err != nil {
		return nil, err
	}
	noName := sampleRegister
	noName.BusinessName = ""
	if err := checkTitle("register_title", register, noName, " with BusinessName empty (as while the location's name is unknown)"); err != nil {
		return nil, err
	}
	return &Titles{text: text, register: register}, nil
}

func parseTitle(key, text string) (*template.Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("legal.%s: empty template", key)
	}
	tmpl, err := template.New(key).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("legal.%s: %w", key, err)
	}
	return tmpl, nil
}

func checkTitle(key string, tmpl *template.Template, data any, when string) error {
	raw, err := render(tmpl, data)
	if err != nil {
		return fmt.Errorf("legal.%s: %w", key, err)
	}
	if cleanTitle(raw) == "" {
		return fmt.Errorf("legal.%s: renders an empty title%s", key, when)
	}
	return nil
}

func render(tmpl *template.Template, data any) (string, error) {
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Text renders text_title for one version of a legal text. CreatedOn
// renders as its UTC date, 2006-01-02. The result is trimmed, its runs of
// white space made one space, control, bidi and zero-width characters
// removed and its length bounded to 250 characters; it is never empty: a
// render that cleans to nothing becomes "Legal text <UniqueId>".
func (t *Titles) Text(f TextFields) (string, error) {
	if t == nil || t.text == nil {
		return "", errors.New("legal: Titles not made by ParseTitles")
	}
	raw, err := render(t.text, viewOf(f))
	if err != nil {
		return "", fmt.Errorf("legal: render text_title for text %s: %w", f.UniqueId, err)
	}
	if s := cleanTitle(raw); s != "" {
		return s, nil
	}
	return cleanTitle("Legal text " + f.UniqueId), nil
}

// Register renders register_title for a location's month. The result is
// cleaned as Text's is and never empty: a render that cleans to nothing
// becomes "Terms acceptances <BusinessId> <Month>".
func (t *Titles) Register(f RegisterFields) (string, error) {
	if t == nil || t.register == nil {
		return "", errors.New("legal: Titles not made by ParseTitles")
	}
	raw, err := render(t.register, f)
	if err != nil {
		return "", fmt.Errorf("legal: render register_title for location %d month %s: %w", f.BusinessId, f.Month, err)
	}
	if s := cleanTitle(raw); s != "" {
		return s, nil
	}
	return cleanTitle("Terms acceptances " + strconv.FormatInt(f.BusinessId, 10) + " " + f.Month), nil
}

// cleanTitle is what a rendered title goes through: a title is shown to
// people, so nothing in it may display as something else. White space
// (tabs and line breaks included) becomes one space, other control
// characters, bidi controls, zero-width characters and invalid UTF-8 are
// dropped, and the result is trimmed and bounded to maxTitleRunes.
func cleanTitle(raw string) string {
	var out strings.Builder
	n := 0
	space := false
	for _, r := range raw {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case dropped(r):
			continue
		}
		if space && out.Len() > 0 {
			if n == maxTitleRunes {
				break
			}
			out.WriteByte(' ')
			n++
		}
		space = false
		if n == maxTitleRunes {
			break
		}
		out.WriteRune(r)
		n++
	}
	return strings.TrimSpace(out.String())
}

// dropped reports the characters no title or file name keeps: control
// characters, bidi controls (which make a name display as something
// else), zero-width space and BOM, and invalid UTF-8 (and U+FFFD with it).
func dropped(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || isBidi(r) || r == '\u200b' || r == '\ufeff'
}

// isBidi reports Unicode bidirectional formatting characters (the set
// httpx.IsBidi knows, which this package may not import).
func isBidi(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// safeName makes s safe as part of a file name, as sync.SafeFilename does
// for contracts: no path separators (replaced by '_'), no control, bidi or
// zero-width characters, white space as single spaces, no leading or
// trailing dots or spaces, at most max bytes (cut on a rune boundary).
func safeName(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case r == '/' || r == '\\' || r == ':':
			r = '_'
		case unicode.IsSpace(r):
			space = true
			continue
		case dropped(r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	out := trimName(b.String())
	if len(out) > max {
		out = trimName(truncate(out, max))
	}
	return out
}

// trimName drops leading and trailing dots and spaces: leading dots would
// make a hidden file or a relative path component.
func trimName(s string) string { return strings.Trim(s, ". ") }

// truncate cuts s to at most n bytes without splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// maxUniqueIDInName bounds the UniqueId part of a text's file name so the
// name part always keeps some room.
const maxUniqueIDInName = 64

// TextFilename is the CoreData file name of a version of a legal text:
// "<safe name>-<uniqueid>.md", deterministic and safe (no path separators,
// control, bidi or zero-width characters, no leading dot, at most 200
// bytes). The name is the version's Name ("legal-text" when that cleans to
// nothing), shortened first when the whole would be too long; the
// UniqueId part is cleaned the same way and left out when it cleans to
// nothing.
func TextFilename(f TextFields) string {
	const ext = ".md"
	uid := safeName(f.UniqueId, maxUniqueIDInName)
	suffix := ext
	if uid != "" {
		suffix = "-" + uid + ext
	}
	name := safeName(f.Name, maxFilenameBytes-len(suffix))
	if name == "" {
		name = "legal-text"
	}
	return name + suffix
}

// RegisterFilename is the CoreData file name of a location's register for
// one month: "terms-acceptances-<business>-<YYYY-MM>.csv". A month not in
// YYYY-MM form is made safe like any other name part ("unknown" when
// nothing is left of it).
func RegisterFilename(business int64, month string) string {
	if !isMonth(month) {
		month = safeName(month, 32)
		if month == "" {
			month = "unknown"
		}
	}
	return "terms-acceptances-" + strconv.FormatInt(business, 10) + "-" + month + ".csv"
}
