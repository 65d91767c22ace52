package sync

import (
	"time"

	"github.com/coworkdocs/syncd/internal/state"
)

// failureBook is the FailureRecords role with the engine's policy bound: how
// many of a file's own failures park it, and how long a file waits after
// its own failure or after an outage.
type failureBook struct {
	FailureRecords
	maxAttempts        int
	backoff            func(attempts int) time.Duration
	unavailableBackoff func(n int) time.Duration
}

// fileFailed counts a failure of the file itself; a permanent one parks
// it at once.
func (b failureBook) fileFailed(id int64, updatedOn time.Time, msg string, now time.Time, permanent bool) (state.Failure, error) {
	return b.RecordFailure(id, updatedOn, msg, now, b.max(permanent), b.backoff)
}

// mismatched counts a digest mismatch and records, in the same
// transaction, the mapping to the file CoreData holds.
func (b failureBook) mismatched(m state.Mapping, updatedOn time.Time, msg string, now time.Time) (state.Failure, error) {
	return b.PutMappingWithFailure(m, updatedOn, msg, now, b.maxAttempts, b.backoff)
}

// unavailable records a try that failed through nobody's fault.
func (b failureBook) unavailable(id int64, updatedOn time.Time, msg string, now time.Time) (state.Failure, error) {
	return b.RecordUnavailable(id, updatedOn, msg, now, b.unavailableBackoff)
}

func (b failureBook) max(permanent bool) int {
	if permanent {
		return 1
	}
	return b.maxAttempts
}
