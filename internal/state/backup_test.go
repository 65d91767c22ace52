package state

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestBackup(t *testing.T) {
	s := newStore(t)
	fillEntries(t, s)
	if err := s.SetCursor("business-1", t0); err != nil {
		t.Fatal(err)
	}
	want, err := s.Entries()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	var buf bytes.Buffer
	n, err := s.Backup(context.Background(), &buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup = %d, %v (buffer %d)", n, err, buf.Len())
	}
	streamed := filepath.Join(dir, "streamed.db")
	if err := os.WriteFile(streamed, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	filed := filepath.Join(dir, "backup.db")
	if err := s.BackupFile(context.Background(), filed); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filed)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if _, err := os.Stat(filed + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}

	for _, path := range []string{streamed, filed} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b := openTest(t, path, Options{ReadOnly: true})
			got, err := b.Entries()
			if err != nil || !equalJSON(t, got, want) {
				t.Errorf("backup entries = %+v, %v; want %+v", got, err, want)
			}
			if c, ok, err := b.Cursor("business-1"); !ok || err != nil || !c.Equal(t0) {
				t.Errorf("backup cursor = %v, %v, %v", c, ok, err)
			}
			if owner, ok, _ := b.Owner("cd-7"); !ok || owner != 7 {
				t.Errorf("backup owner of cd-7 = %d, %v", owner, ok)
			}
		})
	}

	// The store stayed open and writable throughout.
	mustPut(t, s, mapping(50, "cd-50"))
	// A second backup replaces the first whole.
	if err := s.BackupFile(context.Background(), filed); err != nil {
		t.Fatal(err)
	}
	b := openTest(t, filed, Options{ReadOnly: true})
	if _, ok, err := b.Mapping(50); !ok || err != nil {
		t.Errorf("second backup misses mapping 50: %v, %v", ok, err)
	}
}

func TestBackupErrors(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, mapping(1, "cd-1"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()

	if _, err := s.Backup(cancelled, &bytes.Buffer{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Backup(cancelled) = %v", err)
	}
	cases := []struct {
		name string
		ctx  context.Context
		path string
		want error
	}{
		{"cancelled", cancelled, filepath.Join(dir, "c.db"), context.Canceled},
		{"the live file", context.Background(), s.Path(), ErrInvalid},
		{"missing directory", context.Background(), filepath.Join(dir, "nope", "b.db"), os.ErrNotExist},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.BackupFile(c.ctx, c.path)
			if !errors.Is(err, c.want) {
				t.Fatalf("BackupFile = %v, want %v", err, c.want)
			}
			for _, p := range []string{c.path + ".tmp"} {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left behind", p)
				}
			}
		})
	}
	if _, ok, err := s.Mapping(1); !ok || err != nil {
		t.Errorf("live store damaged: %v, %v", ok, err)
	}
}

// A writer that fails mid-copy must surface as an error, not a short backup.
func TestBackupWriterError(t *testing.T) {
	s := newStore(t)
	errFull := errors.New("no space left on device")
	if _, err := s.Backup(context.Background(), failWriter{errFull}); !errors.Is(err, errFull) {
		t.Errorf("Backup = %v, want %v", err, errFull)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }
