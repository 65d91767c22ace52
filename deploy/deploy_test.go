package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/coworkdocs/syncd/internal/config"
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

// k8sObject is the part of a manifest the checks below read.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					Args  []string `yaml:"args"`
					Ports []struct {
						ContainerPort int `yaml:"containerPort"`
					} `yaml:"ports"`
					LivenessProbe struct {
						HTTPGet struct {
							Path string `yaml:"path"`
						} `yaml:"httpGet"`
					} `yaml:"livenessProbe"`
					ReadinessProbe struct {
						HTTPGet struct {
							Path string `yaml:"path"`
						} `yaml:"httpGet"`
					} `yaml:"readinessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func TestKubernetesManifests(t *testing.T) {
	raw, err := os.ReadFile("kubernetes/syncd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]k8sObject{}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var o k8sObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		objs[o.Kind] = o
	}
	d, ok := objs["Deployment"]
	if !ok {
		t.Fatal("no Deployment")
	}
	// One writer of the state file, and the old pod gone before the new.
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != "Recreate" {
		t.Fatalf("deployment must run exactly one replica with Recreate: %+v", d.Spec)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.Ports[0].ContainerPort != 9464 {
		t.Fatalf("probes or port: %+v", c)
	}

	// The ConfigMap's config must load, with the secret files it names.
	text := objs["ConfigMap"].Data["syncd.yaml"]
	dir := t.TempDir()
	for _, name := range []string{"nexudus-username", "nexudus-password", "coredata-api-user", "coredata-api-key"} {
		os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o600)
	}
	text = strings.ReplaceAll(text, "/etc/syncd/secrets", dir)
	cfg, err := config.Parse("configmap syncd.yaml", []byte(text), os.LookupEnv)
	if err != nil {
		t.Fatalf("the ConfigMap's config does not load: %v", err)
	}
	if !strings.HasSuffix(cfg.HTTP.Listen, ":9464") || cfg.State.Path != "/var/lib/syncd/state.db" {
		t.Fatalf("config does not match the manifest: %+v %+v", cfg.HTTP, cfg.State)
	}
	if grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds; grace <= int(cfg.Sync.ShutdownTimeout.Seconds()) {
		t.Fatalf("terminationGracePeriodSeconds %d must exceed sync.shutdown_timeout %s", grace, cfg.Sync.ShutdownTimeout)
	}

	// kubectl reads every object; --local keeps it off any cluster.
	out := runTool(t, "kubectl", "label", "--local", "-o", "name", "-f", "kubernetes/syncd.yaml", "check=ok")
	for _, want := range []string{"configmap/syncd-config", "persistentvolumeclaim/syncd-state", "deployment.apps/syncd", "service/syncd-metrics"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl did not read %s:\n%s", want, out)
		}
	}
}
