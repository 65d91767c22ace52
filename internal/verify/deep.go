package verify

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/coworkdocs/syncd/internal/nexudus"
)

// hashDownload streams f's bytes (the signed copy when it has one, as the
// engine downloads) through md5; nothing is held in memory or written to
// disk. More than maxBytes fails, as it does for the engine.
func hashDownload(ctx context.Context, src Source, f nexudus.File, maxBytes int64) (sum string, closeDelimited bool, err error) {
	d, err := src.Download(ctx, f)
	if err != nil {
		return "", false, err
	}
	defer d.Body.Close()
	if maxBytes > 0 && d.Length > maxBytes {
		return "", false, fmt.Errorf("%d bytes, over max_file_bytes %d: %w", d.Length, maxBytes, nexudus.ErrTooLarge)
	}
	var body io.Reader = d.Body
	if maxBytes > 0 {
		body = io.LimitReader(d.Body, maxBytes+1)
	}
	h := md5.New()
	n, err := io.Copy(h, body)
	switch {
	case err != nil:
		return "", false, fmt.Errorf("after %d bytes: %w", n, err)
	case maxBytes > 0 && n > maxBytes:
		return "", false, fmt.Errorf("more than max_file_bytes %d: %w", maxBytes, nexudus.ErrTooLarge)
	case d.Length >= 0 && n != d.Length:
		return "", false, fmt.Errorf("got %d bytes of %d announced: %w", n, d.Length, io.ErrUnexpectedEOF)
	}
	return hex.EncodeToString(h.Sum(nil)), d.CloseDelimited, nil
}

// deepMD5 is the md5 of f's Nexudus bytes. A body with neither a length
// nor chunked framing could have been cut short without an error; when
// its md5 does not match want, it is downloaded again, and only the same
// md5 twice is trusted (the engine confirms such bodies the same way).
func deepMD5(ctx context.Context, src Source, f nexudus.File, maxBytes int64, want string) (string, error) {
	sum, closeDelimited, err := hashDownload(ctx, src, f, maxBytes)
	if err != nil || !closeDelimited || sum == lower(want) {
		return sum, err
	}
	again, _, err := hashDownload(ctx, src, f, maxBytes)
	if err != nil {
		return "", fmt.Errorf("download again to confirm a body without a length: %w", err)
	}
	if again != sum {
		return "", fmt.Errorf("a body without a length came back different (md5 %s, then %s): %w", sum, again, io.ErrUnexpectedEOF)
	}
	return sum, nil
}
