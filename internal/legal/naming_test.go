package legal_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coworkdocs/syncd/internal/legal"
)

var sampleText = legal.TextFields{
	UniqueId: "a1b2c3d4-e5f6-7890-abcd-ef1234567890", BusinessId: 12, Name: "General terms", Author: "legal@example.com",
	LegalContentType: "GeneralTerms", CreatedOn: time.Date(2024, 3, 5, 23, 30, 0, 0, time.UTC),
}

func TestParseTitles(t *testing.T) {
	tests := []struct {
		name, text, register string
		wantErr              string // "" when it parses
	}{
		{"defaults", legal.DefaultTextTitle, legal.DefaultRegisterTitle, ""},
		{"every field", "{{.Name}} {{.LegalContentType}} {{.CreatedOn}} {{.UniqueId}} {{.BusinessId}} {{.Author}}",
			"{{.BusinessId}} {{.Month}} {{.BusinessName}}", ""},
		{"business name with text", legal.DefaultTextTitle, "Acceptances {{.BusinessName}} {{.Month}}", ""},
		{"unknown text field", "{{.Title}}", legal.DefaultRegisterTitle, "legal.text_title: "},
		{"unknown register field", legal.DefaultTextTitle, "{{.Location}} {{.Month}}", "legal.register_title: "},
		{"contract field", "{{.CoworkerFullName}}", legal.DefaultRegisterTitle, "legal.text_title: "},
		{"text parse error", "{{.Name", legal.DefaultRegisterTitle, "legal.text_title: "},
		{"register parse error", legal.DefaultTextTitle, "{{if}}", "legal.register_title: "},
		{"empty text", "", legal.DefaultRegisterTitle, "legal.text_title: empty template"},
		{"blank register", legal.DefaultTextTitle, "  \n", "legal.register_title: empty template"},
		{"renders empty", `{{if false}}x{{end}}`, legal.DefaultRegisterTitle, "legal.text_title: renders an empty title"},
		{"renders only controls", "{{\"\\x00\\u202e\"}}  \t", legal.DefaultRegisterTitle, "legal.text_title: renders an empty title"},
		{"only the business name", legal.DefaultTextTitle, "{{.BusinessName}}", "legal.register_title: renders an empty title with BusinessName empty"},
		{"fails on execution", `{{index .Name 99}}`, legal.DefaultRegisterTitle, "legal.text_title: "},
		{"method of a time", "{{.CreatedOn.Year}}", legal.DefaultRegisterTitle, "legal.text_title: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			titles, err := legal.ParseTitles(tt.text, tt.register)
			if tt.wantErr == "" {
				if err != nil || titles == nil {
					t.Fatalf("ParseTitles: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to start with %q", err, tt.wantErr)
			}
		})
	}
}

func mustTitles(t *testing.T, text, register string) *legal.Titles {
	t.Helper()
	titles, err := legal.ParseTitles(text, register)
	if err != nil {
		t.Fatal(err)
	}
	return titles
}

func TestTitlesText(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		name, tmpl string
		f          func(*legal.TextFields)
		want       string
	}{
		{"default", legal.DefaultTextTitle, nil, "General terms (GeneralTerms) 2024-03-05"},
		{"every field", "{{.Name}}|{{.LegalContentType}}|{{.CreatedOn}}|{{.UniqueId}}|{{.BusinessId}}|{{.Author}}", nil,
			"General terms|GeneralTerms|2024-03-05|a1b2c3d4-e5f6-7890-abcd-ef1234567890|12|legal@example.com"},
		// The date is Nexudus' UTC wall clock, not the caller's zone.
		{"date in UTC", "{{.CreatedOn}}", func(f *legal.TextFields) { f.CreatedOn = f.CreatedOn.In(time.FixedZone("", 3*3600)) }, "2024-03-05"},
		{"control characters", legal.DefaultTextTitle, func(f *legal.TextFields) { f.Name = "Gen\x00eral\x1b[31m terms\x7f" }, "General[31m terms (GeneralTerms) 2024-03-05"},
		{"line breaks become spaces", legal.DefaultTextTitle, func(f *legal.TextFields) { f.Name = "General\r\nterms\t\tv2\n" }, "General terms v2 (GeneralTerms) 2024-03-05"},
		{"bidi", "{{.Name}}", func(f *legal.TextFields) { f.Name = "terms\u202Efdp.exe\u2066x\u2069\u200E" }, "termsfdp.exex"},
		{"zero width and BOM", "{{.Name}}", func(f *legal.TextFields) { f.Name = "\ufeffte\u200brms" }, "terms"},
		{"invalid UTF-8", "{{.Name}}", func(f *legal.TextFields) { f.Name = "te\xffrms" }, "terms"},
		{"trimmed", "  {{.Name}}  ", func(f *legal.TextFields) { f.Name = " \u00a0 terms \u2028" }, "terms"},
		{"empty render falls back", "{{.Name}}", func(f *legal.TextFields) { f.Name = "\u202e\x00 " }, "Legal text a1b2c3d4-e5f6-7890-abcd-ef1234567890"},
		{"fallback without id", "{{.Author}}", func(f *legal.TextFields) { f.Author, f.UniqueId = "", "" }, "Legal text"},
		{"no HTML escaping", "{{.Name}}", func(f *legal.TextFields) { f.Name = `<b>"A&B"</b>` }, `<b>"A&B"</b>`},
		{"bounded", "{{.Name}}", func(f *legal.TextFields) { f.Name = long }, strings.Repeat("é", 250)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			titles := mustTitles(t, tt.tmpl, legal.DefaultRegisterTitle)
			f := sampleText
			if tt.f != nil {
				tt.f(&f)
			}
			got, err := titles.Text(f)
			if err != nil || got != tt.want {
				t.Fatalf("Text = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// A template can still fail on real data: an error, not a title.
	titles := mustTitles(t, `{{index .Name 12}}`, legal.DefaultRegisterTitle)
	if _, err := titles.Text(legal.TextFields{Name: "short", UniqueId: "u"}); err == nil || !strings.Contains(err.Error(), "text_title") {
		t.Fatalf("failing render: %v", err)
	}
	var zero legal.Titles
	if _, err := zero.Text(sampleText); err == nil {
		t.Fatal("zero Titles rendered")
	}
}

func TestTitlesRegister(t *testing.T) {
	tests := []struct {
		name, tmpl string
		f          legal.RegisterFields
		want       string
	}{
		{"default", legal.DefaultRegisterTitle, legal.RegisterFields{BusinessId: 12, Month: "2024-03"}, "Terms acceptances 12 2024-03"},
		{"business name", "{{.BusinessName}} – {{.Month}}", legal.RegisterFields{BusinessId: 12, BusinessName: "Coworking Sur", Month: "2024-03"}, "Coworking Sur – 2024-03"},
		{"name unknown", "Acceptances {{.BusinessName}} {{.Month}}", legal.RegisterFields{BusinessId: 12, Month: "2024-03"}, "Acceptances 2024-03"},
		{"controls in name", "{{.BusinessName}} {{.Month}}", legal.RegisterFields{BusinessName: "Sur\u202e\n\x00", Month: "2024-03"}, "Sur 2024-03"},
		{"partly empty", "{{.BusinessName}}{{if .Month}}{{end}}x", legal.RegisterFields{BusinessId: 12, Month: "2024-03"}, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			titles := mustTitles(t, legal.DefaultTextTitle, tt.tmpl)
			got, err := titles.Register(tt.f)
			if err != nil || got != tt.want {
				t.Fatalf("Register = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// A render that cleans to nothing on real data gets the default title.
	titles := mustTitles(t, legal.DefaultTextTitle, "{{if eq .Month \"2024-03\"}}\u202e{{else}}{{.Month}}{{end}}")
	if got, err := titles.Register(legal.RegisterFields{BusinessId: 12, Month: "2024-03"}); err != nil || got != "Terms acceptances 12 2024-03" {
		t.Fatalf("fallback = %q, %v", got, err)
	}
}

// checkSafeName is what every file name must be.
func checkSafeName(t *testing.T, name string) {
	t.Helper()
	if name == "" || len(name) > 200 || !utf8.ValidString(name) || strings.HasPrefix(name, ".") || strings.HasPrefix(name, " ") {
		t.Fatalf("unsafe name %q", name)
	}
	if strings.ContainsAny(name, "/\\:") {
		t.Fatalf("name %q keeps a path", name)
	}
	for _, r := range name {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) ||
			r == 0x200E || r == 0x200F || r == 0x061C || r == 0x200B || r == 0xFEFF || r == utf8.RuneError {
			t.Fatalf("name %q keeps %U", name, r)
		}
	}
}

func TestTextFilename(t *testing.T) {
	const uid = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
	tests := []struct {
		name, in, uid, want string
	}{
		{"plain", "General terms", uid, "General terms-" + uid + ".md"},
		{"non-ASCII kept", "Conditions générales", uid, "Conditions générales-" + uid + ".md"},
		{"path walk", "../../etc/passwd", uid, "_.._etc_passwd-" + uid + ".md"},
		{"backslashes and drive", `C:\terms`, uid, "C__terms-" + uid + ".md"},
		{"hidden file", ".terms", uid, "terms-" + uid + ".md"},
		{"bidi", "terms\u202Edm.exe", uid, "termsdm.exe-" + uid + ".md"},
		{"controls and line breaks", "Terms\r\nof\tuse\x00", uid, "Terms of use-" + uid + ".md"},
		{"empty name", "", uid, "legal-text-" + uid + ".md"},
		{"only dots", "...", uid, "legal-text-" + uid + ".md"},
		{"only controls", "\x00\u202e", uid, "legal-text-" + uid + ".md"},
		{"odd uniqueid", "Terms", "../x\u202e", "Terms-_x.md"},
		{"no uniqueid", "Terms", "", "Terms.md"},
		{"uniqueid of dots", "Terms", "..", "Terms.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sampleText
			f.Name, f.UniqueId = tt.in, tt.uid
			got := legal.TextFilename(f)
			if got != tt.want {
				t.Fatalf("TextFilename(%q, %q) = %q, want %q", tt.in, tt.uid, got, tt.want)
			}
			checkSafeName(t, got)
			if again := legal.TextFilename(f); again != got {
				t.Fatal("not deterministic")
			}
		})
	}
	t.Run("long name keeps the id", func(t *testing.T) {
		f := sampleText
		f.Name = strings.Repeat("ü", 300)
		got := legal.TextFilename(f)
		checkSafeName(t, got)
		if !strings.HasSuffix(got, "-"+uid+".md") || !strings.HasPrefix(got, "üü") {
			t.Fatalf("long name %q", got)
		}
	})
	t.Run("long uniqueid", func(t *testing.T) {
		f := sampleText
		f.UniqueId = strings.Repeat("x", 500)
		got := legal.TextFilename(f)
		checkSafeName(t, got)
		if !strings.HasPrefix(got, "General terms-") || !strings.HasSuffix(got, ".md") {
			t.Fatalf("long uniqueid %q", got)
		}
	})
}

func TestRegisterFilename(t *testing.T) {
	tests := []struct {
		name     string
		business int64
		month    string
		want     string
	}{
		{"plain", 12, "2024-03", "terms-acceptances-12-2024-03.csv"},
		{"big id", 9223372036854775807, "9999-12", "terms-acceptances-9223372036854775807-9999-12.csv"},
		{"bad month made safe", 12, "../2024/03", "terms-acceptances-12-_2024_03.csv"},
		{"empty month", 12, "", "terms-acceptances-12-unknown.csv"},
		{"controls", 12, "2024-03\n\u202e", "terms-acceptances-12-2024-03.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := legal.RegisterFilename(tt.business, tt.month)
			if got != tt.want {
				t.Fatalf("RegisterFilename(%d, %q) = %q, want %q", tt.business, tt.month, got, tt.want)
			}
			checkSafeName(t, got)
		})
	}
}
