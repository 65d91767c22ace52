// Package syncd is the root of the module. It holds only what several
// components share without any one of them owning it: the API payloads
// recorded from the API documents (testdata/api, see its README.md).
//
// The simulators (internal/nexudus/nexudustest, internal/coredata/coredatatest)
// serve the static ones as they are and are tested against the others with
// ShapeDiff; the clients' contract tests decode the same files with the
// real decoders. A simulator therefore cannot drift from what the clients
// expect, nor either from the documents, without a test failing.
package syncd

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
)

//go:embed testdata/api
var apiFiles embed.FS

// APIPayloads is the testdata/api directory, embedded: names are relative
// to it, such as "nexudus/list_page.json" or "coredata/blob.json". It is
// embedded so that the simulators can use it at run time too (syncd demo),
// from any working directory.
var APIPayloads fs.FS = mustSub(apiFiles, "testdata/api")

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

// APIPayload returns the recorded payload called name in APIPayloads.
func APIPayload(name string) ([]byte, error) {
	return fs.ReadFile(APIPayloads, name)
}

// MustAPIPayload is APIPayload for package variables. The files are
// embedded at build time, so a missing one is a programming error.
func MustAPIPayload(name string) []byte {
	b, err := APIPayload(name)
	if err != nil {
		panic("syncd: recorded API payload: " + err.Error())
	}
	return b
}

// ShapeRules adjust ShapeDiff. Paths name a value from the document's
// root: "Records[].UpdatedOn" is the UpdatedOn of every element of
// Records, "objects[].project" the project of every list object, "" the
// root itself.
type ShapeRules struct {
	// Subset lets the answer have object members that the recordings
	// lack: for a document example that shows fewer fields than the
	// answer carries.
	Subset bool
	// Maps are objects whose member names are data, not fields (CoreData's
	// "aspects"): only the shapes of their members are compared.
	Maps []string
	// Nullable are values the answer may leave null although every
	// recording has a value there. Each entry is a known, accepted
	// difference and should say so where it is listed.
	Nullable []string
	// Layouts are strings whose layout must be one that a recording
	// shows. The layout of a string maps digits to 9, lower-case letters
	// to a, upper-case ones to A and keeps the rest:
	// "2025-01-15T10:30:00Z" is "9999-99-99A99:99:99A", so a time
	// written with a fraction, an offset or without its "Z" differs.
	Layouts []string
}

// ShapeDiff reports how the JSON document got differs in shape from the
// recorded ones: object members missing or added, JSON types (string,
// number, bool, null, object, array), and the layouts of ShapeRules.Layouts.
// Values are not compared. All recordings together make the reference:
// a member that is null in one and a string in another may be either.
// Where every recording has null, got may hold null or any scalar (the
// recording says the field can be null, not of which type it is); where
// the recordings only have empty arrays, the elements are not compared.
//
// An empty result means the shapes agree. The error is for documents that
// are not JSON and for recordings that disagree among themselves.
func ShapeDiff(got []byte, rules ShapeRules, recorded ...[]byte) ([]string, error) {
	if len(recorded) == 0 {
		return nil, fmt.Errorf("shape: no recording to compare with")
	}
	ref := newShape()
	for i, r := range recorded {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, fmt.Errorf("shape: recording %d is not JSON: %w", i+1, err)
		}
		if err := ref.add("", v, &rules); err != nil {
			return nil, err
		}
	}
	var v any
	if err := json.Unmarshal(got, &v); err != nil {
		return nil, fmt.Errorf("shape: the answer is not JSON: %w", err)
	}
	var out []string
	ref.diff("", v, &rules, &out)
	sort.Strings(out)
	return slices.Compact(out), nil
}

// shape is what the recordings show at one path.
type shape struct {
	kinds   map[string]bool
	names   []string          // object members, sorted (nil: no object seen)
	members map[string]*shape // by name
	elem    *shape            // array elements, or the members of a map
	layouts map[string]bool
}

func newShape() *shape {
	return &shape{kinds: map[string]bool{}, members: map[string]*shape{}, layouts: map[string]bool{}}
}

func (s *shape) add(path string, v any, r *ShapeRules) error {
	s.kinds[kindOf(v)] = true
	switch x := v.(type) {
	case string:
		if slices.Contains(r.Layouts, path) {
			s.layouts[layout(x)] = true
		}
	case map[string]any:
		names := sortedNames(x)
		if slices.Contains(r.Maps, path) {
			for _, n := range names {
				if err := s.element().add(path+".*", x[n], r); err != nil {
					return err
				}
			}
			return nil
		}
		if s.names == nil {
			s.names = names
		} else if !slices.Equal(s.names, names) {
			return fmt.Errorf("shape: the recordings disagree at %s: members %v and %v", show(path), s.names, names)
		}
		for _, n := range names {
			m := s.members[n]
			if m == nil {
				m = newShape()
				s.members[n] = m
			}
			if err := m.add(join(path, n), x[n], r); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := s.element().add(path+"[]", e, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *shape) element() *shape {
	if s.elem == nil {
		s.elem = newShape()
	}
	return s.elem
}

func (s *shape) diff(path string, v any, r *ShapeRules, out *[]string) {
	k := kindOf(v)
	switch {
	case s.kinds[k]:
	case k == "null" && slices.Contains(r.Nullable, path):
		return
	case len(s.kinds) == 1 && s.kinds["null"] && k != "object" && k != "array":
		// A documented null: the field is nullable, its type unknown.
	default:
		*out = append(*out, fmt.Sprintf("%s: %s, recorded as %s", show(path), k, strings.Join(sortedKinds(s.kinds), " or ")))
		return
	}
	switch x := v.(type) {
	case string:
		if slices.Contains(r.Layouts, path) && len(s.layouts) > 0 && !s.layouts[layout(x)] {
			*out = append(*out, fmt.Sprintf("%s: layout %s (%q), recorded as %s",
				show(path), layout(x), x, strings.Join(sortedKinds(s.layouts), " or ")))
		}
	case map[string]any:
		if slices.Contains(r.Maps, path) {
			if s.elem != nil {
				for _, n := range sortedNames(x) {
					s.elem.diff(path+".*", x[n], r, out)
				}
			}
			return
		}
		for _, n := range s.names {
			if _, ok := x[n]; !ok {
				*out = append(*out, fmt.Sprintf("%s: missing", show(join(path, n))))
			}
		}
		for _, n := range sortedNames(x) {
			m, ok := s.members[n]
			if !ok {
				if !r.Subset {
					*out = append(*out, fmt.Sprintf("%s: not in the recordings", show(join(path, n))))
				}
				continue
			}
			m.diff(join(path, n), x[n], r, out)
		}
	case []any:
		if s.elem == nil {
			return // only empty arrays recorded: nothing to say of elements
		}
		for _, e := range x {
			s.elem.diff(path+"[]", e, r, out)
		}
	}
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// layout is the class of a string that ShapeRules.Layouts compares.
func layout(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return '9'
		case r >= 'a' && r <= 'z':
			return 'a'
		case r >= 'A' && r <= 'Z':
			return 'A'
		}
		return r
	}, s)
}

func sortedNames(m map[string]any) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func sortedKinds(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func show(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}
