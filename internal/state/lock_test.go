package state

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestProcessLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.db")
	l1, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(LockPath(path))
	if err != nil || string(b) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q, %v", b, err)
	}
	_, err = Lock(path)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: %v", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "held by pid") {
		t.Fatalf("message %q lacks the path or the holder", err)
	}
	// The bbolt file itself stays openable: read-only commands use it
	// between polls.
	st, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := l1.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l1.Unlock(); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
	l2, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	l2.Unlock()
	if _, err := Lock(filepath.Join("/proc/nonexistent-dir", "x.db")); err == nil {
		t.Fatal("Lock in an impossible place succeeded")
	}
}
