package sync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// SpoolDir makes the directory a run spools downloads to, under base (the
// system's temp dir when empty). It belongs to one state file (its name is
// derived from the state path), so a caller that holds the process lock
// knows that whatever is in it was left by a killed run: it is removed,
// and a process that keeps crashing cannot fill the disk. It returns how
// many leftover files it removed.
func SpoolDir(base, statePath string) (dir string, leftover int, err error) {
	if base == "" {
		base = os.TempDir()
	}
	abs, err := filepath.Abs(statePath)
	if err != nil {
		return "", 0, fmt.Errorf("spool: state path %s: %w", statePath, err)
	}
	sum := sha256.Sum256([]byte(abs))
	dir = filepath.Join(base, "syncd-spool-"+hex.EncodeToString(sum[:6]))
	left, _ := os.ReadDir(dir)
	if err := os.RemoveAll(dir); err != nil {
		return "", 0, fmt.Errorf("spool: clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", 0, fmt.Errorf("spool: %w", err)
	}
	return dir, len(left), nil
}

// DryRunSpoolDir is a fresh spool directory of a dry run, which holds no
// lock and so must not touch the daemon's. The caller removes it.
func DryRunSpoolDir(base string) (string, error) {
	if base == "" {
		base = os.TempDir()
	}
	dir, err := os.MkdirTemp(base, "syncd-dry-run-spool-*")
	if err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	return dir, nil
}
