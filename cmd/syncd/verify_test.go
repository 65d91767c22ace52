package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// coreDataFileOf is the CoreData file tagged for a Nexudus file.
func (e *env) coreDataFileOf(id int64) coredatatest.FileInfo {
	e.t.Helper()
	for _, f := range e.cd.Files() {
		for _, tag := range f.Tags {
			if tag == syncer.FileTag(id) {
				return f
			}
		}
	}
	e.t.Fatalf("no CoreData file tagged for %d", id)
	return coredatatest.FileInfo{}
}

func (e *env) coreDataWrites() int {
	n := 0
	for _, r := range []coredatatest.Route{coredatatest.RouteBlob, coredatatest.RouteStorage, coredatatest.RouteCreate,
		coredatatest.RouteUpdateContent, coredatatest.RouteUpdateMetadata, coredatatest.RouteDelete} {
		n += e.cd.Count(r)
	}
	return n
}

func TestVerifyExitCodesAndOutput(t *testing.T) {
	e := newEnv(t, "")
	a := e.addSigned(1, "agreement")
	b := e.addSigned(2, "lease")
	e.addSigned(3, "no-parent")
	if code, out, errOut := run(t, "run", "-once", "-config", e.config); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	// The daemon holds <state>.lock for its life: verify needs no lock.
	lock, err := state.Lock(e.state)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	stateBefore, err := os.ReadFile(e.state)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("all ok exits 0 with the summary", func(t *testing.T) {
		code, out, errOut := run(t, "verify", "-config", e.config)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		mustContain(t, "stdout", out, "STATUS", "all ok")
		wantCounts(t, out, map[string]string{"ok": "2", "missing": "0", "orphan": "0", "skipped": "1"})
		mustContain(t, "stderr", errOut, "verify done")
	})

	deleted := e.coreDataFileOf(a).ID
	e.cd.DeleteFile(deleted) // a person deletes a CoreData file
	e.nx.ResetCounts()
	e.cd.ResetCounts()

	t.Run("a deleted CoreData file exits 1 and is named", func(t *testing.T) {
		code, out, errOut := run(t, "verify", "-config", e.config)
		if code != 1 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		wantCounts(t, out, map[string]string{"ok": "1", "missing": "1"})
		mustContain(t, "stdout", out, "NEXUDUS_ID", itoa(a)+"  ", "no CoreData file is tagged nexudus-file-"+itoa(a), deleted, "no longer exists (a read by id answered 404)")
		mustContain(t, "stderr", errOut, "verify: 1 file(s) not ok")
	})

	t.Run("-json has one object per file with the fields to act on", func(t *testing.T) {
		code, out, errOut := run(t, "verify", "-json", "-config", e.config)
		if code != 1 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines, want 2 (one per file with a parent):\n%s", len(lines), out)
		}
		rows := map[int64]map[string]any{}
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not JSON: %q: %v", l, err)
			}
			for _, k := range []string{"nexudus_id", "coredata_id", "status", "reason", "nexudus_md5", "coredata_md5", "recorded_md5", "nexudus_updated_on", "recorded_updated_on", "coredata_ids"} {
				if _, ok := m[k]; !ok {
					t.Errorf("line %s has no %q", l, k)
				}
			}
			rows[int64(m["nexudus_id"].(float64))] = m
		}
		if r := rows[a]; r["status"] != "missing" || r["recorded_md5"] == "" || r["coredata_id"] != "" {
			t.Errorf("missing row %v", r)
		}
		cf := e.coreDataFileOf(b)
		if r := rows[b]; r["status"] != "ok" || r["coredata_id"] != cf.ID || r["coredata_md5"] != cf.Digest || r["recorded_md5"] != cf.Digest || r["nexudus_updated_on"] == nil {
			t.Errorf("ok row %v, want CoreData file %s %s", r, cf.ID, cf.Digest)
		}
	})

	t.Run("-deep downloads and compares", func(t *testing.T) {
		e.nx.ResetCounts()
		code, out, errOut := run(t, "verify", "-deep", "-json", "-config", e.config)
		if code != 1 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		if n := e.nx.Count(nexudustest.RouteSignedDownload); n != 1 {
			t.Errorf("%d downloads, want 1 (the missing file has nothing to compare with)", n)
		}
		mustContain(t, "stdout", out, `"nexudus_md5":"`+e.coreDataFileOf(b).Digest+`"`)
	})

	t.Run("nothing was written", func(t *testing.T) {
		after, err := os.ReadFile(e.state)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stateBefore, after) {
			t.Error("the state file changed")
		}
		if n := e.coreDataWrites(); n != 0 {
			t.Errorf("%d CoreData write requests", n)
		}
		// Only the deleted file, not under any parent, is read by id:
		// once in each of the three runs since the deletion.
		if n := e.cd.Count(coredatatest.RouteGet); n != 3 {
			t.Errorf("%d CoreData reads of single files, want 3 (the deleted one, once a run)", n)
		}
	})

	t.Run("usage and configuration errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"verify", "-config", e.config, "extra"},
			{"verify", "-config", e.config, "-from", "last tuesday"},
			{"verify", "-config", e.config, "-from", "2999-01-01T00:00"},
			{"verify", "-nope"},
			{"verify", "-config", e.dir + "/absent.yaml"},
		} {
			code, _, errOut := run(t, args...)
			if code != 2 {
				t.Errorf("%v: exit %d %s", args, code, errOut)
			}
		}
		_, _, errOut := run(t, "verify", "-config", e.config, "-from", "last tuesday")
		mustContain(t, "stderr", errOut, "-from", "last tuesday")
	})
}

// What verify finds missing, `state forget` and the next run repair: the
// engine trusts its mapping for a record that did not change.
func TestVerifyMissingIsRepairedByForget(t *testing.T) {
	e := newEnv(t, "")
	id := e.addSigned(1, "agreement")
	if code, _, errOut := run(t, "run", "-once", "-config", e.config); code != 0 {
		t.Fatal(errOut)
	}
	e.cd.DeleteFile(e.coreDataFileOf(id).ID)
	steps := []struct {
		args []string
		code int
	}{
		{[]string{"verify", "-config", e.config}, 1},
		{[]string{"run", "-once", "-config", e.config}, 0},
		{[]string{"verify", "-config", e.config}, 1}, // unchanged in Nexudus: not looked at
		{[]string{"state", "-config", e.config, "forget", itoa(id)}, 0},
		{[]string{"run", "-once", "-config", e.config}, 0},
		{[]string{"verify", "-config", e.config}, 0},
	}
	for i, s := range steps {
		if code, out, errOut := run(t, s.args...); code != s.code {
			t.Fatalf("step %d %v: exit %d, want %d\n%s%s", i, s.args, code, s.code, out, errOut)
		}
	}
}

// Without a state file, files are judged by their tags alone.
func TestVerifyWithoutAStateFile(t *testing.T) {
	e := newEnv(t, "")
	e.addSigned(1, "agreement")
	if code, _, errOut := run(t, "run", "-once", "-config", e.config); code != 0 {
		t.Fatal(errOut)
	}
	if err := os.Remove(e.state); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "verify", "-json", "-config", e.config)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "stdout", out, `"status":"ok"`, "not in the state file; found by tag")
	mustContain(t, "stderr", errOut, "state file does not exist")
	if _, err := os.Stat(e.state); !os.IsNotExist(err) {
		t.Fatalf("verify created the state file: %v", err)
	}
}

// wantCounts checks the summary table's count of each status.
func wantCounts(t *testing.T, out string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) >= 2 {
			if _, ok := got[f[0]]; !ok {
				got[f[0]] = f[1]
			}
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("summary: %s %q, want %q\n%s", k, got[k], v, out)
		}
	}
}
