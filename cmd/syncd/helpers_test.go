package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// env is both simulators and a config file pointing at them.
type env struct {
	t      *testing.T
	nx     *nexudustest.Server
	cd     *coredatatest.Server
	dir    string
	config string
	state  string
}

const (
	testParentA = "313ae0be-71cf-11ee-b1e9-ebd554949e29"
	testParentB = "07dcc00c-897e-11e6-b174-db079186c95c"
)

// newEnv writes a config; syncExtra holds more keys of the sync section,
// each line indented by two spaces.
func newEnv(t *testing.T, syncExtra string) *env {
	t.Helper()
	nx := nexudustest.New(nexudustest.Options{})
	t.Cleanup(nx.Close)
	cd := coredatatest.New(coredatatest.Options{})
	t.Cleanup(cd.Close)
	dir := t.TempDir()
	e := &env{t: t, nx: nx, cd: cd, dir: dir, config: filepath.Join(dir, "syncd.yaml"), state: filepath.Join(dir, "state", "state.db")}
	t.Setenv("TEST_NEXUDUS_PASSWORD", nx.Password())
	keyFile := filepath.Join(dir, "api_key")
	if err := os.WriteFile(keyFile, []byte(cd.APIKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`nexudus:
  base_url: %s
  username: %s
  password: ${TEST_NEXUDUS_PASSWORD}
  requests_per_minute: 0
  requests_per_hour: 0
  max_retries: 1
coredata:
  base_url: %s
  api_user: %s
  api_key_file: %s
  max_retries: 1
  parents:
    1: %s
    2: %s
state:
  path: %s
sync:
  schedule: "@every 1h"
  shutdown_timeout: 5s
%shttp:
  listen: 127.0.0.1:0
log:
  level: info
`, nx.URL, nx.Username(), cd.URL(), cd.APIUser(), keyFile, testParentA, testParentB, e.state, syncExtra)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) addSigned(business int64, name string) int64 {
	return e.nx.AddFile(nexudustest.FileSpec{
		BusinessID: business, CoworkerID: 10, CoworkerFullName: "Ada Lovelace", Name: name,
		FileName: name + ".pdf", Data: []byte("original " + name),
		SignedFileName: name + "-signed.pdf", SignedData: []byte("signed " + name), Signed: true,
	})
}

// run runs the command line and returns the exit code and both outputs.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func (e *env) uploads() int {
	return e.cd.Count(coredatatest.RouteStorage)
}

func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Fatalf("%s does not contain %q:\n%s", what, p, s)
		}
	}
}
