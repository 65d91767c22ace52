package deploy

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/testbin"
)

// unit is a parsed systemd unit file: section -> key -> values in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, "\\") {
				t.Fatalf("%s:%d: cannot read %q", path, n, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

// one returns the single value of a key, failing when it is absent or set
// more than once.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	v := u[section][key]
	if len(v) != 1 {
		t.Fatalf("[%s] %s= is set %d times, want once: %q", section, key, len(v), v)
	}
	return v[0]
}

var spanPart = regexp.MustCompile(`^(\d+)(ms|s|sec|m|min|h|hr)?$`)

// parseSpan reads the systemd time spans these units use ("30s", "10min",
// "2min 30s"); a bare number is seconds.
func parseSpan(s string) (time.Duration, error) {
	var total time.Duration
	for _, part := range strings.Fields(s) {
		m := spanPart.FindStringSubmatch(part)
		if m == nil {
			return 0, fmt.Errorf("time span %q: cannot read %q", s, part)
		}
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"": time.Second, "s": time.Second, "sec": time.Second, "ms": time.Millisecond,
			"m": time.Minute, "min": time.Minute, "h": time.Hour, "hr": time.Hour}[m[2]]
		total += time.Duration(n) * unit
	}
	return total, nil
}

func (u unit) span(t *testing.T, section, key string) time.Duration {
	t.Helper()
	d, err := parseSpan(u.one(t, section, key))
	if err != nil {
		t.Fatalf("[%s] %s=: %v", section, key, err)
	}
	return d
}

// A configuration error must stop syncd.service, not restart it every
// RestartSec forever. RestartPreventExitStatus= covers the main process
// only, so: no ExecStartPre= whose failure is not ignored, `syncd run`
// itself exits with a code in RestartPreventExitStatus= on a bad config
// (proved by running the built binary with the unit's own command line),
// and the start limit trips for any other crash loop.
func TestSystemdConfigErrorStopsTheUnit(t *testing.T) {
	u := parseUnit(t, "systemd/syncd.service")
	for _, key := range []string{"ExecStartPre", "ExecStartPost", "ExecCondition"} {
		for _, cmd := range u["Service"][key] {
			if !strings.HasPrefix(cmd, "-") {
				t.Errorf("%s=%s: its failure is not covered by RestartPreventExitStatus=, so a config error it finds restarts the unit forever", key, cmd)
			}
		}
	}
	if r := u.one(t, "Service", "Restart"); r != "on-failure" {
		t.Fatalf("Restart=%s", r)
	}
	prevent := strings.Fields(u.one(t, "Service", "RestartPreventExitStatus"))

	// The start limit must trip for a crash loop: StartLimitBurst starts
	// RestartSec apart fit in StartLimitIntervalSec.
	burst, err := strconv.Atoi(u.one(t, "Unit", "StartLimitBurst"))
	if err != nil {
		t.Fatal(err)
	}
	restartSec, interval := u.span(t, "Service", "RestartSec"), u.span(t, "Unit", "StartLimitIntervalSec")
	if time.Duration(burst-1)*restartSec >= interval {
		t.Fatalf("StartLimitBurst=%d starts %s apart never fit in StartLimitIntervalSec=%s: the limit never trips", burst, restartSec, interval)
	}

	argv := strings.Fields(u.one(t, "Service", "ExecStart"))
	if len(argv) < 2 || filepath.Base(argv[0]) != "syncd" || argv[1] != "run" {
		t.Fatalf("ExecStart=%v is not syncd run", argv)
	}
	bin := testbin.Build(t)
	dir := t.TempDir()
	bad := map[string]string{
		"unknown key":         "nexudus:\n  pasword: x\n",
		"missing credentials": "nexudus:\n  username: u\n  password_file: ${CREDENTIALS_DIRECTORY}/nexudus-password\n",
		"no such file":        "",
	}
	for name, text := range bad {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			if text != "" {
				if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := slices.Clone(argv[1:])
			for i, a := range args {
				if a == "/etc/syncd/syncd.yaml" {
					args[i] = path
				}
			}
			cmd := exec.Command(bin, args...)
			// As in a unit without the credential: no $CREDENTIALS_DIRECTORY.
			cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "CREDENTIALS_DIRECTORY=") })
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("syncd %v: want an exit code, got %v\n%s", args, err, out)
			}
			if !slices.Contains(prevent, strconv.Itoa(ee.ExitCode())) {
				t.Fatalf("syncd %v exits %d on a config error, not in RestartPreventExitStatus=%v: systemd would restart it forever\n%s", args, ee.ExitCode(), prevent, out)
			}
			if !strings.Contains(string(out), path) {
				t.Fatalf("the error does not name the config file:\n%s", out)
			}
		})
	}
}

var exposureLine = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`)

// systemd-analyze security: exposure 1.2 or lower for both units.
func TestSystemdExposure(t *testing.T) {
	tool(t, "systemd-analyze")
	dir := t.TempDir()
	for src, name := range map[string]string{"syncd.service": "syncd.service", "syncd-backfill@.service": "syncd-backfill@2021-01-01.service"} {
		t.Run(src, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("systemd", src))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			out, _ := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", path).CombinedOutput()
			m := exposureLine.FindStringSubmatch(string(out))
			if m == nil {
				t.Fatalf("no exposure level in the output of systemd-analyze security:\n%s", out)
			}
			level, _ := strconv.ParseFloat(m[1], 64)
			if level > 1.2 {
				t.Fatalf("exposure %.1f > 1.2:\n%s", level, out)
			}
		})
	}
}

// The backfill unit stops the daemon (it holds the state lock), starts it
// again when done, passes its instance name as -backfill-from, and runs in
// the very same sandbox and dynamic user as the daemon.
func TestSystemdBackfillUnit(t *testing.T) {
	d := parseUnit(t, "systemd/syncd.service")
	b := parseUnit(t, "systemd/syncd-backfill@.service")
	for _, key := range []string{"Conflicts", "OnSuccess", "OnFailure", "After"} {
		if !slices.Contains(strings.Fields(strings.Join(b["Unit"][key], " ")), "syncd.service") {
			t.Errorf("[Unit] %s= lacks syncd.service", key)
		}
	}
	argv := strings.Fields(b.one(t, "Service", "ExecStart"))
	if len(argv) < 2 || argv[1] != "run" || !slices.Contains(argv, "-backfill-from") || argv[slices.Index(argv, "-backfill-from")+1] != "%i" {
		t.Fatalf("ExecStart=%v does not run syncd run -backfill-from %%i", argv)
	}
	if r := b.one(t, "Service", "Restart"); r != "no" {
		t.Fatalf("a backfill that fails must not loop: Restart=%s", r)
	}
	if b.span(t, "Service", "TimeoutStopSec") != d.span(t, "Service", "TimeoutStopSec") {
		t.Fatal("TimeoutStopSec differs from syncd.service")
	}
	// Everything of the daemon's [Service] but how it starts and restarts.
	own := map[string]bool{"Type": true, "NotifyAccess": true, "WatchdogSec": true, "ExecStart": true,
		"Restart": true, "RestartSec": true, "RestartPreventExitStatus": true}
	for key, want := range d["Service"] {
		if own[key] {
			continue
		}
		if got := b["Service"][key]; !slices.Equal(got, want) {
			t.Errorf("[Service] %s=%q in syncd-backfill@.service, %q in syncd.service", key, got, want)
		}
	}
	for key := range b["Service"] {
		if _, ok := d["Service"][key]; !ok && !own[key] {
			t.Errorf("[Service] %s= is set only in syncd-backfill@.service", key)
		}
	}
}

// The instance name the README shows is a time -backfill-from accepts.
func TestSystemdBackfillInstanceNamesParse(t *testing.T) {
	bin := testbin.Build(t)
	missing := filepath.Join(t.TempDir(), "absent.yaml")
	for _, instance := range []string{"2021-01-01", "2021-01-01T00:00"} {
		out, err := exec.Command(bin, "run", "-config", missing, "-backfill-from", instance).CombinedOutput()
		if strings.Contains(string(out), "-backfill-from") || !strings.Contains(string(out), missing) {
			t.Fatalf("-backfill-from %s: %v\n%s", instance, err, out)
		}
	}
}
