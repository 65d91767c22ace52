package config

import (
	"os"
	"strings"
	"testing"
)

// credentialsConfig is the systemd unit's recommended shape: secrets read
// from ${CREDENTIALS_DIRECTORY}, which only the service sees.
const credentialsConfig = `nexudus:
  username_file: ${CREDENTIALS_DIRECTORY}/nexudus-username
  password_file: ${CREDENTIALS_DIRECTORY}/nexudus-password
coredata:
  base_url: https://acme.coredata.is
  api_user: ${COREDATA_API_USER}
  api_key_file: ${CREDENTIALS_DIRECTORY}/coredata-api-key
  default_parent: 07dcc00c-897e-11e6-b174-db079186c95c
state:
  path: ${STATE_ROOT}/state.db
`

func TestSkipSecretsLeavesSecretsUnresolved(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     map[string]string
		opt     LoadOptions
		wantErr string // empty: loads
	}{
		{"shell without credentials: full load fails", credentialsConfig, map[string]string{"STATE_ROOT": "/var/lib/syncd"}, LoadOptions{}, "${CREDENTIALS_DIRECTORY}"},
		{"shell without credentials: skip secrets loads", credentialsConfig, map[string]string{"STATE_ROOT": "/var/lib/syncd"}, LoadOptions{SkipSecrets: true}, ""},
		{"credential files missing: skip secrets loads", credentialsConfig, map[string]string{"STATE_ROOT": "/var/lib/syncd", "CREDENTIALS_DIRECTORY": "/nonexistent", "COREDATA_API_USER": "u"}, LoadOptions{SkipSecrets: true}, ""},
		{"secrets absent altogether: skip secrets loads", "coredata:\n  base_url: https://acme.coredata.is\n  default_parent: 07dcc00c-897e-11e6-b174-db079186c95c\n", nil, LoadOptions{SkipSecrets: true}, ""},
		{"other variables are still required", credentialsConfig, nil, LoadOptions{SkipSecrets: true}, "${STATE_ROOT} (line 10)"},
		{"other keys are still validated", strings.Replace(credentialsConfig, "default_parent: 07dcc00c-897e-11e6-b174-db079186c95c", "default_parent: nope", 1), map[string]string{"STATE_ROOT": "/x"}, LoadOptions{SkipSecrets: true}, "coredata.default_parent: must be a CoreData uuid"},
		{"unknown keys are still refused", credentialsConfig + "  pth: x\n", map[string]string{"STATE_ROOT": "/x"}, LoadOptions{SkipSecrets: true}, "unknown key state.pth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseWith("syncd.yaml", []byte(tt.yaml), env(tt.env), tt.opt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "syncd.yaml") {
					t.Fatalf("want an error naming the file and %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !cfg.SecretsSkipped {
				t.Fatal("SecretsSkipped not set")
			}
			if cfg.Nexudus.Username != "" || cfg.Nexudus.Password != "" || cfg.CoreData.APIUser != "" || cfg.CoreData.APIKey != "" ||
				cfg.Nexudus.PasswordFile != "" || cfg.CoreData.APIKeyFile != "" {
				t.Fatalf("a secret was resolved: %+v %+v", cfg.Nexudus, cfg.CoreData)
			}
		})
	}
}

func TestLoadWithSkipSecretsReadsTheFile(t *testing.T) {
	p := t.TempDir() + "/syncd.yaml"
	if err := os.WriteFile(p, []byte(strings.Replace(credentialsConfig, "${STATE_ROOT}", "/var/lib/syncd", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	os.Unsetenv("CREDENTIALS_DIRECTORY")
	if _, err := Load(p); err == nil {
		t.Fatal("a full load without ${CREDENTIALS_DIRECTORY} must fail")
	}
	cfg, err := LoadWith(p, LoadOptions{SkipSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.State.Path != "/var/lib/syncd/state.db" {
		t.Fatalf("state.path = %q", cfg.State.Path)
	}
}

func TestWarningsNamePlaceholders(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each a "key: " prefix of one warning, in order
	}{
		{"real values", strings.NewReplacer("tenant.coredata.is", "acme.coredata.is", "313ae0be-71cf-11ee-b1e9-ebd554949e29", "5e3a5c1e-0000-4000-8000-000000000001").Replace(base) + "  parents:\n    7: 07dcc00c-897e-11e6-b174-db079186c95c\n", nil},
		{"placeholder tenant and default parent", base, []string{"coredata.base_url: https://tenant.coredata.is", "coredata.default_parent: 313ae0be"}},
		{"placeholder parent of one location", strings.Replace(base, "tenant.coredata.is", "acme.coredata.is", 1) + "  parents:\n    7: 07dcc00c-897e-11e6-b174-db079186c95c\n    9: 00000000-0000-0000-0000-000000000000\n",
			[]string{"coredata.default_parent", "coredata.parents.9: 00000000"}},
		{"rates above the documented limits", strings.Replace(strings.NewReplacer("tenant.coredata.is", "acme.coredata.is", "313ae0be-71cf-11ee-b1e9-ebd554949e29", "5e3a5c1e-0000-4000-8000-000000000001").Replace(base), "  password: p\n", "  password: p\n  requests_per_minute: 600\n  requests_per_hour: 36000\n", 1),
			[]string{"nexudus.requests_per_minute: 600 is above Nexudus' documented limit of 120/min", "nexudus.requests_per_hour: 36000 is above Nexudus' documented limit of 5000/hour"}},
		{"title naming a field the listing leaves out", strings.NewReplacer("tenant.coredata.is", "acme.coredata.is", "313ae0be-71cf-11ee-b1e9-ebd554949e29", "5e3a5c1e-0000-4000-8000-000000000001").Replace(base) + "  title: \"{{.Name}} {{.Description}}\"\n",
			[]string{"coredata.title: uses a field Nexudus' listing leaves out"}},
		{"lookback below the furthest local-time-Z skew", strings.NewReplacer("tenant.coredata.is", "acme.coredata.is", "313ae0be-71cf-11ee-b1e9-ebd554949e29", "5e3a5c1e-0000-4000-8000-000000000001").Replace(base) + "sync:\n  lookback: 0s\n",
			[]string{"sync.lookback: 0s is below 12h0m0s"}},
		{"rates at the documented limits", strings.Replace(strings.NewReplacer("tenant.coredata.is", "acme.coredata.is", "313ae0be-71cf-11ee-b1e9-ebd554949e29", "5e3a5c1e-0000-4000-8000-000000000001").Replace(base), "  password: p\n", "  password: p\n  requests_per_minute: 120\n  requests_per_hour: 5000\n", 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("syncd.yaml", []byte(tt.yaml), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			ws := cfg.Warnings()
			if len(ws) != len(tt.want) {
				t.Fatalf("want %d warnings, got %v", len(tt.want), ws)
			}
			for i, w := range ws {
				if !strings.HasPrefix(w.String(), "config syncd.yaml: "+tt.want[i]) {
					t.Errorf("warning %d = %q, want prefix %q", i, w, tt.want[i])
				}
			}
		})
	}
}
