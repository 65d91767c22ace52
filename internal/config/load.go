package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a configuration problem. Key is the dotted YAML key at fault
// (empty for file-level problems); the message always names the file.
type Error struct {
	File string
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("config %s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("config %s: %s: %s", e.File, e.Key, e.Msg)
}

// Errors is every problem found in one file, so an operator fixes them in
// one round instead of one per restart.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// maxConfigBytes bounds the file read: a config is a page of YAML.
const maxConfigBytes = 1 << 20

// ResolvePath applies the lookup order the README documents: the flag, then
// $SYNCD_CONFIG, then DefaultPath.
func ResolvePath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv("SYNCD_CONFIG"); env != "" {
		return env
	}
	return DefaultPath
}

// LoadOptions choose how much of a configuration Load resolves.
type LoadOptions struct {
	// SkipSecrets leaves the four secrets (nexudus username and password,
	// coredata api_user and api_key) and their *_file forms unread and
	// unchecked: neither their ${VAR} nor their files are resolved. It is
	// for commands that never talk to an API (state ls, show, backup), so
	// that they work from a shell on a host whose secrets exist only
	// inside the service (systemd LoadCredential sets
	// ${CREDENTIALS_DIRECTORY} for the unit alone). The Config it returns
	// has SecretsSkipped set and its secret fields empty.
	SkipSecrets bool
}

// Load reads, expands, decodes and validates the file at path.
func Load(path string) (*Config, error) { return LoadWith(path, LoadOptions{}) }

// LoadWith is Load with options.
func LoadWith(path string, opt LoadOptions) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPathError(err))}
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	if len(raw) > maxConfigBytes {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes", maxConfigBytes)}
	}
	return ParseWith(path, raw, os.LookupEnv, opt)
}

// Parse is Load over bytes already read; lookup resolves ${VAR}.
//
// ${VAR} is replaced inside the parsed YAML values, not in the text, so a
// value from the environment is taken as it is whatever it holds (quotes,
// "#", ": ", backslashes) and however the file quotes it.
func Parse(path string, raw []byte, lookup func(string) (string, bool)) (*Config, error) {
	return ParseWith(path, raw, lookup, LoadOptions{})
}

// ParseWith is Parse with options.
func ParseWith(path string, raw []byte, lookup func(string) (string, bool), opt LoadOptions) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, &Error{File: path, Msg: yamlMessage(err)}
	}
	if err := unknownKeys(raw); err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	if opt.SkipSecrets {
		blankSecrets(&root)
	}
	if missing := expandNode(&root, lookup); len(missing) > 0 {
		return nil, &Error{File: path, Msg: "environment variable not set: " + strings.Join(missing, ", ")}
	}
	cfg := Defaults()
	// Tags and businesses are replaced, not merged, when the file sets them.
	if len(root.Content) > 0 {
		if err := root.Decode(&cfg); err != nil {
			return nil, &Error{File: path, Msg: yamlMessage(err)}
		}
	}
	cfg.Path = path
	cfg.SecretsSkipped = opt.SkipSecrets
	if !opt.SkipSecrets {
		if err := cfg.resolveSecrets(); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// unknownKeys decodes the raw text strictly only to find keys that are not
// in Config; other problems (a ${VAR} in a number field) are left to the
// decode after expansion.
func unknownKeys(raw []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var probe Config
	err := dec.Decode(&probe)
	var te *yaml.TypeError
	if err == nil || !errors.As(err, &te) {
		return nil
	}
	var msgs []string
	for _, m := range te.Errors {
		if unknownFieldPattern.MatchString(m) {
			msgs = append(msgs, unknownKeyMessage(m))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

// secretKeys are the keys LoadOptions.SkipSecrets leaves unresolved, by
// section.
var secretKeys = map[string][]string{
	"nexudus":  {"username", "username_file", "password", "password_file"},
	"coredata": {"api_user", "api_user_file", "api_key", "api_key_file"},
}

// blankSecrets empties the values of the secret keys in the parsed
// document, before ${VAR} expansion, so that neither their variables nor
// their files are looked at.
func blankSecrets(root *yaml.Node) {
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		keys, ok := secretKeys[top.Content[i].Value]
		section := top.Content[i+1]
		if !ok || section.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(section.Content); j += 2 {
			for _, k := range keys {
				if section.Content[j].Value == k {
					v := section.Content[j+1]
					*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "", Line: v.Line, Column: v.Column}
				}
			}
		}
	}
}

var varPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandNode replaces ${VAR} (only that form, so a lone $ stays) in every
// scalar value and returns the unset variables with their lines: an empty
// password that silently reaches the API is harder to diagnose.
func expandNode(n *yaml.Node, lookup func(string) (string, bool)) []string {
	var missing []string
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = varPattern.ReplaceAllStringFunc(n.Value, func(m string) string {
			name := varPattern.FindStringSubmatch(m)[1]
			v, ok := lookup(name)
			if !ok {
				missing = append(missing, fmt.Sprintf("${%s} (line %d)", name, n.Line))
			}
			return v
		})
		if n.Style == 0 {
			// A plain value is typed by what it now holds (a number for
			// page_size), except that it never becomes null: a password
			// "null" or "~" stays that string.
			n.Tag = ""
			if n.ShortTag() == "!!null" {
				n.Tag = "!!str"
			}
		}
	}
	for _, c := range n.Content {
		missing = append(missing, expandNode(c, lookup)...)
	}
	return missing
}

// yamlMessage turns the decoder's message into one line per problem with
// the dotted key ("line 7: unknown key nexudus.pasword").
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = unknownKeyMessage(m)
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

var unknownFieldPattern = regexp.MustCompile(`^line (\d+): field (.+) not found in type config\.(\w+)$`)

var sectionOfType = map[string]string{
	"Config": "", "Nexudus": "nexudus.", "CoreData": "coredata.", "State": "state.",
	"Sync": "sync.", "Audit": "audit.", "Legal": "legal.", "HTTP": "http.", "Log": "log.",
}

func unknownKeyMessage(m string) string {
	sub := unknownFieldPattern.FindStringSubmatch(m)
	if sub == nil {
		return m
	}
	return fmt.Sprintf("line %s: unknown key %s%s", sub[1], sectionOfType[sub[3]], sub[2])
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// resolveSecrets reads each *_file form. Setting both forms is an error:
// which one wins would be a guess.
func (c *Config) resolveSecrets() error {
	var errs Errors
	read := func(key string, value *string, file string) {
		if file == "" {
			return
		}
		if *value != "" {
			errs = append(errs, &Error{File: c.Path, Key: key, Msg: fmt.Sprintf("set both %s and %s_file; keep one", key, key)})
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, &Error{File: c.Path, Key: key + "_file", Msg: fmt.Sprintf("cannot read %s: %v", file, unwrapPathError(err))})
			return
		}
		*value = strings.TrimRight(string(b), "\r\n")
	}
	read("nexudus.username", &c.Nexudus.Username, c.Nexudus.UsernameFile)
	read("nexudus.password", &c.Nexudus.Password, c.Nexudus.PasswordFile)
	read("coredata.api_user", &c.CoreData.APIUser, c.CoreData.APIUserFile)
	read("coredata.api_key", &c.CoreData.APIKey, c.CoreData.APIKeyFile)
	if len(errs) > 0 {
		return errs
	}
	return nil
}
