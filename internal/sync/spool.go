package sync

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/coworkdocs/syncd/internal/nexudus"
)

// spool is a downloaded file on local disk. Downloading to disk first
// gives the md5 before anything is uploaded (same bytes: no upload), lets
// an expired presigned URL be retried without downloading again, and keeps
// memory flat whatever the file size.
type spool struct {
	file        *os.File
	size        int64
	md5         string
	contentType string
	signedCopy  bool
}

// download streams f into a temp file, hashing as it goes.
func (e *Engine) download(ctx context.Context, f nexudus.File) (*spool, error) {
	d, err := e.src.Download(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	defer d.Body.Close()
	if e.opt.MaxFileBytes > 0 && d.Length > e.opt.MaxFileBytes {
		return nil, fmt.Errorf("download: %d bytes, over max_file_bytes %d: %w", d.Length, e.opt.MaxFileBytes, nexudus.ErrTooLarge)
	}
	tmp, err := os.CreateTemp(e.opt.TempDir, "syncd-download-*")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	sp := &spool{file: tmp, contentType: d.ContentType, signedCopy: d.FromSignedCopy}
	h := md5.New()
	var src io.Reader = d.Body
	if e.opt.MaxFileBytes > 0 {
		src = io.LimitReader(d.Body, e.opt.MaxFileBytes+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		err = fmt.Errorf("after %d bytes: %w", n, err)
	}
	if err == nil && e.opt.MaxFileBytes > 0 && n > e.opt.MaxFileBytes {
		err = fmt.Errorf("more than max_file_bytes %d: %w", e.opt.MaxFileBytes, nexudus.ErrTooLarge)
	}
	if err == nil && d.Length >= 0 && n != d.Length {
		err = fmt.Errorf("got %d bytes of %d announced: %w", n, d.Length, io.ErrUnexpectedEOF)
	}
	if err != nil {
		sp.close()
		return nil, fmt.Errorf("download: %w", err)
	}
	sp.size = n
	sp.md5 = hex.EncodeToString(h.Sum(nil))
	if d.CloseDelimited {
		// Neither a length nor chunked framing: a cut connection reads as
		// a clean end. Only the same bytes twice prove the file whole.
		if err := e.confirm(ctx, f, sp); err != nil {
			sp.close()
			return nil, err
		}
	}
	return sp, nil
}

// confirm downloads f again and compares it with sp.
func (e *Engine) confirm(ctx context.Context, f nexudus.File, sp *spool) error {
	d, err := e.src.Download(ctx, f)
	if err != nil {
		return fmt.Errorf("download again to confirm a body without a length: %w", err)
	}
	defer d.Body.Close()
	h := md5.New()
	n, err := io.Copy(h, d.Body)
	if err != nil {
		return fmt.Errorf("download again to confirm a body without a length: after %d bytes: %w", n, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != sp.size || sum != sp.md5 {
		return fmt.Errorf("download: a body without a length came back different (%d bytes, then %d): %w", sp.size, n, io.ErrUnexpectedEOF)
	}
	return nil
}

// rewind positions the spool at its start for an upload.
func (s *spool) rewind() error {
	_, err := s.file.Seek(0, io.SeekStart)
	return err
}

func (s *spool) close() {
	if s == nil || s.file == nil {
		return
	}
	name := s.file.Name()
	s.file.Close()
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Nothing to do beyond not failing the file: the temp dir is
		// cleaned by the system.
		_ = err
	}
	s.file = nil
}
