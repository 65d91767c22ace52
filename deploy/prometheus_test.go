package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// githubAnchor is the anchor GitHub gives a README heading.
func githubAnchor(heading string) string {
	s := strings.ToLower(strings.TrimSpace(heading))
	s = regexp.MustCompile(`[^a-z0-9 _-]`).ReplaceAllString(s, "")
	return strings.ReplaceAll(s, " ", "-")
}

func readmeAnchors(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, l := range strings.Split(string(raw), "\n") {
		if m := regexp.MustCompile(`^#{1,6}\s+(.+)$`).FindStringSubmatch(l); m != nil {
			anchors[githubAnchor(m[1])] = true
		}
	}
	return anchors
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadAlerts(t *testing.T) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(RulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	var out []alertRule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// Every alert links to a runbook section that exists in the README, and
// the failures SPEC's Operations section names each have an alert.
func TestAlertsLinkToRunbooks(t *testing.T) {
	anchors := readmeAnchors(t)
	const prefix = "https://github.com/coworkdocs/syncd/blob/main/README.md#"
	for _, a := range loadAlerts(t) {
		t.Run(a.Alert, func(t *testing.T) {
			url := a.Annotations["runbook_url"]
			if !strings.HasPrefix(url, prefix) {
				t.Fatalf("runbook_url %q does not point into the README", url)
			}
			if anchor := strings.TrimPrefix(url, prefix); !anchors[anchor] {
				t.Fatalf("the README has no section #%s", anchor)
			}
		})
	}
	exprs := map[string]string{}
	for _, a := range loadAlerts(t) {
		exprs[a.Alert] = a.Expr
	}
	for alert, want := range map[string]string{
		"SyncdTargetMissing": `absent(up{job=~".*syncd.*"})`,
		"SyncdDown":          `up{job=~".*syncd.*"} == 0`,
		"SyncdCrashLooping":  "changes(process_start_time_seconds",
		"SyncdPollsFailing":  `syncd_polls_total{result="failure"}`,
		"SyncdAPIDown":       "syncd_outage_active",
		"SyncdCursorBehind":  "syncd_cursor_timestamp_seconds",
		"SyncdFilesParked":   "syncd_parked_files",
	} {
		if !strings.Contains(exprs[alert], want) {
			t.Errorf("alert %s: expr %q does not use %s", alert, exprs[alert], want)
		}
	}
}

// Every alert has a promtool case where it fires and a later one where it
// has cleared.
func TestEveryAlertFiresAndClearsInPromtoolTests(t *testing.T) {
	raw, err := os.ReadFile("prometheus/syncd-rules.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Tests []struct {
			Cases []struct {
				EvalTime  string           `yaml:"eval_time"`
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	parse := func(s string) time.Duration {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("eval_time %q: %v", s, err)
		}
		return d
	}
	for _, a := range loadAlerts(t) {
		fires, clears := false, false
		for _, tc := range f.Tests {
			var firedAt time.Duration = -1
			for _, c := range tc.Cases {
				if c.Alertname != a.Alert {
					continue
				}
				if len(c.ExpAlerts) > 0 {
					fires, firedAt = true, parse(c.EvalTime)
				} else if firedAt >= 0 && parse(c.EvalTime) > firedAt {
					clears = true
				}
			}
		}
		if !fires || !clears {
			t.Errorf("alert %s: promtool cases fire %v, then clear %v; want both", a.Alert, fires, clears)
		}
	}
}
