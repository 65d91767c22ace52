package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coworkdocs/syncd/internal/testbin"
)

// seededBook is a status with a poll of each result, a failing and a
// parked file whose errors quote personal data, and an unfinished backfill.
func seededBook() *StatusBook {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	b := NewStatusBook("v1.2.3", t0)
	b.RecordPoll(PollStatus{Start: t0, DurationSeconds: 2.5, Result: "success", Created: 3, Unchanged: 40})
	b.RecordPoll(PollStatus{Start: t0.Add(5 * time.Minute), DurationSeconds: 1, Result: "failure", Failed: 1,
		Error: `coredata: create file "Ada Lovelace - Membership agreement": HTTP 503`})
	b.SetFiles([]FileStatus{
		{NexudusID: 1001, Status: "failed", Attempts: 2, NextAttempt: t0.Add(time.Hour), LastError: `nexudus: download "ada-lovelace-contract.pdf": HTTP 404`},
		{NexudusID: 1002, Status: "parked", Attempts: 5, LastError: "over max_file_bytes"},
	}, 2)
	b.SetBackfill(&BackfillStatus{From: t0.Add(-90 * 24 * time.Hour), Done: t0.Add(-60 * 24 * time.Hour), UpdatedAt: t0})
	b.SetAuditSchedule("@daily")
	b.SetAudit(AuditStatus{Started: t0.Add(-time.Hour), Finished: t0.Add(-time.Hour + 3*time.Second), DurationSeconds: 3, Complete: true,
		Counts:  []AuditCount{{"ok", 97}, {"missing", 1}, {"moved", 1}, {"untagged", 0}, {"drift", 1}, {"duplicate", 0}},
		Repairs: map[string]int{"recreated/success": 1, "followed/success": 1},
		Problems: []AuditProblem{
			{NexudusID: 2001, CoreDataID: "0b0f6c8e-0000-4000-8000-000000002001", Status: "missing", Reason: "no longer exists", Repair: "mirrored again as 0b0f6c8e-0000-4000-8000-00000000f001"},
			{NexudusID: 2002, CoreDataID: "0b0f6c8e-0000-4000-8000-000000002002", Status: "drift", Reason: `renamed from "Ada Lovelace - Membership agreement"`, Repair: "reported"},
		}})
	return b
}

var personal = []string{"Ada Lovelace", "Membership agreement", "ada-lovelace-contract.pdf"}

func TestStatusPageShowsTheStatusWithoutPersonalData(t *testing.T) {
	b := seededBook()
	srv, err := Listen("127.0.0.1:0", prometheus.NewRegistry(), NewHealth(), b)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	defer srv.Shutdown(t.Context())
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, page := get("/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q lets the page load from elsewhere", csp)
	}
	for _, want := range []string{"v1.2.3", "1001", "1002", "parked", "failure", "syncd run -backfill-from 2026-09-07T09:00", `http-equiv="refresh"`, "status.json",
		"Last audit of CoreData", "<th class=\"num\">missing</th>", "<td class=\"num\">97</td>", "2001", "0b0f6c8e-0000-4000-8000-000000002002", "mirrored again as", "recreated/success 1"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, bad := range append([]string{"<script", "src=", "@import", "url("}, personal...) {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	resp, js := get("/status.json")
	var s Status
	if err := json.Unmarshal([]byte(js), &s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /status.json = %d, %v", resp.StatusCode, err)
	}
	if len(s.Polls) != 2 || s.Polls[0].Result != "failure" || len(s.Files) != 2 || s.Backfill == nil ||
		s.Audit == nil || len(s.Audit.Problems) != 2 || s.Audit.Counts[0] != (AuditCount{"ok", 97}) || s.AuditSchedule != "@daily" {
		t.Fatalf("status.json = %+v", s)
	}
	for _, bad := range personal {
		if strings.Contains(js, bad) {
			t.Errorf("status.json holds %q", bad)
		}
	}
	if resp, _ := get("/nope"); resp.StatusCode != 404 {
		t.Errorf("GET /nope = %d, want 404", resp.StatusCode)
	}
}

// The page as a person sees it: Debian's chromium, headless, renders it
// and takes a screenshot (kept under SYNCD_SCREENSHOT_DIR when set).
func TestStatusPageRendersInChromium(t *testing.T) {
	bin := testbin.Chromium(t)
	ts := httptest.NewServer(http.HandlerFunc(seededBook().ServeHTML))
	defer ts.Close()
	dom, _ := testbin.Render(t, bin, ts.URL+"/", "status-seeded.png")
	for _, want := range []string{"Files failing or parked (2)", "1001", "A backfill from", "Last audit of CoreData", "2001", "97"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
}
