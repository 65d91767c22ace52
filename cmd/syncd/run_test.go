package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
)

func TestRunOnceMirrorsThenUploadsNothing(t *testing.T) {
	e := newEnv(t, "")
	e.addSigned(1, "agreement")
	e.addSigned(2, "lease")
	e.addSigned(3, "no-parent")
	e.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "draft", FileName: "draft.pdf", Data: []byte("d")})

	code, out, errOut := run(t, "run", "-once", "-config", e.config)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	mustContain(t, "output", out, "created=2", "skipped=1", "failed=0")
	if len(e.cd.Files()) != 2 {
		t.Fatalf("CoreData holds %d files", len(e.cd.Files()))
	}
	if fi, err := os.Stat(e.state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file %v %v", fi, err)
	}
	uploads := e.uploads()
	code, out, _ = run(t, "run", "-once", "-config", e.config)
	if code != 0 || e.uploads() != uploads {
		t.Fatalf("second run: exit %d, uploads %d -> %d\n%s", code, uploads, e.uploads(), out)
	}
	mustContain(t, "second run", out, "created=0", "unchanged=2")
}

func TestRunExitCodes(t *testing.T) {
	t.Run("locked state exits 3 naming the path", func(t *testing.T) {
		e := newEnv(t, "")
		lock, err := state.Lock(e.state)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Unlock()
		start := time.Now()
		code, _, errOut := run(t, "run", "-once", "-config", e.config)
		if code != 3 || time.Since(start) > 5*time.Second {
			t.Fatalf("exit %d after %s: %s", code, time.Since(start), errOut)
		}
		mustContain(t, "stderr", errOut, e.state, "locked by another process")
	})
	t.Run("failed file exits 1 naming its Id", func(t *testing.T) {
		e := newEnv(t, "")
		e.addSigned(1, "fine")
		bad := e.addSigned(1, "broken")
		e.nx.FailWhen(func(r nexudustest.Route, req nexudustest.Request) bool {
			return r == nexudustest.RouteSignedDownload && strings.HasSuffix(req.Path, "/"+itoa(bad))
		}, 100, nexudustest.Fault{Status: 500})
		code, out, errOut := run(t, "run", "-once", "-config", e.config)
		if code != 1 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		mustContain(t, "stderr", errOut, "Nexudus Id "+itoa(bad))
		mustContain(t, "stdout", out, "created=1", "nexudus_id="+itoa(bad))
	})
	t.Run("poll failure exits 1", func(t *testing.T) {
		e := newEnv(t, "")
		e.nx.FailNext(nexudustest.RouteList, 100, nexudustest.Fault{Status: 503, HTML: true})
		code, _, errOut := run(t, "run", "-once", "-config", e.config)
		if code != 1 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		mustContain(t, "stderr", errOut, "poll failed", "503")
	})
	t.Run("bad config exits 2", func(t *testing.T) {
		code, _, errOut := run(t, "run", "-once", "-config", filepath.Join(t.TempDir(), "nope.yaml"))
		if code != 2 {
			t.Fatalf("exit %d", code)
		}
		mustContain(t, "stderr", errOut, "nope.yaml")
	})
	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{{}, {"frobnicate"}, {"run", "-nope"}, {"run", "-backfill-from", "last tuesday"}, {"run", "-backfill-from", "2999-01-01T00:00"}, {"state"}, {"demo", "x"}} {
			if code, _, _ := run(t, args...); code != 2 {
				t.Errorf("%v: exit %d", args, code)
			}
		}
	})
}

func TestDryRunWritesNothingAnywhere(t *testing.T) {
	e := newEnv(t, "")
	e.addSigned(1, "agreement")
	code, out, errOut := run(t, "run", "-once", "-dry-run", "-config", e.config)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	mustContain(t, "output", out, "dry run: nothing was written", "would create", "agreement")
	if _, err := os.Stat(e.state); !os.IsNotExist(err) {
		t.Fatalf("dry run created the state file: %v", err)
	}
	if len(e.cd.Files()) != 0 || e.cd.Count(coredatatest.RouteBlob) != 0 {
		t.Fatal("dry run wrote to CoreData")
	}
}

func TestBackfillFromReachesOldRecords(t *testing.T) {
	e := newEnv(t, "  backfill_window: 1440h\n")
	e.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "old", FileName: "old.pdf", Data: []byte("old"), Signed: true,
		UpdatedOn: time.Now().Add(-90 * 24 * time.Hour)})
	code, out, _ := run(t, "run", "-once", "-config", e.config)
	if code != 0 || len(e.cd.Files()) != 0 {
		t.Fatalf("plain run: exit %d, %d files\n%s", code, len(e.cd.Files()), out)
	}
	from := time.Now().Add(-120 * 24 * time.Hour).UTC().Format("2006-01-02T15:04")
	code, out, errOut := run(t, "run", "-backfill-from", from, "-config", e.config)
	if code != 0 || len(e.cd.Files()) != 1 {
		t.Fatalf("backfill: exit %d, %d files\n%s\n%s", code, len(e.cd.Files()), out, errOut)
	}
	mustContain(t, "progress log", errOut, "backfill progress", "windows_total")
}

func TestDaemonServesMetricsAndStopsOnSignal(t *testing.T) {
	e := newEnv(t, "")
	e.addSigned(1, "agreement")
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags(context.Background(), []string{"-config", e.config}); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	m.OnListen = func(a string) { addr <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx); m.Close() }()
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
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{
		`syncd_files_total{outcome="created"} 1`, "syncd_bytes_uploaded_total", `syncd_polls_total{result="success"} 1`,
		"syncd_poll_duration_seconds", "syncd_last_success_timestamp_seconds", "syncd_cursor_timestamp_seconds",
		`syncd_api_requests_total{api="nexudus",code="200"}`, `syncd_api_requests_total{api="coredata",code="201"}`,
		`syncd_api_requests_total{api="storage",code="201"}`, "syncd_api_request_duration_seconds",
		"syncd_mapped_files 1", "syncd_parked_files 0", "syncd_build_info{",
	} {
		mustContain(t, "/metrics", string(body), name)
	}
	checkMetricsWithPromtool(t, body)

	// The status page and its JSON show the poll, and no title.
	resp, err = http.Get(base + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	mustContain(t, "/status.json", string(body), `"result": "success"`, `"created": 1`)
	resp, err = http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mustContain(t, "status page", string(page), "Last polls", "success")
	if strings.Contains(string(page), "agreement") || strings.Contains(string(body), "agreement") {
		t.Fatalf("the status page shows a title or file name:\n%s", page)
	}

	// A second daemon on the same state fails fast with exit code 3.
	code, _, errOut := run(t, "run", "-config", e.config)
	if code != 3 {
		t.Fatalf("second daemon: exit %d: %s", code, errOut)
	}
	// Read-only state commands work while the daemon runs.
	code, out, errOut := run(t, "state", "-config", e.config, "ls", "-json")
	if code != 0 || !strings.Contains(out, `"status":"mirrored"`) {
		t.Fatalf("state ls beside the daemon: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = run(t, "state", "-config", e.config, "retry", "1")
	if code != 3 {
		t.Fatalf("state retry beside the daemon: exit %d %s", code, errOut)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop")
	}
}

// checkMetricsWithPromtool runs `promtool check metrics` when promtool is
// installed; SYNCD_REQUIRE_TOOLS=1 (CI) makes its absence a failure.
func checkMetricsWithPromtool(t *testing.T, body []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("SYNCD_REQUIRE_TOOLS") == "1" {
			t.Fatal("promtool not found and SYNCD_REQUIRE_TOOLS=1")
		}
		t.Log("promtool not found: skipping promtool check metrics")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestStateCommands(t *testing.T) {
	e := newEnv(t, "")
	a := e.addSigned(1, "agreement")
	bad := e.addSigned(2, "broken")
	e.nx.FailWhen(func(r nexudustest.Route, req nexudustest.Request) bool {
		return r == nexudustest.RouteSignedDownload && strings.HasSuffix(req.Path, "/"+itoa(bad))
	}, 100, nexudustest.Fault{Status: 500})
	if code, _, _ := run(t, "run", "-once", "-config", e.config); code != 1 {
		t.Fatalf("setup run exit %d", code)
	}

	code, out, errOut := run(t, "state", "-config", e.config, "ls", "-json")
	if code != 0 {
		t.Fatalf("ls: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("ls -json lines: %q", out)
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"nexudus_id", "coredata_id", "md5", "status", "attempts", "next_attempt", "last_error"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("ls -json line lacks %s: %s", k, l)
			}
		}
	}
	mustContain(t, "ls -json", out, `"status":"mirrored"`, `"status":"failed"`)
	for _, secret := range e.cd.Secrets() {
		if strings.Contains(out, secret) {
			t.Fatal("a CoreData secret in state ls")
		}
	}
	code, out, _ = run(t, "state", "-config", e.config, "ls")
	mustContain(t, "ls", out, "NEXUDUS_ID", "mirrored", "failed", itoa(a))
	code, out, _ = run(t, "state", "-config", e.config, "show", itoa(a))
	if code != 0 {
		t.Fatalf("show exit %d", code)
	}
	mustContain(t, "show", out, `"nexudus_id": `+itoa(a), `"md5": "`)
	if code, _, errOut = run(t, "state", "-config", e.config, "show", "999999"); code != 1 {
		t.Fatalf("show unknown: exit %d %s", code, errOut)
	}
	if code, _, _ = run(t, "state", "-config", e.config, "show", "x"); code != 2 {
		t.Fatalf("show x: exit %d", code)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	if code, _, errOut = run(t, "state", "-config", e.config, "backup", backup); code != 0 {
		t.Fatalf("backup: %d %s", code, errOut)
	}
	if st, err := state.Open(backup, state.Options{ReadOnly: true}); err != nil {
		t.Fatalf("backup does not open: %v", err)
	} else {
		entries, _ := st.Entries()
		st.Close()
		if len(entries) != 2 {
			t.Fatalf("backup holds %d entries", len(entries))
		}
	}

	e.nx.ClearFaults()
	if code, out, _ = run(t, "state", "-config", e.config, "retry", itoa(bad)); code != 0 {
		t.Fatalf("retry exit %d", code)
	}
	mustContain(t, "retry", out, "cleared")
	if code, out, errOut = run(t, "run", "-once", "-config", e.config); code != 0 {
		t.Fatalf("run after retry: %d %s %s", code, out, errOut)
	}
	mustContain(t, "run after retry", out, "created=1")

	if code, _, _ = run(t, "state", "-config", e.config, "forget", itoa(a)); code != 0 {
		t.Fatalf("forget exit %d", code)
	}
	if code, _, _ = run(t, "state", "-config", e.config, "forget", itoa(a)); code != 1 {
		t.Fatalf("forget twice: exit %d", code)
	}

	// Lose the state file: rebuild, then a run uploads nothing.
	os.Remove(e.state)
	code, out, errOut = run(t, "state", "-config", e.config, "rebuild")
	if code != 0 {
		t.Fatalf("rebuild: %d %s", code, errOut)
	}
	mustContain(t, "rebuild", out, "2 mapping(s) restored")
	uploads := e.uploads()
	if code, out, _ = run(t, "run", "-once", "-config", e.config); code != 0 || e.uploads() != uploads {
		t.Fatalf("run after rebuild: exit %d, uploads %d -> %d\n%s", code, uploads, e.uploads(), out)
	}
	if len(e.cd.Files()) != 2 {
		t.Fatalf("CoreData holds %d files", len(e.cd.Files()))
	}
}

func TestCheckConfig(t *testing.T) {
	e := newEnv(t, "")
	code, out, _ := run(t, "check-config", "-config", e.config)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	mustContain(t, "check-config", out, "ok", "location 1 -> "+testParentA, `audit    "@daily", repairs deletions and removed tags, reports drift`, "legal    off (legal.enabled: false)")

	raw, _ := os.ReadFile(e.config)
	wrongKey := filepath.Join(e.dir, "wrong-key.yaml")
	os.WriteFile(wrongKey, []byte(strings.Replace(string(raw), "  max_retries: 1\ncoredata:", "  max_retries: 1\n  pagesize: 5\ncoredata:", 1)), 0o600)
	code, _, errOut := run(t, "check-config", "-config", wrongKey)
	if code != 2 {
		t.Fatalf("wrong key: exit %d", code)
	}
	mustContain(t, "wrong key", errOut, "wrong-key.yaml", "unknown key nexudus.pagesize")

	noParent := filepath.Join(e.dir, "no-parent.yaml")
	os.WriteFile(noParent, []byte(strings.Replace(strings.Replace(string(raw), "    1: "+testParentA+"\n", "", 1), "    2: "+testParentB+"\n", "", 1)), 0o600)
	code, _, errOut = run(t, "check-config", "-config", noParent)
	if code != 2 {
		t.Fatalf("no parent: exit %d", code)
	}
	mustContain(t, "no parent", errOut, "no-parent.yaml", "coredata.parents")

	t.Setenv("SYNCD_CONFIG", e.config)
	if code, _, _ := run(t, "check-config"); code != 0 {
		t.Fatalf("$SYNCD_CONFIG not used: exit %d", code)
	}
}

func TestDemoShowsSecondRunUploadingNothingAndTheAuditRepairing(t *testing.T) {
	code, out, errOut := run(t, "demo")
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errOut)
	}
	mustContain(t, "demo", out, "run 1: first sync", "run 2: nothing changed", "Run 2 uploaded nothing",
		`A person deletes "Alan Turing - Private office licence" in CoreData`, "NEXUDUS_ID  STATUS   COREDATA_ID",
		"Its status page, while the demo runs:\n  http://127.0.0.1:", "Its audit found:", "missing  ", "mirrored again as ", "syncd verify now finds all 13 ok",
		"Id,UniqueId,CreatedOn,CoworkerId,BusinessId,LegalContentType,Name,TariffUniqueId,LegalContentAuditUniqueId,text_sha256,text_coredata_id",
		"House rules (GeneralTerms)", "its edit in run 3 became its second version")
	if strings.Contains(out, "state forget") {
		t.Error("the demo still tells a person to repair by hand")
	}
	wantCounts(t, out[strings.Index(out, "syncd verify"):], map[string]string{"ok": "12", "missing": "1", "drift": "0", "duplicate": "0"})
	// The page it printed served the daemon's status while it ran; the
	// daemon is gone once the demo ends.
	addr := out[strings.Index(out, "http://127.0.0.1:"):]
	addr = addr[:strings.IndexAny(addr, " \n")]
	if resp, err := http.Get(addr + "status.json"); err == nil {
		resp.Body.Close()
		t.Errorf("the demo's daemon still serves %s after the demo ended", addr)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "run 2") {
			f := strings.Fields(strings.TrimPrefix(l, "run 2: nothing changed"))
			// CREATED UPDATED UNCHANGED FAILED DOWNLOADS UPLOADS FILES
			if len(f) != 7 || f[0] != "0" || f[1] != "0" || f[4] != "0" || f[5] != "0" {
				t.Fatalf("run 2 row: %q", l)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "syncd ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
