package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

func TestHelpNeedsNoConfigAndExitsZero(t *testing.T) {
	t.Setenv("SYNCD_CONFIG", filepath.Join(t.TempDir(), "absent.yaml"))
	var names []string
	for _, c := range helpEntries {
		names = append(names, c.name)
		if _, ok := commands[c.name]; !ok && c.name != "help" {
			t.Errorf("help lists %q, which no command runs", c.name)
		}
	}
	if len(names) != len(commands)+1 { // and help itself
		t.Errorf("help lists %v; the commands are %d", names, len(commands))
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-h"}, append(append([]string{}, names...), "exit codes:", "2  usage or configuration error", "3  the state file is locked")},
		{[]string{"--help"}, names},
		{[]string{"help"}, append(append([]string{}, names...), "exit codes:")},
		{[]string{"help", "state"}, []string{"ls [-json]", "rebuild"}},
		{[]string{"run", "-h"}, []string{"-config FILE", "-once", "-backfill-from TIME", "-dry-run"}},
		{[]string{"run", "-once", "-help"}, []string{"-backfill-from"}},
		{[]string{"check-config", "-h"}, []string{"-config FILE"}},
		{[]string{"state", "-h"}, []string{"ls [-json]", "show ID", "backup FILE", "retry ID", "forget ID", "rebuild"}},
		{[]string{"state", "ls", "-h"}, []string{"ls [-json]"}},
		{[]string{"state", "-config", "/nonexistent.yaml", "show", "--help"}, []string{"show ID"}},
		{[]string{"demo", "-h"}, []string{"usage: syncd demo"}},
		{[]string{"version", "-h"}, []string{"usage: syncd version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			mustContain(t, "help", out, tt.want...)
		})
	}
	// Every command help lists is one dispatch knows, with a line of its own.
	code, out, _ := run(t, "help")
	if code != 0 {
		t.Fatal(code)
	}
	for _, c := range helpEntries {
		if !strings.Contains(out, "\n  "+c.name+" ") {
			t.Errorf("help has no line for %s", c.name)
		}
		if code, _, errOut := run(t, c.name, "-h"); code != 0 || strings.Contains(errOut, "unknown command") {
			t.Errorf("%s -h: exit %d %s", c.name, code, errOut)
		}
	}
	if code, _, errOut := run(t, "help", "frobnicate"); code != 2 || !strings.Contains(errOut, `"frobnicate"`) {
		t.Fatalf("help frobnicate: exit %d %s", code, errOut)
	}
}

func TestVersionCarriesVersionCommitAndDate(t *testing.T) {
	old := [3]string{Version, Commit, Date}
	t.Cleanup(func() { Version, Commit, Date = old[0], old[1], old[2] })
	Version, Commit, Date = "v1.2.3", "abc1234", "2026-01-02T03:04:05Z"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		mustContain(t, strings.Join(args, " "), out, "syncd v1.2.3", "commit abc1234", "built 2026-01-02T03:04:05Z", "go1.")
	}
	m := newMetrics()
	fams, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{}
	for _, f := range fams {
		if f.GetName() == "syncd_build_info" {
			for _, l := range f.GetMetric()[0].GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
		}
	}
	if labels["version"] != "v1.2.3" || labels["revision"] != "abc1234" || !strings.HasPrefix(labels["goversion"], "go1.") {
		t.Fatalf("syncd_build_info labels: %v", labels)
	}
}

func TestBuildInfoFallback(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "deadbeef"}, {Key: "vcs.time", Value: "2026-02-03T04:05:06Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	tests := []struct {
		name string
		in   buildInfo
		want buildInfo
	}{
		{"nothing from ldflags", buildInfo{}, buildInfo{Version: "v0.4.0", Revision: "deadbeef-dirty", Date: "2026-02-03T04:05:06Z"}},
		{"ldflags win", buildInfo{Version: "v9", Revision: "r", Date: "d"}, buildInfo{Version: "v9", Revision: "r", Date: "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := Commit
			Commit = tt.in.Revision
			defer func() { Commit = old }()
			if got := fillFromBuildInfo(tt.in, bi); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A host keeps its secrets in systemd credentials: the config reads
// ${CREDENTIALS_DIRECTORY}, which a shell does not have. The read-only
// state commands must still work there; what talks to an API must not
// start without its secrets.
func TestReadOnlyStateCommandsWorkWithoutCredentials(t *testing.T) {
	e := newEnv(t, "")
	id := e.addSigned(1, "agreement")
	creds := t.TempDir()
	os.WriteFile(filepath.Join(creds, "nexudus-password"), []byte(e.nx.Password()+"\n"), 0o600)
	os.WriteFile(filepath.Join(creds, "coredata-api-key"), []byte(e.cd.APIKey()+"\n"), 0o600)
	raw, _ := os.ReadFile(e.config)
	text := strings.Replace(string(raw), "password: ${TEST_NEXUDUS_PASSWORD}", "password_file: ${CREDENTIALS_DIRECTORY}/nexudus-password", 1)
	text = strings.Replace(text, "api_key_file: "+filepath.Join(e.dir, "api_key"), "api_key_file: ${CREDENTIALS_DIRECTORY}/coredata-api-key", 1)
	os.WriteFile(e.config, []byte(text), 0o600)

	t.Setenv("CREDENTIALS_DIRECTORY", creds) // as inside the unit
	if code, out, errOut := run(t, "run", "-once", "-config", e.config); code != 0 {
		t.Fatalf("run inside the unit: exit %d\n%s%s", code, out, errOut)
	}
	os.Unsetenv("CREDENTIALS_DIRECTORY") // a shell on the host

	backup := filepath.Join(t.TempDir(), "backup.db")
	tests := []struct {
		args []string
		code int
		want string // in stdout when 0, in stderr otherwise
	}{
		{[]string{"ls"}, 0, "mirrored"},
		{[]string{"ls", "-json"}, 0, `"nexudus_id":` + itoa(id)},
		{[]string{"show", itoa(id)}, 0, `"status": "mirrored"`},
		{[]string{"backup", backup}, 0, "backup of"},
		{[]string{"rebuild"}, 2, "${CREDENTIALS_DIRECTORY}"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"state", "-config", e.config}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			if tt.code == 0 {
				mustContain(t, "stdout", out, tt.want)
			} else {
				mustContain(t, "stderr", errOut, tt.want)
			}
		})
	}
	if code, _, errOut := run(t, "run", "-once", "-config", e.config); code != 2 || !strings.Contains(errOut, "${CREDENTIALS_DIRECTORY}") {
		t.Fatalf("run without credentials: exit %d %s", code, errOut)
	}
}

func TestCheckConfigWarnsOnExamplePlaceholders(t *testing.T) {
	e := newEnv(t, "")
	// testParentA is the placeholder uuid of the shipped examples.
	code, out, errOut := run(t, "check-config", "-config", e.config)
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	mustContain(t, "check-config stdout", out, "ok")
	mustContain(t, "check-config stderr", errOut, "warning", "coredata.parents.1", testParentA, "placeholder")
	if strings.Contains(errOut, "coredata.parents.2") {
		t.Fatalf("a real parent was warned about: %s", errOut)
	}
}

// A backfill serves its progress on http.listen and leaves the gauges at
// 1 and the last window's end.
func TestBackfillExportsProgress(t *testing.T) {
	e := newEnv(t, "  backfill_window: 240h\n")
	e.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "old", FileName: "old.pdf", Data: []byte("old"), Signed: true,
		UpdatedOn: time.Now().Add(-40 * 24 * time.Hour)})
	m := NewMain(io.Discard, io.Discard)
	from := time.Now().Add(-50 * 24 * time.Hour).UTC().Format("2006-01-02T15:04")
	if err := m.ParseFlags(context.Background(), []string{"-config", e.config, "-backfill-from", from}); err != nil {
		t.Fatal(err)
	}
	var listened string
	m.OnListen = func(addr string) { listened = addr }
	err := m.Run(context.Background())
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	if listened == "" {
		t.Fatal("the backfill did not serve /metrics")
	}
	got := gaugeValues(t, m, "syncd_backfill_progress_ratio", "syncd_backfill_window_end_timestamp_seconds")
	if got["syncd_backfill_progress_ratio"] != 1 {
		t.Fatalf("progress ratio %v", got["syncd_backfill_progress_ratio"])
	}
	if end := got["syncd_backfill_window_end_timestamp_seconds"]; end < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Fatalf("window end %v is not the end of the last window", end)
	}
}

func gaugeValues(t *testing.T, m *Main, names ...string) map[string]float64 {
	t.Helper()
	fams, err := m.metrics.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, n := range names {
			if f.GetName() == n && f.GetType() == dto.MetricType_GAUGE {
				out[n] = f.GetMetric()[0].GetGauge().GetValue()
			}
		}
	}
	if len(out) != len(names) {
		t.Fatalf("gauges %v not all found: %v", names, out)
	}
	return out
}
