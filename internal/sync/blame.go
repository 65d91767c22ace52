package sync

import (
	"context"
	"errors"
	"net/http"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/httpx"
	"github.com/coworkdocs/syncd/internal/nexudus"
)

// blame says whose fault a failure is. Only the file's own failures count
// toward max_attempts (guarantee 5): an outage or a full disk must never
// park a file that would have mirrored a minute later.
type blame int

const (
	// blameWorld is an API that is down, throttling or unreachable, or a
	// local fault (disk full, state file unwritable): retried with a capped
	// backoff, never counted, never parked.
	blameWorld blame = iota
	// blameFile is the file's own failure: its download refused with a
	// 4xx, over the size cap, a digest that keeps mismatching, an
	// unreadable record, a 4xx from CoreData on its create or update.
	blameFile
	// blameShutdown is work abandoned because syncd is stopping.
	blameShutdown
)

// Causes of an outage, the values of the syncd_outage* metrics' cause label.
const (
	causeNexudus  = "nexudus"
	causeCoreData = "coredata"
	causeLocal    = "local"
)

// sideError marks which side of the mirror an error came from, so that an
// outage can be named. The engine wraps its Source and Sink so that every
// error they return carries one.
type sideError struct {
	cause string
	err   error
}

func (e *sideError) Error() string { return e.err.Error() }
func (e *sideError) Unwrap() error { return e.err }

// causeOf names the side an error came from; "local" for everything that
// did not come from an API (the spool, the state file).
func causeOf(err error) string {
	var se *sideError
	if errors.As(err, &se) {
		return se.cause
	}
	return causeLocal
}

// classify decides whose fault err is. stopping reports whether syncd is
// shutting down: then nothing is anyone's fault.
func classify(err error, stopping bool) blame {
	switch {
	case stopping:
		return blameShutdown
	case errors.Is(err, errPermanent), errors.Is(err, errDigestMismatch), errors.Is(err, coredata.ErrDigestMismatch),
		errors.Is(err, errUnreadable):
		return blameFile
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// A request timeout (http.Client.Timeout wraps DeadlineExceeded)
		// says the API is slow, not that the file is bad.
		return blameWorld
	}
	var se *httpx.StatusError
	if errors.As(err, &se) {
		return blameOfStatus(se)
	}
	var ve *nexudus.ValidationError
	if errors.As(err, &ve) {
		return blameFile
	}
	return blameWorld
}

// blameOfStatus: a 4xx from an API is about the request, hence the file,
// except the ones that say the client or the server is in trouble.
func blameOfStatus(se *httpx.StatusError) blame {
	if errors.Is(se, httpx.ErrThrottled) || se.Status < 400 || se.Status >= 500 {
		return blameWorld
	}
	switch se.Status {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return blameWorld
	}
	if se.API == "storage" && se.Status != http.StatusRequestEntityTooLarge {
		// A presigned URL refused (expired, clock skew) is the storage
		// backend's business; a fresh URL on a later try fixes it.
		return blameWorld
	}
	return blameFile
}
