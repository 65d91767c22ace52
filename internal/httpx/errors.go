package httpx

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors that a *StatusError unwraps to, so callers can use
// errors.Is without knowing which API answered.
var (
	ErrBadRequest   = errors.New("bad request")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrThrottled    = errors.New("throttled")
	ErrServer       = errors.New("server error")
	ErrTooLarge     = errors.New("too large")
)

// StatusError is a non-success HTTP answer. Excerpt is a short, sanitized
// piece of the body (never the whole body, never a secret-bearing URL).
type StatusError struct {
	API     string // "nexudus", "coredata", "storage"
	Status  int
	Excerpt string
	// Kind is the sentinel the status maps to; Is/Unwrap use it.
	Kind error
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: HTTP %d %s", e.API, e.Status, http.StatusText(e.Status))
	if e.Excerpt != "" {
		msg += ": " + e.Excerpt
	}
	return msg
}

func (e *StatusError) Unwrap() error { return e.Kind }

// KindOf maps an HTTP status to one of the sentinel errors, or nil for a
// status that has no sentinel (for example a 3xx that was not followed).
//
// 409 maps to ErrConflict here; Nexudus uses 409 for throttling, which its
// client decides before calling KindOf.
func KindOf(status int) error {
	switch {
	case status == http.StatusBadRequest:
		return ErrBadRequest
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusNotFound || status == http.StatusGone:
		return ErrNotFound
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		return ErrConflict
	case status == http.StatusTooManyRequests:
		return ErrThrottled
	case status == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case status >= 500:
		return ErrServer
	}
	return nil
}

// NewStatusError builds a StatusError for resp with an excerpt of body.
func NewStatusError(api string, status int, body []byte) *StatusError {
	return &StatusError{API: api, Status: status, Excerpt: Excerpt(body, 200), Kind: KindOf(status)}
}
