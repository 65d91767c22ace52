package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the file to w from a read transaction,
// so the daemon keeps running (and writing) meanwhile. It returns the bytes
// written; cancelling ctx stops it at the next write.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("state: backup %s: %w", s.path, err)
	}
	var n int64
	cw := &ctxWriter{ctx: ctx, w: w}
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(cw)
		return err
	})
	if cw.err != nil {
		// bbolt flattens the writer's error to text for the meta pages;
		// keep it matchable (context.Canceled, ENOSPC).
		err = cw.err
	}
	if err != nil {
		return n, fmt.Errorf("state: backup %s: %w", s.path, err)
	}
	return n, nil
}

// ctxWriter stops a backup once ctx is done and remembers the first error.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
	err error
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if c.err == nil {
		c.err = c.ctx.Err()
	}
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.err = err
	return n, err
}

// BackupFile writes a backup to path atomically: to path+".tmp" (0600),
// fsynced, then renamed, so path is either the old backup or a whole new one.
func (s *Store) BackupFile(ctx context.Context, path string) (err error) {
	if same, _ := samePath(path, s.path); same {
		return fmt.Errorf("state: backup %s: refusing to overwrite the live state file: %w", path, ErrInvalid)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("state: backup %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	// A leftover tmp file keeps its old mode through O_TRUNC.
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("state: backup %s: %w", path, err)
	}
	if _, err := s.Backup(ctx, f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("state: backup %s: fsync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state: backup %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("state: backup %s: %w", path, err)
	}
	// The rename is durable only once the directory entry is on disk.
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("state: backup %s: fsync dir: %w", path, err)
	}
	return nil
}

func samePath(a, b string) (bool, error) {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb), nil
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	if err := errors.Join(errA, errB); err != nil {
		return false, err
	}
	return absA == absB, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
