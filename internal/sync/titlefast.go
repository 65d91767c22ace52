package sync

import (
	"strconv"
	"strings"
	"sync/atomic"
	"text/template"
	"text/template/parse"

	"github.com/coworkdocs/syncd/internal/nexudus"
)

// A poll renders the title of every record it lists, to see whether it
// changed in Nexudus. Executing a text/template for that (reflection, an
// interface per field, a writer) cost more than the rest of the decision
// for a record that is skipped. Titles are almost always plain text and
// fields, "{{.CoworkerFullName}} - {{.Name}}": such a template is compiled
// once into a list of pieces that render by concatenation, byte for byte
// what text/template writes. Any other template (a function, a pipeline,
// a condition, a field that is not a string or an integer) is executed as
// before.

// titlePiece is literal text or one field of the record.
type titlePiece struct {
	text  string
	field func(*nexudus.File) string // nil for text
}

// titlePlan is a compiled template; simple is false when the template is
// not one of the simple forms.
type titlePlan struct {
	tmpl   *template.Template
	tree   *parse.Tree // the tree compiled: a template parsed again is compiled again
	pieces []titlePiece
	simple bool
}

// lastPlan is the plan of the template last rendered. A daemon has one
// template, so one entry is the whole cache; engines with different
// templates (tests) only compile more often. Kept out of Engine so that
// the engine's shape does not change for it, and bounded so that a
// template parsed anew for every poll cannot make it grow.
var lastPlan atomic.Pointer[titlePlan]

// titleFields are the fields a simple template may name, printed as
// text/template prints them (fmt.Fprint: a string as it is, an integer
// in decimal).
var titleFields = map[string]func(*nexudus.File) string{
	"BusinessName":           func(f *nexudus.File) string { return f.BusinessName },
	"CoworkerFullName":       func(f *nexudus.File) string { return f.CoworkerFullName },
	"CoworkerCompanyName":    func(f *nexudus.File) string { return f.CoworkerCompanyName },
	"CoworkerBillingName":    func(f *nexudus.File) string { return f.CoworkerBillingName },
	"CoworkerCoworkerType":   func(f *nexudus.File) string { return f.CoworkerCoworkerType },
	"Name":                   func(f *nexudus.File) string { return f.Name },
	"Description":            func(f *nexudus.File) string { return f.Description },
	"FileDataFileName":       func(f *nexudus.File) string { return f.FileDataFileName },
	"SignedFileDataFileName": func(f *nexudus.File) string { return f.SignedFileDataFileName },
	"Extension":              func(f *nexudus.File) string { return f.Extension },
	"EsignIdentifier":        func(f *nexudus.File) string { return f.EsignIdentifier },
	"DocumentTemplateGuid":   func(f *nexudus.File) string { return f.DocumentTemplateGuid },
	"ProposalGuid":           func(f *nexudus.File) string { return f.ProposalGuid },
	"CoworkerContractGuid":   func(f *nexudus.File) string { return f.CoworkerContractGuid },
	"UniqueID":               func(f *nexudus.File) string { return f.UniqueID },
	"UpdatedBy":              func(f *nexudus.File) string { return f.UpdatedBy },
	"ID":                     func(f *nexudus.File) string { return strconv.FormatInt(f.ID, 10) },
	"BusinessID":             func(f *nexudus.File) string { return strconv.FormatInt(f.BusinessID, 10) },
	"CoworkerID":             func(f *nexudus.File) string { return strconv.FormatInt(f.CoworkerID, 10) },
}

func planFor(t *template.Template) *titlePlan {
	if p := lastPlan.Load(); p != nil && p.tmpl == t && p.tree == t.Tree {
		return p
	}
	p := compileTitle(t)
	lastPlan.Store(p)
	return p
}

func compileTitle(t *template.Template) *titlePlan {
	p := &titlePlan{tmpl: t, tree: t.Tree}
	if t.Tree == nil || t.Tree.Root == nil {
		return p
	}
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			p.pieces = append(p.pieces, titlePiece{text: string(n.Text)})
		case *parse.ActionNode:
			if n.Pipe == nil || n.Pipe.IsAssign || len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
				return p
			}
			fn, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok || len(fn.Ident) != 1 {
				return p
			}
			get, ok := titleFields[fn.Ident[0]]
			if !ok {
				return p
			}
			p.pieces = append(p.pieces, titlePiece{field: get})
		default:
			return p
		}
	}
	p.simple = true
	return p
}

// render is the template's output for f; ok is false when the template
// is not simple and must be executed.
func (p *titlePlan) render(f *nexudus.File) (string, bool) {
	if !p.simple {
		return "", false
	}
	if len(p.pieces) == 1 && p.pieces[0].field != nil {
		return p.pieces[0].field(f), true
	}
	var parts [8]string
	vals := parts[:0]
	n := 0
	for _, pc := range p.pieces {
		s := pc.text
		if pc.field != nil {
			s = pc.field(f)
		}
		vals = append(vals, s)
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range vals {
		b.WriteString(s)
	}
	return b.String(), true
}

// plainTitle reports whether cleanTitle would return s unchanged: printable
// ASCII, words separated by single spaces, neither empty nor over the
// length cap. Most titles are; they need no second copy.
func plainTitle(s string) bool {
	if len(s) == 0 || len(s) > maxTitleRunes || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || (c == ' ' && s[i+1] == ' ') {
			return false
		}
	}
	return true
}
