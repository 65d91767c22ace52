package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/coworkdocs/syncd/internal/config"
)

// podMonitor and prometheusRule are the prometheus-operator kinds the
// component uses, with the fields it sets (k8s.io/api has no CRDs).
type podMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

type ruleGroups struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Record      string            `json:"record,omitempty"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels,omitempty"`
			Annotations map[string]string `json:"annotations,omitempty"`
		} `json:"rules"`
	} `json:"groups"`
}

type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ruleGroups `json:"spec"`
}

// kinds maps each kind the manifests may hold to its API version and type.
var kinds = map[string]struct {
	apiVersion string
	new        func() any
}{
	"Namespace":             {"v1", func() any { return &corev1.Namespace{} }},
	"ServiceAccount":        {"v1", func() any { return &corev1.ServiceAccount{} }},
	"ConfigMap":             {"v1", func() any { return &corev1.ConfigMap{} }},
	"Service":               {"v1", func() any { return &corev1.Service{} }},
	"PersistentVolumeClaim": {"v1", func() any { return &corev1.PersistentVolumeClaim{} }},
	"Deployment":            {"apps/v1", func() any { return &appsv1.Deployment{} }},
	"Job":                   {"batch/v1", func() any { return &batchv1.Job{} }},
	"NetworkPolicy":         {"networking.k8s.io/v1", func() any { return &networkingv1.NetworkPolicy{} }},
	"PodMonitor":            {"monitoring.coreos.com/v1", func() any { return &podMonitor{} }},
	"PrometheusRule":        {"monitoring.coreos.com/v1", func() any { return &prometheusRule{} }},
}

// decodeStrict decodes one YAML object into its Kubernetes API type;
// unknown or misspelt fields are errors.
func decodeStrict(doc []byte) (any, error) {
	j, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, err
	}
	k, ok := kinds[tm.Kind]
	if !ok {
		return nil, fmt.Errorf("kind %q is not one the tests know", tm.Kind)
	}
	if tm.APIVersion != k.apiVersion {
		return nil, fmt.Errorf("%s: apiVersion %q, want %q", tm.Kind, tm.APIVersion, k.apiVersion)
	}
	obj := k.new()
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

func TestStrictDecodingRefusesMisspeltFields(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"misspelt container field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          securityContext: {readOnlyRootFilesytem: true}\n", "readOnlyRootFilesytem"},
		{"misspelt pod monitor field", "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: x}\nspec: {podMetricEndpoints: []}\n", "podMetricEndpoints"},
		{"wrong apiVersion", "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: x}\n", "apiVersion"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "Pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeStrict([]byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error naming %q, got %v", tt.want, err)
			}
		})
	}
}

// kustomize finds a kustomize v5: the kustomize command, else kubectl's
// built-in one. Older kustomize (Debian's kubectl 1.20 has v2) lacks
// components and labels, so it counts as missing.
func kustomize(t *testing.T) []string {
	t.Helper()
	if p, err := exec.LookPath("kustomize"); err == nil {
		if out, err := exec.Command(p, "version").CombinedOutput(); err == nil && strings.Contains(string(out), "v5.") {
			return []string{p, "build"}
		}
	}
	if p, err := exec.LookPath("kubectl"); err == nil {
		if out, _ := exec.Command(p, "version", "--client").CombinedOutput(); regexp.MustCompile(`Kustomize Version: v5\.`).Match(out) {
			return []string{p, "kustomize"}
		}
	}
	msg := "kustomize v5 not found (neither kustomize nor kubectl with Kustomize v5)"
	if os.Getenv("SYNCD_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s and SYNCD_REQUIRE_TOOLS=1", msg)
	}
	t.Skip(msg + ": skipping")
	return nil
}

type object struct {
	kind, name, namespace string
	obj                   any
}

// render builds a kustomization and decodes every object strictly.
func render(t *testing.T, kz []string, dir string) []object {
	t.Helper()
	out, err := exec.Command(kz[0], append(kz[1:], dir)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", strings.Join(kz, " "), dir, err, out)
	}
	var objs []object
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(out), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		o, err := decodeStrict([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v\n%s", dir, err, doc)
		}
		m := o.(metav1.ObjectMetaAccessor).GetObjectMeta()
		objs = append(objs, object{kind: fmt.Sprintf("%T", o)[1:], name: m.GetName(), namespace: m.GetNamespace(), obj: o})
	}
	return objs
}

func byKind[T any](objs []object) []*T {
	var out []*T
	for _, o := range objs {
		if v, ok := o.obj.(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

// kustomizations is every kustomization.yaml that renders on its own
// (components render inside the overlays that include them).
func kustomizations(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir("kubernetes", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Name() != "kustomization.yaml" {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !regexp.MustCompile(`(?m)^kind: Component$`).Match(raw) {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func TestEveryKustomizationRendersAndDecodesStrictly(t *testing.T) {
	kz := kustomize(t)
	dirs := kustomizations(t)
	for _, want := range []string{"kubernetes/base", "kubernetes/overlays/default", "kubernetes/overlays/scale-out", "kubernetes/overlays/backfill", "kubernetes/overlays/scale-out/backfill-acme"} {
		if !slices.Contains(dirs, want) {
			t.Fatalf("kustomization %s missing from %v", want, dirs)
		}
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			objs := render(t, kz, dir)
			for _, d := range byKind[appsv1.Deployment](objs) {
				checkPod(t, "Deployment "+d.Name, d.Spec.Template.Spec)
				checkDaemon(t, d, objs)
			}
			for _, j := range byKind[batchv1.Job](objs) {
				checkPod(t, "Job "+j.Name, j.Spec.Template.Spec)
			}
			for _, sa := range byKind[corev1.ServiceAccount](objs) {
				if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
					t.Errorf("ServiceAccount %s mounts a token", sa.Name)
				}
			}
			for _, cm := range byKind[corev1.ConfigMap](objs) {
				checkConfig(t, cm)
			}
			if len(byKind[networkingv1.NetworkPolicy](objs)) == 0 {
				t.Error("no NetworkPolicy")
			}
			for _, np := range byKind[networkingv1.NetworkPolicy](objs) {
				if np.Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] != "syncd" || len(np.Spec.PolicyTypes) != 2 {
					t.Errorf("NetworkPolicy %s: must select syncd's pods and govern ingress and egress: %+v", np.Name, np.Spec)
				}
			}
			if dir == "kubernetes/base" {
				return
			}
			nss := byKind[corev1.Namespace](objs)
			for _, o := range objs {
				if o.kind != "v1.Namespace" && o.namespace == "" {
					t.Errorf("%s %s has no namespace", o.kind, o.name)
				}
			}
			if strings.HasSuffix(dir, "backfill-acme") || strings.HasSuffix(dir, "/acme") || strings.HasSuffix(dir, "/globex") {
				return // an account of scale-out: its namespace comes from there
			}
			if len(nss) != 1 || nss[0].Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
				t.Errorf("want one Namespace labelled pod-security.kubernetes.io/enforce: restricted, got %v", nss)
			}
		})
	}
}

// checkPod asserts the Pod Security Standard "restricted" (and more:
// read-only root, no service account token) for a pod template.
func checkPod(t *testing.T, where string, p corev1.PodSpec) {
	t.Helper()
	fail := func(format string, args ...any) { t.Errorf(where+": "+format, args...) }
	if p.HostNetwork || p.HostPID || p.HostIPC {
		fail("host namespaces")
	}
	if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
		fail("automountServiceAccountToken must be false")
	}
	psc := p.SecurityContext
	if psc == nil {
		fail("no pod securityContext")
		psc = &corev1.PodSecurityContext{}
	}
	for _, v := range p.Volumes {
		src := v.VolumeSource
		if src.ConfigMap == nil && src.Secret == nil && src.PersistentVolumeClaim == nil && src.EmptyDir == nil && src.Projected == nil && src.DownwardAPI == nil {
			fail("volume %s is of a type the restricted standard refuses", v.Name)
		}
	}
	for _, c := range append(slices.Clone(p.InitContainers), p.Containers...) {
		csc := c.SecurityContext
		if csc == nil {
			fail("container %s: no securityContext", c.Name)
			continue
		}
		if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			fail("container %s: allowPrivilegeEscalation must be false", c.Name)
		}
		if csc.Privileged != nil && *csc.Privileged {
			fail("container %s: privileged", c.Name)
		}
		if csc.Capabilities == nil || !slices.Contains(csc.Capabilities.Drop, "ALL") || len(csc.Capabilities.Add) > 0 {
			fail("container %s: capabilities must drop ALL and add none", c.Name)
		}
		nonRoot := (csc.RunAsNonRoot != nil && *csc.RunAsNonRoot) || (csc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
		if !nonRoot {
			fail("container %s: runAsNonRoot must be true", c.Name)
		}
		if (csc.RunAsUser != nil && *csc.RunAsUser == 0) || (psc.RunAsUser != nil && *psc.RunAsUser == 0) {
			fail("container %s: runs as uid 0", c.Name)
		}
		seccomp := csc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			fail("container %s: seccompProfile must be RuntimeDefault or Localhost", c.Name)
		}
		if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			fail("container %s: readOnlyRootFilesystem must be true", c.Name)
		}
		for _, port := range c.Ports {
			if port.HostPort != 0 {
				fail("container %s: hostPort", c.Name)
			}
		}
		image := c.Image
		if i := strings.LastIndex(image, "/"); i >= 0 {
			image = image[i+1:]
		}
		if !strings.Contains(image, ":") && !strings.Contains(image, "@sha256:") || strings.HasSuffix(image, ":latest") {
			fail("container %s: image %q must be pinned by a version tag, not :latest or none", c.Name, c.Image)
		}
	}
}

// checkDaemon asserts what the daemon's Deployment needs beyond security:
// one writer, probes on the metrics port, and references that resolve.
func checkDaemon(t *testing.T, d *appsv1.Deployment, objs []object) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas > 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("Deployment %s: at most one replica with Recreate (one writer of the state file)", d.Name)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || c.Ports[0].ContainerPort != 9464 {
		t.Errorf("Deployment %s: want one port metrics/9464, got %+v", d.Name, c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "metrics" {
			t.Errorf("Deployment %s: %s probe must GET %s on port metrics: %+v", d.Name, p.name, p.path, p.probe)
		}
	}
	if lp := c.LivenessProbe; lp != nil && int(lp.PeriodSeconds)*int(lp.FailureThreshold) < 60 {
		t.Errorf("Deployment %s: a liveness probe failing in under a minute restarts a busy pod", d.Name)
	}
	names := map[string]bool{}
	for _, o := range objs {
		names[o.kind+"/"+o.name] = true
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			if !names["v1.ConfigMap/"+v.ConfigMap.Name] || !regexp.MustCompile(`-[a-z0-9]{10}$`).MatchString(v.ConfigMap.Name) {
				t.Errorf("Deployment %s: config map %q is not a generated ConfigMap of this render (a config change would not roll the pod)", d.Name, v.ConfigMap.Name)
			}
		case v.PersistentVolumeClaim != nil:
			if !names["v1.PersistentVolumeClaim/"+v.PersistentVolumeClaim.ClaimName] {
				t.Errorf("Deployment %s: claim %q is not in this render", d.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
	}
}

// checkConfig loads the ConfigMap's syncd.yaml with the real loader, its
// secret files stood in for, and checks it fits the manifests.
func checkConfig(t *testing.T, cm *corev1.ConfigMap) {
	t.Helper()
	text, ok := cm.Data["syncd.yaml"]
	if !ok {
		t.Errorf("ConfigMap %s has no syncd.yaml", cm.Name)
		return
	}
	dir := t.TempDir()
	for _, name := range []string{"nexudus-username", "nexudus-password", "coredata-api-user", "coredata-api-key"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse("ConfigMap "+cm.Name, []byte(strings.ReplaceAll(text, "/etc/syncd/secrets", dir)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Errorf("the config of ConfigMap %s does not load: %v", cm.Name, err)
		return
	}
	if !strings.HasSuffix(cfg.HTTP.Listen, ":9464") || cfg.State.Path != "/var/lib/syncd/state.db" || cfg.Sync.ShutdownTimeout.Seconds() >= 45 {
		t.Errorf("ConfigMap %s: listen %s, state %s, shutdown_timeout %s do not fit the pod (port 9464, volume at /var/lib/syncd, grace 45s)",
			cm.Name, cfg.HTTP.Listen, cfg.State.Path, cfg.Sync.ShutdownTimeout)
	}
	// The shipped placeholders must be flagged, not pass silently.
	if len(cfg.Warnings()) == 0 {
		t.Errorf("ConfigMap %s: check-config would not warn about the example placeholders", cm.Name)
	}
}

// Scale-out: one Deployment per account, each alone on its own config,
// secret and volume, selecting only its own pods; one PodMonitor and one
// PrometheusRule for all.
func TestScaleOutSeparatesAccounts(t *testing.T) {
	objs := render(t, kustomize(t), "kubernetes/overlays/scale-out")
	deps := byKind[appsv1.Deployment](objs)
	if len(deps) < 2 {
		t.Fatalf("want a Deployment per account, got %d", len(deps))
	}
	seen := map[string]string{}
	claim := func(what, name, owner string) {
		if prev, ok := seen[what+"/"+name]; ok {
			t.Errorf("%s %s is shared by %s and %s", what, name, prev, owner)
		}
		seen[what+"/"+name] = owner
	}
	for _, d := range deps {
		for _, v := range d.Spec.Template.Spec.Volumes {
			switch {
			case v.ConfigMap != nil:
				claim("config", v.ConfigMap.Name, d.Name)
			case v.Secret != nil:
				claim("secret", v.Secret.SecretName, d.Name)
			case v.PersistentVolumeClaim != nil:
				claim("volume", v.PersistentVolumeClaim.ClaimName, d.Name)
			}
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range deps {
			if other != d && sel.Matches(labels.Set(other.Spec.Template.Labels)) {
				t.Errorf("Deployment %s selects the pods of %s", d.Name, other.Name)
			}
		}
	}
	for _, s := range byKind[corev1.Service](objs) {
		n := 0
		for _, d := range deps {
			if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("Service %s selects the pods of %d Deployments, want 1", s.Name, n)
		}
	}
	pms, prs := byKind[podMonitor](objs), byKind[prometheusRule](objs)
	if len(pms) != 1 || len(prs) != 1 {
		t.Fatalf("want one PodMonitor and one PrometheusRule for all accounts, got %d and %d", len(pms), len(prs))
	}
	sel, err := metav1.LabelSelectorAsSelector(&pms[0].Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps {
		if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("the PodMonitor does not scrape %s", d.Name)
		}
		port := d.Spec.Template.Spec.Containers[0].Ports[0].Name
		if pms[0].Spec.PodMetricsEndpoints[0].Port != port {
			t.Errorf("the PodMonitor scrapes port %q, the pod names %q", pms[0].Spec.PodMetricsEndpoints[0].Port, port)
		}
	}
}

// The backfill overlays: the daemon at 0 replicas and a Job on the very
// volume, config and secret the daemon uses, with the time set.
func TestBackfillOverlaysHaveOneWriter(t *testing.T) {
	kz := kustomize(t)
	for _, dir := range []string{"kubernetes/overlays/backfill", "kubernetes/overlays/scale-out/backfill-acme"} {
		t.Run(dir, func(t *testing.T) {
			objs := render(t, kz, dir)
			deps, jobs := byKind[appsv1.Deployment](objs), byKind[batchv1.Job](objs)
			if len(deps) != 1 || len(jobs) != 1 {
				t.Fatalf("want one Deployment and one Job, got %d and %d", len(deps), len(jobs))
			}
			d, j := deps[0], jobs[0]
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
				t.Fatalf("the daemon must be scaled to 0 while the Job writes the state: replicas %v", d.Spec.Replicas)
			}
			vols := func(p corev1.PodSpec) map[string]string {
				m := map[string]string{}
				for _, v := range p.Volumes {
					switch {
					case v.ConfigMap != nil:
						m[v.Name] = "configmap " + v.ConfigMap.Name
					case v.Secret != nil:
						m[v.Name] = "secret " + v.Secret.SecretName
					case v.PersistentVolumeClaim != nil:
						m[v.Name] = "claim " + v.PersistentVolumeClaim.ClaimName
					}
				}
				return m
			}
			dv, jv := vols(d.Spec.Template.Spec), vols(j.Spec.Template.Spec)
			if fmt.Sprint(dv) != fmt.Sprint(jv) {
				t.Fatalf("the Job's volumes %v are not the daemon's %v", jv, dv)
			}
			dc, jc := d.Spec.Template.Spec.Containers[0], j.Spec.Template.Spec.Containers[0]
			if dc.Image != jc.Image || j.Namespace != d.Namespace {
				t.Fatalf("the Job runs %s in %q, the daemon %s in %q", jc.Image, j.Namespace, dc.Image, d.Namespace)
			}
			i := slices.Index(jc.Args, "-backfill-from")
			if len(jc.Args) < 2 || jc.Args[0] != "run" || i < 0 || i+1 >= len(jc.Args) || jc.Args[i+1] == "" {
				t.Fatalf("the Job's args %q are not syncd run ... -backfill-from TIME", jc.Args)
			}
			if j.Spec.Template.Spec.RestartPolicy == corev1.RestartPolicyAlways {
				t.Fatal("a Job pod cannot restart Always")
			}
		})
	}
}

// The PrometheusRule is generated from the Prometheus rules file; a stale
// copy fails here.
func TestPrometheusRuleIsGeneratedFromTheRules(t *testing.T) {
	rules, err := os.ReadFile(RulesPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(PrometheusRulePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, PrometheusRule(rules)) {
		t.Fatalf("%s is stale: run go generate ./deploy", PrometheusRulePath)
	}
	o, err := decodeStrict(got)
	if err != nil {
		t.Fatal(err)
	}
	var plain ruleGroups
	if err := sigsyaml.UnmarshalStrict(rules, &plain); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(o.(*prometheusRule).Spec) != fmt.Sprint(plain) {
		t.Fatal("the PrometheusRule's spec does not hold the same rules as the rules file")
	}
}
