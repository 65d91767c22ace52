package state

import (
	"os"
	"path/filepath"
	"time"
)

// dryRunWait is how long a dry run waits for a poll holding the file.
const dryRunWait = 10 * time.Second

// OpenDryRun opens the state at path for a dry run, which must never write
// it: read-only when the file exists, else an empty store in a temporary
// directory (a first run's dry run). The returned func closes the store and
// removes what it made.
func OpenDryRun(path string) (*Store, func(), error) {
	if _, err := os.Stat(path); err == nil {
		st, err := Open(path, Options{ReadOnly: true, Timeout: dryRunWait})
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	}
	dir, err := os.MkdirTemp("", "syncd-dry-run-*")
	if err != nil {
		return nil, nil, wrap("open dry run", nil, err)
	}
	st, err := Open(filepath.Join(dir, "state.db"), Options{NoSync: true})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return st, func() { st.Close(); os.RemoveAll(dir) }, nil
}
