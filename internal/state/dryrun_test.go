package state

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A dry run never writes the state file: it reads an existing one, and on
// a first run it neither creates one nor leaves anything behind.
func TestOpenDryRunWritesNothing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "state.db")
	st, closeStore, err := OpenDryRun(missing)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetCursor("all", time.Now()); err != nil {
		t.Fatalf("the dry run's scratch store refused a write: %v", err)
	}
	scratch := st.Path()
	closeStore()
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("a dry run created the state file: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(scratch)); !os.IsNotExist(err) {
		t.Fatalf("the scratch store was left behind: %v", err)
	}

	s := newStore(t)
	path := s.Path()
	s.Close()
	st, closeStore, err = OpenDryRun(path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	if !st.ReadOnly() {
		t.Fatal("an existing state file was opened for writing")
	}
}
