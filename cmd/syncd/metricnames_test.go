package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

var (
	promString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promMatchers = regexp.MustCompile(`\{[^{}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promVar      = regexp.MustCompile(`\$\{?\w+\}?`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"bool": true, "and": true, "or": true, "unless": true, "offset": true, "inf": true, "nan": true, "atan2": true}
)

// metricNames returns the metric names a PromQL expression selects: the
// identifiers left once strings, label matchers, ranges, groupings and
// Grafana variables are removed, and that are not function calls.
func metricNames(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	s = promVar.ReplaceAllString(s, " ")
	for promMatchers.MatchString(s) {
		s = promMatchers.ReplaceAllString(s, " ")
	}
	s = promRange.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		word := s[loc[0]:loc[1]]
		if loc[0] > 0 && (s[loc[0]-1] >= '0' && s[loc[0]-1] <= '9' || s[loc[0]-1] == '.') {
			continue // a unit or exponent of a number: 5m, 1e3
		}
		if promKeywords[strings.ToLower(word)] || strings.HasPrefix(strings.TrimLeft(s[loc[1]:], " \t\n"), "(") {
			continue
		}
		if !slices.Contains(names, word) {
			names = append(names, word)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`up{job=~".*syncd.*"} == 0`, []string{"up"}},
		{`absent(up{job=~".*syncd.*"})`, []string{"up"}},
		{`sum by (job, instance) (increase(syncd_polls_total{result="failure"}[30m])) > 0 and sum by (job) (x_total) == 0`, []string{"syncd_polls_total", "x_total"}},
		{`histogram_quantile(0.95, sum by (api, le) (rate(syncd_api_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))`, []string{"syncd_api_request_duration_seconds_bucket"}},
		{`time() - syncd_cursor_timestamp_seconds > 3 * 86400`, []string{"syncd_cursor_timestamp_seconds"}},
		{`max by (instance) (syncd_backfill_window_end_timestamp_seconds{instance=~"${instance}"}) * 1e3`, []string{"syncd_backfill_window_end_timestamp_seconds"}},
		{`rate(node_cpu_seconds_total{mode="idle"}[5m])`, []string{"node_cpu_seconds_total"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
				t.Fatalf("metricNames = %q, want %q", got, tt.want)
			}
		})
	}
}

// scrapeNames runs the daemon against the simulators through one poll
// with a retry, scrapes /metrics, and returns every sample name it shows.
func scrapeNames(t *testing.T) map[string]bool {
	t.Helper()
	e := newEnv(t, "")
	e.withSection("legal:\n  enabled: true\n") // the legal metrics exist only then
	e.addSigned(1, "agreement")
	e.nx.FailNext(nexudustest.RouteList, 1, nexudustest.Fault{Status: 503}) // one retry, so syncd_api_retries_total shows
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags(context.Background(), []string{"-config", e.config}); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	m.OnListen = func(a string) { addr <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx); m.Close() }()
	defer func() { cancel(); <-done }()
	base := "http://" + <-addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"up": true} // Prometheus adds up for every target
	for name, f := range fams {
		names[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	return names
}

// Every query of the Grafana dashboard and of the alert rules names only
// metrics syncd exports (seen in a real scrape), the two outage metrics
// landing from another branch, and up.
func TestDashboardAndAlertsUseOnlyExportedMetrics(t *testing.T) {
	exported := scrapeNames(t)
	for _, want := range []string{"syncd_api_retries_total", "syncd_backfill_progress_ratio", "syncd_backfill_window_end_timestamp_seconds", "syncd_build_info", "process_start_time_seconds"} {
		if !exported[want] {
			t.Fatalf("the scrape lacks %s", want)
		}
	}
	type query struct{ where, expr string }
	var exprs []query
	raw, err := os.ReadFile("../../deploy/grafana/syncd.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("syncd.json: %v", err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, query{"dashboard panel " + p.Title, tg.Expr})
		}
	}
	raw, err = os.ReadFile("../../deploy/prometheus/syncd-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs = append(exprs, query{"alert " + r.Alert, r.Expr})
		}
	}
	used := map[string]bool{}
	for _, q := range exprs {
		names := metricNames(q.expr)
		if len(names) == 0 {
			t.Errorf("%s: %s: selects no metric", q.where, q.expr)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("%s: %s: %s is not a metric syncd exports", q.where, q.expr, n)
			}
		}
	}
	// The dashboard covers what the issue lists.
	for _, want := range []string{"syncd_files_total", "syncd_poll_duration_seconds_bucket", "syncd_polls_total", "syncd_api_requests_total",
		"syncd_api_retries_total", "syncd_cursor_timestamp_seconds", "syncd_parked_files", "syncd_mapped_files", "syncd_bytes_uploaded_total",
		"syncd_audit_files", "syncd_audit_repairs_total", "syncd_audit_last_success_timestamp_seconds"} {
		if !used[want] {
			t.Errorf("neither the dashboard nor the alerts use %s", want)
		}
	}
	if t.Failed() {
		var all []string
		for n := range exported {
			all = append(all, n)
		}
		sort.Strings(all)
		t.Logf("exported: %s", strings.Join(all, " "))
	}
}
