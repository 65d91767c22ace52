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

// ResolvePath applies the lookup order of SPEC.md: the flag, then
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

// Load reads, expands, decodes and validates the file at path.
func Load(path string) (*Config, error) {
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
	return Parse(path, raw, os.LookupEnv)
}

// Parse is Load over bytes already read; lookup resolves ${VAR}.
func Parse(path string, raw []byte, lookup func(string) (string, bool)) (*Config, error) {
	expanded, err := expand(raw, lookup)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	cfg := Defaults()
	// Tags and businesses are replaced, not merged, when the file sets them.
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{File: path, Msg: yamlMessage(err)}
	}
	cfg.Path = path
	if err := cfg.resolveSecrets(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

var varPattern = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${VAR} (only that form, so a literal $ in a value stays)
// and refuses unset variables, naming them and their line: an empty
// password that silently reaches the API is harder to diagnose.
func expand(raw []byte, lookup func(string) (string, bool)) ([]byte, error) {
	var missing []string
	lines := bytes.Split(raw, []byte("\n"))
	for i, line := range lines {
		trimmed := bytes.TrimSpace(line)
		if bytes.HasPrefix(trimmed, []byte("#")) {
			continue
		}
		lines[i] = varPattern.ReplaceAllFunc(line, func(m []byte) []byte {
			name := string(varPattern.FindSubmatch(m)[1])
			v, ok := lookup(name)
			if !ok {
				missing = append(missing, fmt.Sprintf("${%s} (line %d)", name, i+1))
				return nil
			}
			return []byte(yamlQuoteIfNeeded(v))
		})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("environment variable not set: %s", strings.Join(missing, ", "))
	}
	return bytes.Join(lines, []byte("\n")), nil
}

// yamlQuoteIfNeeded keeps a value from the environment a plain string even
// when it holds YAML syntax (a password starting with "*" or containing ": ").
func yamlQuoteIfNeeded(v string) string {
	if v == "" || strings.ContainsAny(v, ":#{}[]&*!|>'\"%@`,\n") || strings.TrimSpace(v) != v {
		out, _ := yaml.Marshal(v)
		return strings.TrimSuffix(string(out), "\n")
	}
	return v
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
	"Sync": "sync.", "HTTP": "http.", "Log": "log.",
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
