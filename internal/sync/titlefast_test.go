package sync

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus"
)

// slowTitle is the title as title rendered it before the compiled plan:
// text/template, then the cleaning. The plan and plainTitle must give the
// same.
func slowTitle(t *testing.T, tmpl *template.Template, f nexudus.File) (string, error) {
	t.Helper()
	var b strings.Builder
	if err := tmpl.Execute(&b, f); err != nil {
		return "", err
	}
	var out strings.Builder
	n := 0
	for _, r := range b.String() {
		if unicode.IsControl(r) || httpx.IsBidi(r) || r == utf8.RuneError {
			continue
		}
		if n == maxTitleRunes {
			break
		}
		out.WriteRune(r)
		n++
	}
	s := strings.Join(strings.Fields(out.String()), " ")
	if s == "" {
		s = fmt.Sprintf("Nexudus file %d", f.ID)
	}
	return s, nil
}

var titleAlphabet = []string{"a", "Z", "0", " ", "  ", "-", "é", "Ω", "😀", "\t", "\n", "\x00", "\x7f", "\u202e", "\u2066", "\xff", "\u00a0", "~", "{", "\u200b"}

func randomText(r *rand.Rand) string {
	var b strings.Builder
	n := r.IntN(12)
	if r.IntN(20) == 0 {
		n = 300 // over the length cap
	}
	for i := 0; i < n; i++ {
		b.WriteString(titleAlphabet[r.IntN(len(titleAlphabet))])
	}
	return b.String()
}

// The compiled plan renders byte for byte what text/template renders, for
// every field it knows, and title cleans it as before.
func TestCompiledTitleMatchesTextTemplate(t *testing.T) {
	templates := []string{
		"{{.CoworkerFullName}} - {{.Name}}",
		"{{.Name}}",
		"Contract {{.ID}} of {{.CoworkerID}} at {{.BusinessID}}: {{.BusinessName}}",
		"{{.CoworkerCompanyName}}{{.CoworkerBillingName}}{{.CoworkerCoworkerType}}{{.Description}}",
		"{{.FileDataFileName}}/{{.SignedFileDataFileName}}.{{.Extension}} {{.EsignIdentifier}} {{.DocumentTemplateGuid}} {{.ProposalGuid}} {{.CoworkerContractGuid}} {{.UniqueID}} {{.UpdatedBy}}",
		"plain text only",
		"",
		// Not simple: executed by text/template.
		"{{.Name | printf \"%q\"}}",
		"{{if .Signed}}signed{{end}} {{.Name}}",
		"{{.UpdatedOn}} {{.Name}}",
		"{{.Signed}}",
		"{{$n := .Name}}{{$n}}",
		"{{printf \"%s-%s\" .Name .CoworkerFullName}}",
	}
	r := rand.New(rand.NewPCG(7, 11))
	for _, text := range templates {
		tmpl := template.Must(template.New("title").Option("missingkey=error").Parse(text))
		e := &Engine{opt: Options{Title: tmpl}}
		for i := 0; i < 2000; i++ {
			f := nexudus.File{
				ID: r.Int64N(1 << 40), BusinessID: r.Int64N(100) - 5, CoworkerID: r.Int64N(1 << 20),
				BusinessName: randomText(r), CoworkerFullName: randomText(r), CoworkerCompanyName: randomText(r),
				CoworkerBillingName: randomText(r), CoworkerCoworkerType: randomText(r), Name: randomText(r),
				Description: randomText(r), FileDataFileName: randomText(r), SignedFileDataFileName: randomText(r),
				Extension: randomText(r), EsignIdentifier: randomText(r), DocumentTemplateGuid: randomText(r),
				ProposalGuid: randomText(r), CoworkerContractGuid: randomText(r), UniqueID: randomText(r),
				UpdatedBy: randomText(r), Signed: r.IntN(2) == 0,
			}
			want, werr := slowTitle(t, tmpl, ListView(f)) // titles render what a listing holds
			got, gerr := e.title(f)
			if (werr != nil) != (gerr != nil) || got != want {
				t.Fatalf("template %q, record %+v:\n got %q, %v\nwant %q, %v", text, f, got, gerr, want, werr)
			}
		}
	}
}

func TestSimpleTemplatesAreCompiled(t *testing.T) {
	for text, simple := range map[string]bool{
		"{{.CoworkerFullName}} - {{.Name}}": true,
		"Contract {{.ID}}":                  true,
		"{{.UpdatedOn}}":                    false,
		"{{.Name | printf \"%q\"}}":         false,
		"{{template \"x\"}}":                false,
		"{{.Nope}}":                         false,
	} {
		tmpl, err := template.New("title").Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := planFor(tmpl).simple; got != simple {
			t.Errorf("%q: simple = %v, want %v", text, got, simple)
		}
	}
	// Every field the plan knows is a field of nexudus.File of that name.
	for name := range titleFields {
		tmpl := template.Must(template.New("t").Parse("{{." + name + "}}"))
		var b strings.Builder
		if err := tmpl.Execute(&b, nexudus.File{ID: 7, BusinessID: 8, CoworkerID: 9}); err != nil {
			t.Errorf("field %s: %v", name, err)
		}
	}
}

// A title change in Nexudus is followed: the plan reads the fields of each
// record, and a template parsed again is compiled again.
func TestCompiledTitleFollowsChanges(t *testing.T) {
	tmpl := template.Must(template.New("title").Parse("{{.CoworkerFullName}} - {{.Name}}"))
	e := &Engine{opt: Options{Title: tmpl}}
	f := nexudus.File{ID: 1, CoworkerFullName: "Ann", Name: "Lease"}
	if got, _ := e.title(f); got != "Ann - Lease" {
		t.Fatalf("title %q", got)
	}
	f.Name = "Lease v2"
	if got, _ := e.title(f); got != "Ann - Lease v2" {
		t.Errorf("title after a rename %q", got)
	}
	template.Must(tmpl.Parse("{{.Name}} ({{.CoworkerFullName}})"))
	if got, _ := e.title(f); got != "Lease v2 (Ann)" {
		t.Errorf("title after the template changed %q", got)
	}
}

// A template naming a field the listing leaves out gives one title
// whether the record came from a listing or a fetch by Id, so the file is
// not retitled back and forth.
func TestTitleIsTheSameFromAListingAndAFetch(t *testing.T) {
	tmpl := template.Must(ParseTitle("{{.Name}} {{.Description}}"))
	e := &Engine{opt: Options{Title: tmpl}}
	listed := nexudus.File{ID: 1, Name: "Contract"}
	fetched := listed
	fetched.Description, fetched.RequestDigitalSignature = "notes for the customer", true
	a, _ := e.title(listed)
	b, _ := e.title(fetched)
	if a != b {
		t.Fatalf("title from a listing %q, from a fetch %q", a, b)
	}
}
