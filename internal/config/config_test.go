package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func validEnv(t *testing.T) map[string]string {
	keyFile := filepath.Join(t.TempDir(), "api_key")
	if err := os.WriteFile(keyFile, []byte("s3cr3t-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"NEXUDUS_USERNAME": "admin@example.com", "NEXUDUS_PASSWORD": "pa$$: word#1",
		"COREDATA_API_USER": "apiuser", "KEY_FILE": keyFile,
	}
}

func TestParseValid(t *testing.T) {
	raw, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("testdata/valid.yaml", raw, env(validEnv(t)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Nexudus.Password != "pa$$: word#1" {
		t.Errorf("password with YAML syntax mangled: %q", cfg.Nexudus.Password)
	}
	if cfg.CoreData.APIKey != "s3cr3t-key" {
		t.Errorf("api_key_file not read (or newline kept): %q", cfg.CoreData.APIKey)
	}
	if cfg.Sync.Lookback != 0 || cfg.Sync.Concurrency != 8 || cfg.Sync.MaxAttempts != 5 {
		t.Errorf("sync = %+v", cfg.Sync)
	}
	if cfg.Nexudus.PageSize != 100 || cfg.Nexudus.MaxFileBytes != 10<<20 || cfg.CoreData.Title != DefaultTitle {
		t.Errorf("defaults not applied: %+v", cfg.Nexudus)
	}
	if p, ok := cfg.CoreData.ParentFor(1001); !ok || p != "313ae0be-71cf-11ee-b1e9-ebd554949e29" {
		t.Errorf("ParentFor(1001) = %q %v", p, ok)
	}
	if p, ok := cfg.CoreData.ParentFor(5); !ok || p != cfg.CoreData.DefaultParent {
		t.Errorf("ParentFor(5) = %q %v", p, ok)
	}
	if got := strings.Join(cfg.CoreData.Tags, ","); got != "nexudus,contracts" {
		t.Errorf("tags = %s", got)
	}
	if cfg.Audit != (Audit{Schedule: "", Repair: false, RestoreDrift: true}) {
		t.Errorf("audit = %+v", cfg.Audit)
	}
}

// The audit is on by default (daily, repairing); an empty schedule turns
// it off rather than falling back to the default.
func TestAuditDefaults(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(base), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Audit != (Audit{Schedule: "@daily", Repair: true}) {
		t.Errorf("audit defaults = %+v", cfg.Audit)
	}
}

// Terms acceptances are off by default, with SPEC's titles parsed.
func TestLegalDefaults(t *testing.T) {
	cfg, err := Parse("x.yaml", []byte(base), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Legal.Enabled || cfg.Legal.TextTitle != "{{.Name}} ({{.LegalContentType}}) {{.CreatedOn}}" ||
		cfg.Legal.RegisterTitle != "Terms acceptances {{.BusinessId}} {{.Month}}" || cfg.Legal.Titles == nil {
		t.Errorf("legal defaults = %+v", cfg.Legal)
	}
	on, err := Parse("x.yaml", []byte(base+"legal:\n  enabled: true\n"), env(nil))
	if err != nil || !on.Legal.Enabled {
		t.Fatalf("legal.enabled: %v %+v", err, on.Legal)
	}
}

// base is a minimal valid file that each case below breaks in one place.
const base = `nexudus:
  base_url: https://spaces.nexudus.com
  username: u
  password: p
coredata:
  base_url: https://tenant.coredata.is
  api_user: u
  api_key: k
  default_parent: 313ae0be-71cf-11ee-b1e9-ebd554949e29
`

func TestParseErrorsNameKeyAndFile(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", strings.Replace(base, "  password: p\n", "  password: p\n  pasword: x\n", 1), "line 5: unknown key nexudus.pasword"},
		{"unknown section", base + "extra: 1\n", "unknown key extra"},
		{"unset variable", strings.Replace(base, "password: p", "password: ${NOPE}", 1), "${NOPE} (line 4)"},
		{"missing password", strings.Replace(base, "  password: p\n", "", 1), "nexudus.password: is required"},
		{"missing username", strings.Replace(base, "  username: u\n", "", 1), "nexudus.username: is required"},
		{"missing api user", strings.Replace(base, "  api_user: u\n", "", 1), "coredata.api_user: is required"},
		{"empty base url", strings.Replace(base, "https://spaces.nexudus.com", "\"\"", 1), "nexudus.base_url: is required"},
		{"url with query", strings.Replace(base, "https://tenant.coredata.is", "https://tenant.coredata.is/?x=1", 1), "coredata.base_url: must not hold credentials, a query"},
		{"parents non-positive location", base + "  parents: {0: 313ae0be-71cf-11ee-b1e9-ebd554949e29}\n", "coredata.parents.0: location id must be positive"},
		{"missing api key", strings.Replace(base, "  api_key: k\n", "", 1), "coredata.api_key: is required"},
		{"both secret forms", strings.Replace(base, "  api_key: k\n", "  api_key: k\n  api_key_file: /x\n", 1), "coredata.api_key: set both"},
		{"unreadable secret file", strings.Replace(base, "  api_key: k\n", "  api_key_file: /nonexistent/key\n", 1), "coredata.api_key_file: cannot read /nonexistent/key"},
		{"http non-loopback", strings.Replace(base, "https://spaces.nexudus.com", "http://spaces.nexudus.com", 1), "nexudus.base_url: plain http is allowed only for loopback"},
		{"bad scheme", strings.Replace(base, "https://tenant.coredata.is", "ftp://tenant.coredata.is", 1), "coredata.base_url: scheme must be https"},
		{"relative url", strings.Replace(base, "https://tenant.coredata.is", "tenant.coredata.is", 1), "coredata.base_url: must be an absolute URL"},
		{"url with credentials", strings.Replace(base, "https://tenant.coredata.is", "https://a:b@tenant.coredata.is", 1), "coredata.base_url: must not hold credentials"},
		{"bad auth", base + "  auth: digest\n", "unknown key"}, // auth under coredata is not a key
		{"nexudus auth", strings.Replace(base, "  username: u\n", "  username: u\n  auth: digest\n", 1), "nexudus.auth: must be oauth2 or basic"},
		{"no parent at all", strings.Replace(base, "  default_parent: 313ae0be-71cf-11ee-b1e9-ebd554949e29\n", "", 1), "coredata.parents: no parent is configured"},
		{"business without parent", strings.Replace(strings.Replace(base, "  default_parent: 313ae0be-71cf-11ee-b1e9-ebd554949e29\n", "  parents: {7: 313ae0be-71cf-11ee-b1e9-ebd554949e29}\n", 1), "  password: p\n", "  password: p\n  businesses: [7, 8]\n", 1), "location 8 is listed in nexudus.businesses but has no parent"},
		{"bad parent uuid", strings.Replace(base, "default_parent: 313ae0be-71cf-11ee-b1e9-ebd554949e29", "default_parent: folder-1", 1), "coredata.default_parent: must be a CoreData uuid"},
		{"bad parents entry", base + "  parents: {5: nope}\n", "coredata.parents.5: must be a CoreData uuid"},
		{"negative business", strings.Replace(base, "  password: p\n", "  password: p\n  businesses: [-1]\n", 1), "nexudus.businesses[0]: must be a positive"},
		{"page size", strings.Replace(base, "  password: p\n", "  password: p\n  page_size: 0\n", 1), "nexudus.page_size"},
		{"negative rate", strings.Replace(base, "  password: p\n", "  password: p\n  requests_per_minute: -5\n", 1), "nexudus.requests_per_minute: must be a positive number"},
		{"unlimited rate for a real tenant", strings.Replace(base, "  password: p\n", "  password: p\n  requests_per_minute: 0\n", 1), "nexudus.requests_per_minute: 0 (no limit) is allowed only for a loopback base_url"},
		{"hourly rate", strings.Replace(base, "  password: p\n", "  password: p\n  requests_per_hour: -1\n", 1), "nexudus.requests_per_hour"},
		{"file path", strings.Replace(base, "  password: p\n", "  password: p\n  file_path: /api/file\n", 1), "nexudus.file_path: must be a path starting with / and holding {id}"},
		{"signed file path", strings.Replace(base, "  password: p\n", "  password: p\n  signed_file_path: x/{id}\n", 1), "nexudus.signed_file_path"},
		{"max file bytes", strings.Replace(base, "  password: p\n", "  password: p\n  max_file_bytes: 0\n", 1), "nexudus.max_file_bytes"},
		{"nexudus timeout", strings.Replace(base, "  password: p\n", "  password: p\n  timeout: 0s\n", 1), "nexudus.timeout"},
		{"nexudus retries", strings.Replace(base, "  password: p\n", "  password: p\n  max_retries: -1\n", 1), "nexudus.max_retries"},
		{"coredata timeout", base + "  timeout: -1s\n", "coredata.timeout"},
		{"coredata retries", base + "  max_retries: -2\n", "coredata.max_retries"},
		{"title template syntax", base + "  title: \"{{.Name\"\n", "coredata.title: is not a valid template"},
		{"title template field", base + "  title: \"{{.Nmae}}\"\n", "coredata.title: does not fit a Nexudus record"},
		{"empty title", base + "  title: \" \"\n", "coredata.title: must not be empty"},
		{"tag with comma", base + "  tags: [\"a,b\"]\n", "coredata.tags[0]: must not contain a comma"},
		{"empty tag", base + "  tags: [\"\"]\n", "coredata.tags[0]: must not be empty"},
		{"reserved tag", base + "  tags: [nexudus-file-1]\n", "coredata.tags[0]: \"nexudus-file-1\" is reserved"},
		{"state path", base + "state:\n  path: \"\"\n", "state.path: is required"},
		{"schedule", base + "sync:\n  schedule: every five minutes\n", "sync.schedule: \"every five minutes\" is not a cron spec"},
		{"lookback", base + "sync:\n  lookback: -1h\n", "sync.lookback: must not be negative"},
		{"lookback type", base + "sync:\n  lookback: yesterday\n", "line 11"},
		{"concurrency", base + "sync:\n  concurrency: 0\n", "sync.concurrency"},
		{"max attempts", base + "sync:\n  max_attempts: 0\n", "sync.max_attempts"},
		{"shutdown timeout", base + "sync:\n  shutdown_timeout: 0s\n", "sync.shutdown_timeout"},
		{"backfill window", base + "sync:\n  backfill_window: 10s\n", "sync.backfill_window: must be at least 1m"},
		{"stuck bound too short", base + "sync:\n  stuck_after: 1m\n", "sync.stuck_after: must be 0 (automatic) or at least 10m"},
		{"audit schedule", base + "audit:\n  schedule: nightly\n", "audit.schedule: \"nightly\" is not a cron spec"},
		{"audit key", base + "audit:\n  repair_drift: true\n", "unknown key audit.repair_drift"},
		{"legal key", base + "legal:\n  enable: true\n", "unknown key legal.enable"},
		{"legal text title field", base + "legal:\n  text_title: \"{{.Title}}\"\n", "legal.text_title:"},
		{"legal register title empty", base + "legal:\n  register_title: \"  \"\n", "legal.register_title: empty template"},
		{"listen", base + "http:\n  listen: 9464\n", "http.listen: must be host:port"},
		{"log level", base + "log:\n  level: verbose\n", "log.level"},
		{"log format", base + "log:\n  format: xml\n", "log.format"},
		{"not yaml", "nexudus: [", "config broken.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("broken.yaml", []byte(tt.yaml), env(nil))
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("error %q does not contain %q", msg, tt.want)
			}
			if !strings.Contains(msg, "config broken.yaml") {
				t.Fatalf("error %q does not name the file", msg)
			}
		})
	}
}

func TestUnlimitedRateOnlyForLoopback(t *testing.T) {
	y := strings.Replace(base, "https://spaces.nexudus.com", "http://127.0.0.1:8080", 1)
	y = strings.Replace(y, "  password: p\n", "  password: p\n  requests_per_minute: 0\n  requests_per_hour: 0\n", 1)
	cfg, err := Parse("x.yaml", []byte(y), env(nil))
	if err != nil || cfg.Nexudus.RequestsPerMinute != 0 {
		t.Fatalf("%v %+v", err, cfg)
	}
}

func TestValidationReportsAllProblems(t *testing.T) {
	_, err := Parse("x.yaml", []byte("nexudus:\n  base_url: https://n.example\ncoredata:\n  base_url: https://c.example\n"), env(nil))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) < 5 {
		t.Fatalf("want every missing key at once, got %v", err)
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	y := strings.Replace(base, "password: p", "password: hunter2-secret", 1) + "sync:\n  concurrency: 0\n"
	_, err := Parse("x.yaml", []byte(y), env(nil))
	if err == nil || strings.Contains(err.Error(), "hunter2-secret") {
		t.Fatalf("error %v", err)
	}
}

func TestResolvePath(t *testing.T) {
	t.Setenv("SYNCD_CONFIG", "")
	if got := ResolvePath(""); got != DefaultPath {
		t.Errorf("default: %s", got)
	}
	t.Setenv("SYNCD_CONFIG", "/env/syncd.yaml")
	if got := ResolvePath(""); got != "/env/syncd.yaml" {
		t.Errorf("env: %s", got)
	}
	if got := ResolvePath("/flag.yaml"); got != "/flag.yaml" {
		t.Errorf("flag: %s", got)
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml: cannot read") {
		t.Fatalf("missing file: %v", err)
	}
	p := filepath.Join(t.TempDir(), "ok.yaml")
	if err := os.WriteFile(p, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != p || cfg.Sync.ShutdownTimeout != 30*time.Second {
		t.Fatalf("cfg = %+v", cfg)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, maxConfigBytes+2), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("big file: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true, "10.0.0.1": false, "example.com": false} {
		if IsLoopback(host) != want {
			t.Errorf("IsLoopback(%q) != %v", host, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte("nexudus: {base_url: ${X}}\n"))
	f.Add([]byte("sync:\n  lookback: 1h\n  schedule: '@every 1m'\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := Parse("fuzz.yaml", raw, env(map[string]string{"X": "http://127.0.0.1"}))
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && !strings.Contains(err.Error(), "fuzz.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// The reference in configs/ must stay loadable: it is what operators copy.
func TestExampleConfig(t *testing.T) {
	raw, err := os.ReadFile("../../configs/syncd.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw = []byte(strings.Replace(string(raw), `default_parent: ""`, `default_parent: 313ae0be-71cf-11ee-b1e9-ebd554949e29`, 1))
	cfg, err := Parse("syncd.example.yaml", raw, env(map[string]string{
		"NEXUDUS_USERNAME": "u", "NEXUDUS_PASSWORD": "p", "COREDATA_API_USER": "a", "COREDATA_API_KEY": "k",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	if cfg.Sync != want.Sync || cfg.Audit != want.Audit || cfg.HTTP != want.HTTP || cfg.Log != want.Log || cfg.Nexudus.PageSize != want.Nexudus.PageSize ||
		cfg.Nexudus.FilePath != want.Nexudus.FilePath || cfg.CoreData.Title != want.CoreData.Title ||
		cfg.Legal.Enabled != want.Legal.Enabled || cfg.Legal.TextTitle != want.Legal.TextTitle || cfg.Legal.RegisterTitle != want.Legal.RegisterTitle {
		t.Fatalf("the example's values drifted from the defaults:\n%+v\n%+v", cfg.Sync, want.Sync)
	}
}

// A value from the environment is taken as it is, however the file quotes
// the ${VAR} and whatever YAML syntax the value holds.
func TestEnvironmentValuesAreTakenVerbatim(t *testing.T) {
	raw, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{`#hunter2`, `a\tb`, `x: y`, `~`, `null`, `'single'`, `"double"`, `*star`, `{braces}`, `  padded  `} {
		for _, style := range []string{`${NEXUDUS_PASSWORD}`, `"${NEXUDUS_PASSWORD}"`, `'${NEXUDUS_PASSWORD}'`} {
			text := strings.Replace(string(raw), "password: ${NEXUDUS_PASSWORD}", "password: "+style, 1)
			vars := validEnv(t)
			vars["NEXUDUS_PASSWORD"] = pw
			cfg, err := Parse("t.yaml", []byte(text), env(vars))
			if err != nil {
				t.Fatalf("password %q as %s: %v", pw, style, err)
			}
			if cfg.Nexudus.Password != pw {
				t.Errorf("password %q as %s became %q", pw, style, cfg.Nexudus.Password)
			}
		}
	}
	// A number from the environment still fills a number field.
	text := strings.Replace(string(raw), "  concurrency: 8", "  concurrency: ${CONC}", 1)
	vars := validEnv(t)
	vars["CONC"] = "3"
	cfg, err := Parse("t.yaml", []byte(text), env(vars))
	if err != nil || cfg.Sync.Concurrency != 3 {
		t.Fatalf("concurrency from the environment: %v %+v", err, cfg)
	}
	vars["CONC"] = "many"
	if _, err := Parse("t.yaml", []byte(text), env(vars)); err == nil || !strings.Contains(err.Error(), "line 20") {
		t.Fatalf("a non-number for concurrency must name its line: %v", err)
	}
}
