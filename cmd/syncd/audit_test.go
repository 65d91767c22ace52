package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	syncd "github.com/coworkdocs/syncd/internal/daemon"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// withAudit adds an audit section to the env's config.
func (e *env) withAudit(section string) { e.withSection("audit:\n" + section) }

// withSection adds a section (its heading and keys) to the env's config.
func (e *env) withSection(section string) {
	e.t.Helper()
	raw, err := os.ReadFile(e.config)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "http:\n", section+"http:\n", 1)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// mirrorOf is the one CoreData file tagged for a Nexudus file, or false.
func (e *env) mirrorOf(id int64) (coredatatest.FileInfo, bool) {
	var found []coredatatest.FileInfo
	for _, f := range e.cd.Files() {
		for _, tag := range f.Tags {
			if tag == "nexudus-file-"+itoa(id) {
				found = append(found, f)
			}
		}
	}
	if len(found) != 1 {
		return coredatatest.FileInfo{}, false
	}
	return found[0], true
}

// startDaemon runs `syncd run` on the env's config in this process until
// the test ends, and returns the base URL of its HTTP server.
func (e *env) startDaemon() string {
	t := e.t
	t.Helper()
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags(context.Background(), []string{"-config", e.config}); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	m.OnListen = func(a string) { addr <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx); m.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		t.Fatalf("daemon ended before it listened: %v", err)
	}
	return ""
}

// waitFor polls ok until it holds, failing the test after within; it
// returns how long it took.
func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// statusOf reads a daemon's /status.json.
func statusOf(base string) (syncd.Status, bool) {
	var st syncd.Status
	resp, err := http.Get(base + "/status.json")
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	return st, resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil
}

// A daemon polling hourly and auditing every 2 s heals a person's
// deletion within 10 s with no change in Nexudus, follows a file a person
// re-filed, and shows both on /status.json.
func TestDaemonAuditHealsADeletionAndFollowsAMove(t *testing.T) {
	e := newEnv(t, "")
	e.withAudit("  schedule: \"@every 2s\"\n")
	deleted, moved := e.addSigned(1, "agreement-a"), e.addSigned(2, "agreement-b")
	base := e.startDaemon()
	waitFor(t, "the poll at start mirrors both files", 10*time.Second, func() bool {
		_, a := e.mirrorOf(deleted)
		_, b := e.mirrorOf(moved)
		return a && b
	})
	first, _ := e.mirrorOf(deleted)
	signedDigest := first.Digest
	polls := e.nx.Count(nexudustest.RouteList)

	if !e.cd.DeleteFile(first.ID) {
		t.Fatal("delete failed")
	}
	took := waitFor(t, "the deleted file mirrored again", 10*time.Second, func() bool {
		f, ok := e.mirrorOf(deleted)
		return ok && f.ID != first.ID && f.Digest == signedDigest && f.Parent == testParentA
	})
	t.Logf("healed in %s", took.Round(100*time.Millisecond))

	const elsewhere = "5b1e1d2a-0000-4000-8000-00000000abcd"
	other, _ := e.mirrorOf(moved)
	if !e.cd.Move(other.ID, elsewhere) {
		t.Fatal("move failed")
	}
	var st syncd.Status
	waitFor(t, "/status.json shows the move followed", 10*time.Second, func() bool {
		var ok bool
		if st, ok = statusOf(base); !ok || st.Audit == nil {
			return false
		}
		for _, p := range st.Audit.Problems {
			if p.NexudusID == moved && p.Status == "moved" && strings.Contains(p.Repair, "followed") {
				return true
			}
		}
		return false
	})
	if st.AuditSchedule != "@every 2s" || !st.Audit.Complete || st.Audit.Counts[0].Status != "ok" {
		t.Fatalf("status.json audit = %+v", st.Audit)
	}
	if f, ok := e.mirrorOf(moved); !ok || f.Parent != elsewhere || f.ID != other.ID {
		t.Fatalf("the moved file was not left where the person put it: %+v", f)
	}
	if n := len(e.cd.Files()); n != 2 {
		t.Fatalf("CoreData holds %d files, want 2", n)
	}
	if got := e.nx.Count(nexudustest.RouteList); got != polls {
		t.Errorf("the audits listed Nexudus %d times; the poll is hourly", got-polls)
	}
}
