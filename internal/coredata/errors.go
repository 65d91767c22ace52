package coredata

import (
	"errors"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// Sentinels for errors.Is. The status ones are httpx's, so a caller can test
// them without knowing which client answered.
var (
	ErrBadRequest   = httpx.ErrBadRequest
	ErrUnauthorized = httpx.ErrUnauthorized
	ErrForbidden    = httpx.ErrForbidden
	ErrNotFound     = httpx.ErrNotFound
	ErrConflict     = httpx.ErrConflict
	ErrThrottled    = httpx.ErrThrottled
	ErrServer       = httpx.ErrServer

	// ErrURLExpired: storage refused a presigned URL (403), most often
	// because it expired. Ask for a fresh blob and upload again.
	ErrURLExpired = errors.New("presigned URL expired or rejected")

	// ErrOutcomeUnknown: a create or content update may have been applied
	// although no success came back (connection broken after sending, 5xx,
	// timeout, or a 201 without a usable Location). Reconcile before trying
	// again.
	ErrOutcomeUnknown = errors.New("outcome unknown: the request may have been applied")

	// ErrDigestMismatch: CoreData reports another md5 than the one sent.
	ErrDigestMismatch = errors.New("digest mismatch")
)
