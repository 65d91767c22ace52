package sync_test

import (
	"os"
	"path/filepath"
	"testing"

	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// A state file's spool directory is the same on every run, and a run
// clears what a killed one left in it.
func TestSpoolDirIsTheStateFilesAndClearsLeftovers(t *testing.T) {
	base := t.TempDir()
	statePath := filepath.Join(t.TempDir(), "state.db")
	dir, left, err := syncer.SpoolDir(base, statePath)
	if err != nil || left != 0 {
		t.Fatalf("first: %s %d %v", dir, left, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "syncd-download-1"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, left, err := syncer.SpoolDir(base, statePath)
	if err != nil || again != dir || left != 1 {
		t.Fatalf("second: %s (first %s) %d %v", again, dir, left, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("leftovers kept: %v", entries)
	}
	other, _, _ := syncer.SpoolDir(base, filepath.Join(t.TempDir(), "other.db"))
	if other == dir {
		t.Fatal("two state files share a spool directory")
	}
	dry, err := syncer.DryRunSpoolDir(base)
	if err != nil || dry == dir {
		t.Fatalf("dry run spool %s %v", dry, err)
	}
}
