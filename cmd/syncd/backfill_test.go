package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/state"
)

// An interrupted backfill is named at every start of a run that is not
// the backfill itself, and by `state ls`, until it is finished or
// abandoned with `state forget -backfill`.
func TestUnfinishedBackfillIsNamedUntilFinishedOrAbandoned(t *testing.T) {
	e := newEnv(t, "")
	e.addSigned(1, "A")
	if err := os.MkdirAll(filepath.Dir(e.state), 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(e.state, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := st.SetBackfill(state.BackfillMark{From: from, Done: from.Add(21 * 24 * time.Hour), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, _, stderr := run(t, "run", "-once", "-config", e.config)
	if code != 0 {
		t.Fatalf("run -once: exit %d\n%s", code, stderr)
	}
	mustContain(t, "run -once stderr", stderr, "backfill unfinished: from 2024-01-01T00:00", "syncd run -backfill-from 2024-01-01T00:00")
	code, stdout, stderr := run(t, "state", "-config", e.config, "ls")
	if code != 0 {
		t.Fatalf("state ls: exit %d\n%s", code, stderr)
	}
	mustContain(t, "state ls", stdout, "backfill unfinished: from 2024-01-01T00:00, done up to 2024-01-22T00:00:00Z")
	code, stdout, stderr = run(t, "state", "-config", e.config, "ls", "-json")
	if code != 0 || strings.Contains(stdout, "backfill") {
		t.Fatalf("state ls -json: exit %d, the notice must go to stderr, not among the objects:\n%s", code, stdout)
	}
	mustContain(t, "state ls -json stderr", stderr, "backfill unfinished")

	if code, stdout, stderr = run(t, "state", "-config", e.config, "forget", "-backfill"); code != 0 {
		t.Fatalf("state forget -backfill: exit %d\n%s", code, stderr)
	}
	mustContain(t, "state forget -backfill", stdout, "backfill from 2024-01-01T00:00 abandoned")
	_, _, stderr = run(t, "run", "-once", "-config", e.config)
	if strings.Contains(stderr, "backfill unfinished") {
		t.Fatalf("an abandoned backfill is still named:\n%s", stderr)
	}
	if _, stdout, _ = run(t, "state", "-config", e.config, "ls"); strings.Contains(stdout, "backfill unfinished") {
		t.Fatalf("state ls names an abandoned backfill:\n%s", stdout)
	}
}
