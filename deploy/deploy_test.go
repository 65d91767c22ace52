package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool finds an external tool, or skips; SYNCD_REQUIRE_TOOLS=1 (CI) makes
// a missing tool a failure.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SYNCD_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s not found and SYNCD_REQUIRE_TOOLS=1", name)
		}
		t.Skipf("%s not found: skipping", name)
	}
	return p
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestSystemdUnitsVerify(t *testing.T) {
	tool(t, "systemd-analyze")
	// verify wants the ExecStart binary to exist: point it at a stand-in.
	dir := t.TempDir()
	bin := filepath.Join(dir, "syncd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The template is verified as an instance; systemd-analyze verify
	// fails on a ':' in a file name, so the date-only form is used here.
	for src, name := range map[string]string{"syncd.service": "syncd.service", "syncd-backfill@.service": "syncd-backfill@2021-01-01.service"} {
		t.Run(src, func(t *testing.T) {
			unit, err := os.ReadFile(filepath.Join("systemd", src))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/syncd"), []byte(bin)), 0o644); err != nil {
				t.Fatal(err)
			}
			out := runTool(t, "systemd-analyze", "verify", "--man=no", path)
			if strings.TrimSpace(out) != "" {
				t.Fatalf("systemd-analyze verify has warnings:\n%s", out)
			}
		})
	}
}

func TestPrometheusRules(t *testing.T) {
	runTool(t, "promtool", "check", "rules", "prometheus/syncd-rules.yml")
	runTool(t, "promtool", "test", "rules", "prometheus/syncd-rules.test.yml")
}
