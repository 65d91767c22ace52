package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// ProcessLock is held by the one syncd process that may write a state
// file, for as long as it runs. It lives beside the state file (path +
// ".lock") rather than in bbolt's own lock, because the daemon opens the
// bbolt file only while it polls: between polls, read-only commands
// (state ls, show, backup) can open it, while a second daemon or a writing
// command still fails fast.
type ProcessLock struct {
	f    *os.File
	path string
}

// LockPath is the lock file of a state file.
func LockPath(statePath string) string { return statePath + ".lock" }

// Lock takes the process lock of the state file at statePath without
// waiting; ErrLocked when another process holds it.
func Lock(statePath string) (*ProcessLock, error) {
	p := LockPath(statePath)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("state: lock %s: %w", statePath, err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: lock %s: %w", statePath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := ""
			if b, rerr := os.ReadFile(p); rerr == nil && len(b) > 0 {
				holder = " (held by pid " + string(b) + ")"
			}
			return nil, fmt.Errorf("state: open %s: %w%s", statePath, ErrLocked, holder)
		}
		return nil, fmt.Errorf("state: lock %s: %w", statePath, err)
	}
	// The pid is for the operator reading the error above; the lock itself
	// is the flock, which the kernel releases if the process dies.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	return &ProcessLock{f: f, path: p}, nil
}

// Unlock releases the lock.
func (l *ProcessLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing releases the flock
	l.f = nil
	return err
}
