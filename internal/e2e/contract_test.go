//go:build unix

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The contract accepts request budgets above Nexudus' documented limits
// with a warning (a tenant may have other limits, a test server has none).
// These tests drive the shipped binary as a new user does, so a rule that
// refuses what the contract allows fails here and not for a user.

// withRates rewrites the world's config to the given request budgets.
func (w *world) withRates(perMinute, perHour int) {
	w.t.Helper()
	b, err := os.ReadFile(w.config)
	if err != nil {
		w.t.Fatal(err)
	}
	s := strings.Replace(string(b), "requests_per_minute: 0", fmt.Sprintf("requests_per_minute: %d", perMinute), 1)
	s = strings.Replace(s, "requests_per_hour: 0", fmt.Sprintf("requests_per_hour: %d", perHour), 1)
	if err := os.WriteFile(w.config, []byte(s), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// wantRateWarnings checks for one warning per budget, each naming its
// key, its value and the documented limit.
func wantRateWarnings(t *testing.T, stderr string) {
	t.Helper()
	for _, want := range []string{
		"nexudus.requests_per_minute: 600 is above Nexudus' documented limit of 120/min",
		"nexudus.requests_per_hour: 36000 is above Nexudus' documented limit of 5000/hour",
	} {
		if n := strings.Count(stderr, want); n != 1 {
			t.Errorf("want the warning %q once, got %d times in:\n%s", want, n, tail(stderr, 3000))
		}
	}
}

func TestRatesAboveTheDocumentedLimitsAreAcceptedWithAWarning(t *testing.T) {
	bin := buildSyncd(t)
	t.Run("check-config on a loopback base_url", func(t *testing.T) {
		w := newWorld(t, rand.New(rand.NewPCG(1, 2)))
		w.withRates(600, 36000)
		r := runSyncd(bin, "check-config", "-config", w.config)
		if r.code != 0 {
			t.Fatalf("check-config exit %d\n%s", r.code, r.output())
		}
		wantRateWarnings(t, r.stderr)
	})
	t.Run("check-config on an https tenant base_url", func(t *testing.T) {
		w := newWorld(t, rand.New(rand.NewPCG(1, 2)))
		w.withRates(600, 36000)
		b, _ := os.ReadFile(w.config)
		s := strings.Replace(string(b), w.nx.URL, "https://acme.spaces.nexudus.com", 1)
		if err := os.WriteFile(w.config, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		r := runSyncd(bin, "check-config", "-config", w.config)
		if r.code != 0 {
			t.Fatalf("check-config exit %d\n%s", r.code, r.output())
		}
		wantRateWarnings(t, r.stderr)
	})
	t.Run("run -once on a loopback base_url mirrors", func(t *testing.T) {
		w := newWorld(t, rand.New(rand.NewPCG(3, 4)))
		w.withRates(600, 36000)
		w.seed(15)
		r := runSyncd(bin, "run", "-once", "-config", w.config)
		if r.code != 0 {
			t.Fatalf("run -once exit %d\n%s", r.code, r.output())
		}
		wantRateWarnings(t, r.stderr)
		checkExactlyOne(seeded{t: t}, w, bin)
	})
}

// TestShippedExampleConfigRunsAgainstTheSimulators takes
// configs/syncd.example.yaml and changes only what every operator must:
// the URLs, the secrets, the parents, the rates of a test server, and the
// two machine-local paths (state file, listen address). Every other key
// keeps the example's value, so a default or a rule that the contract does
// not allow fails this test.
func TestShippedExampleConfigRunsAgainstTheSimulators(t *testing.T) {
	bin := buildSyncd(t)
	w := newWorld(t, rand.New(rand.NewPCG(5, 6)))
	w.seed(15)
	example, err := os.ReadFile(filepath.Join("..", "..", "configs", "syncd.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	edits := []struct{ old, new string }{
		{"base_url: https://spaces.nexudus.com", "base_url: " + w.nx.URL},
		{"base_url: https://tenant.coredata.is", "base_url: " + w.cd.URL()},
		{"${NEXUDUS_USERNAME}", w.nx.Username()},
		{"${NEXUDUS_PASSWORD}", w.nx.Password()},
		{"${COREDATA_API_USER}", w.cd.APIUser()},
		{"${COREDATA_API_KEY}", w.cd.APIKey()},
		{"  parents: {}\n", fmt.Sprintf("  parents:\n    1: %s\n    2: %s\n", parentA, parentB)},
		{"requests_per_minute: 100", "requests_per_minute: 600"},
		{"requests_per_hour: 4500", "requests_per_hour: 36000"},
		{"path: /var/lib/syncd/state.db", "path: " + filepath.Join(dir, "state.db")},
		{"listen: 127.0.0.1:9464", `listen: ""`},
	}
	s := string(example)
	for _, e := range edits {
		if strings.Count(s, e.old) != 1 {
			t.Fatalf("the example no longer holds %q exactly once: update this test with the example", e.old)
		}
		s = strings.Replace(s, e.old, e.new, 1)
	}
	if regexp.MustCompile(`(?m)^[^#\n]*\$\{[A-Z_]+\}`).MatchString(s) {
		t.Fatalf("the example holds a variable this test does not set:\n%s", s)
	}
	config := filepath.Join(dir, "syncd.yaml")
	if err := os.WriteFile(config, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runSyncd(bin, "check-config", "-config", config); r.code != 0 {
		t.Fatalf("check-config exit %d\n%s", r.code, r.output())
	}
	r := runSyncd(bin, "run", "-once", "-config", config)
	if r.code != 0 {
		t.Fatalf("run -once exit %d\n%s", r.code, r.output())
	}
	w.config = config // state ls reads the example's state file
	checkExactlyOne(seeded{t: t}, w, bin)
}
