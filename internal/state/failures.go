package state

import (
	"github.com/coworkdocs/syncd/internal/httpx"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxErrorBytes bounds Failure.LastError: API error bodies can be large and
// the whole record is rewritten on every attempt.
const MaxErrorBytes = 1000

// Failure tracks a file that keeps failing. It lives in the `failures` bucket
// while backing off and in `parked` once Attempts reached the maximum.
type Failure struct {
	NexudusID   int64     `json:"nexudus_id"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error"`
	// UpdatedOn is the Nexudus UpdatedOn that failed; a newer one un-parks
	// the file (the engine decides, RecordFailure restarts the count).
	UpdatedOn   time.Time `json:"updated_on"`
	Parked      bool      `json:"parked"`
	FirstFailed time.Time `json:"first_failed"`
	// Unavailable counts tries in a row that failed because an API or the
	// local disk was down: they set the next attempt but never count toward
	// parking (guarantee 5).
	Unavailable int `json:"unavailable,omitempty"`
}

// RecordFailure counts one more failed attempt for a file, in one
// transaction. The count restarts when updatedOn differs from the recorded
// one (the file changed in Nexudus, so it deserves fresh attempts, even if
// parked). NextAttempt is now+backoff(attempts); once attempts reaches
// maxAttempts (when positive) the record moves from `failures` to `parked`.
// The file's mapping is left alone; its intent is dropped once it is parked,
// since a parked file creates nothing until it changes or is retried, and a
// later attempt looks CoreData up again before any create.
func (s *Store) RecordFailure(id int64, updatedOn time.Time, msg string, now time.Time, maxAttempts int, backoff func(attempts int) time.Duration) (Failure, error) {
	if err := checkID(id); err != nil {
		return Failure{}, wrap("record failure", id, err)
	}
	var f Failure
	err := s.update("record failure", id, func(tx *bolt.Tx) error {
		var err error
		f, err = recordFailureTx(tx, id, updatedOn, msg, now, maxAttempts, backoff)
		return err
	})
	if err != nil {
		return Failure{}, err
	}
	return f, nil
}

// RecordUnavailable records a try of a file that failed through nobody's
// fault (an API down, the disk full): the next attempt is now +
// backoff(Unavailable), and Attempts and parking are left as they were, so
// an outage of any length parks nothing. A changed updatedOn starts the
// record afresh, as in RecordFailure.
func (s *Store) RecordUnavailable(id int64, updatedOn time.Time, msg string, now time.Time, backoff func(n int) time.Duration) (Failure, error) {
	if err := checkID(id); err != nil {
		return Failure{}, wrap("record unavailable", id, err)
	}
	var f Failure
	err := s.update("record unavailable", id, func(tx *bolt.Tx) error {
		updatedOn, now := utc(updatedOn), utc(now)
		prev, ok, err := readFailure(tx, id)
		if err != nil {
			return err
		}
		f = Failure{NexudusID: id, UpdatedOn: updatedOn, FirstFailed: now}
		if ok && prev.UpdatedOn.Equal(updatedOn) {
			f = prev
		}
		f.Unavailable++
		var wait time.Duration
		if backoff != nil {
			wait = backoff(f.Unavailable)
		}
		f.NextAttempt = now.Add(wait)
		f.LastError = httpx.Truncate(msg, MaxErrorBytes)
		return moveFailure(tx, f)
	})
	if err != nil {
		return Failure{}, err
	}
	return f, nil
}

// PutMappingWithFailure records a mapping that is not yet right (CoreData
// reported other bytes than were sent) together with a failed attempt, in
// one transaction: the mapping keeps the next attempt on the same CoreData
// file, and the attempt count goes on, so a lasting mismatch is parked.
func (s *Store) PutMappingWithFailure(m Mapping, updatedOn time.Time, msg string, now time.Time, maxAttempts int, backoff func(attempts int) time.Duration) (Failure, error) {
	if err := checkMapping(&m); err != nil {
		return Failure{}, wrap("put mapping with failure", m.NexudusID, err)
	}
	var f Failure
	err := s.update("put mapping with failure", m.NexudusID, func(tx *bolt.Tx) error {
		if err := putMappingTx(tx, m, false); err != nil {
			return err
		}
		var err error
		f, err = recordFailureTx(tx, m.NexudusID, updatedOn, msg, now, maxAttempts, backoff)
		return err
	})
	if err != nil {
		return Failure{}, err
	}
	return f, nil
}

func recordFailureTx(tx *bolt.Tx, id int64, updatedOn time.Time, msg string, now time.Time, maxAttempts int, backoff func(attempts int) time.Duration) (Failure, error) {
	updatedOn, now = utc(updatedOn), utc(now)
	prev, ok, err := readFailure(tx, id)
	if err != nil {
		return Failure{}, err
	}
	f := Failure{NexudusID: id, UpdatedOn: updatedOn, FirstFailed: now}
	if ok && prev.UpdatedOn.Equal(updatedOn) {
		f.Attempts = prev.Attempts
		f.FirstFailed = prev.FirstFailed
	}
	f.Attempts++
	var wait time.Duration
	if backoff != nil {
		wait = backoff(f.Attempts)
	}
	f.NextAttempt = now.Add(wait)
	f.LastError = httpx.Truncate(msg, MaxErrorBytes)
	f.Parked = maxAttempts > 0 && f.Attempts >= maxAttempts
	if f.Parked {
		if err := tx.Bucket(bucketIntents).Delete(idKey(id)); err != nil {
			return Failure{}, err
		}
	}
	return f, moveFailure(tx, f)
}

// moveFailure stores f in the bucket its Parked flag names and removes it
// from the other.
func moveFailure(tx *bolt.Tx, f Failure) error {
	to, from := bucketFailures, bucketParked
	if f.Parked {
		to, from = bucketParked, bucketFailures
	}
	key := idKey(f.NexudusID)
	if err := tx.Bucket(from).Delete(key); err != nil {
		return err
	}
	return putJSON(tx.Bucket(to), key, f)
}

// readFailure looks in `parked` first: if a crash of an older binary ever
// left both, the parked record is the one that must not be lost.
func readFailure(tx *bolt.Tx, id int64) (Failure, bool, error) {
	key := idKey(id)
	for _, b := range [][]byte{bucketParked, bucketFailures} {
		if v := get(tx, b, key); v != nil {
			f, err := decodeFailure(id, v)
			if err != nil {
				return Failure{}, false, err
			}
			// The bucket, not the stored flag, says whether it is parked.
			f.Parked = string(b) == string(bucketParked)
			return f, true, nil
		}
	}
	return Failure{}, false, nil
}

// Failure returns a file's failure record, backing off or parked.
func (s *Store) Failure(id int64) (f Failure, ok bool, err error) {
	err = s.view("failure", id, func(tx *bolt.Tx) error {
		f, ok, err = readFailure(tx, id)
		return err
	})
	return f, ok, err
}

// Failures lists every failure record, backing off and parked, sorted by
// Nexudus id. The engine retries the due ones even when they fall outside the
// poll window.
func (s *Store) Failures() ([]Failure, error) {
	var out []Failure
	err := s.view("list failures", nil, func(tx *bolt.Tx) error {
		seen := map[int64]bool{}
		for _, b := range [][]byte{bucketParked, bucketFailures} {
			parked := string(b) == string(bucketParked)
			err := forEach(tx, b, func(k, v []byte) error {
				id, err := keyID(k)
				if err != nil {
					return err
				}
				if seen[id] {
					return nil
				}
				seen[id] = true
				f, err := decodeFailure(id, v)
				if err != nil {
					return err
				}
				f.Parked = parked
				out = append(out, f)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortByID(out, func(f Failure) int64 { return f.NexudusID })
	return out, nil
}

// RetryNow is `syncd state retry`: the file's attempts and parking are
// cleared and its next attempt is due now. The record is kept rather than
// deleted, because a file older than the poll window is only found again
// through it (the engine fetches due failures by Id).
func (s *Store) RetryNow(id int64, now time.Time) error {
	return s.update("retry", id, func(tx *bolt.Tx) error {
		f, ok, err := readFailure(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		f.Attempts, f.Parked, f.NextAttempt = 0, false, utc(now)
		return moveFailure(tx, f)
	})
}

// RetryAllNow is `syncd state retry -all` (or `-parked` with parkedOnly):
// every failing (or only every parked) file is due now with its attempts
// cleared, in one transaction. It returns how many files it touched.
func (s *Store) RetryAllNow(now time.Time, parkedOnly bool) (int, error) {
	n := 0
	err := s.update("retry all", nil, func(tx *bolt.Tx) error {
		buckets := [][]byte{bucketParked, bucketFailures}
		if parkedOnly {
			buckets = buckets[:1]
		}
		var due []Failure
		for _, b := range buckets {
			err := forEach(tx, b, func(k, v []byte) error {
				id, err := keyID(k)
				if err != nil {
					return err
				}
				f, err := decodeFailure(id, v)
				if err != nil {
					return err
				}
				due = append(due, f)
				return nil
			})
			if err != nil {
				return err
			}
		}
		// Moved after the scan: bbolt cursors must not see their bucket
		// change under them.
		for _, f := range due {
			f.Attempts, f.Parked, f.NextAttempt = 0, false, utc(now)
			if err := moveFailure(tx, f); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	return n, err
}

// ClearFailure forgets a file's attempts and parking altogether (the file
// is gone from Nexudus, or no longer signed).
func (s *Store) ClearFailure(id int64) error {
	return s.update("clear failure", id, func(tx *bolt.Tx) error {
		return deleteKey(tx, idKey(id), bucketFailures, bucketParked)
	})
}

// deleteKey removes key from each of buckets; ErrNotFound when none held it.
func deleteKey(tx *bolt.Tx, key []byte, buckets ...[]byte) error {
	found := false
	for _, b := range buckets {
		bk := tx.Bucket(b)
		if bk.Get(key) == nil {
			continue
		}
		found = true
		if err := bk.Delete(key); err != nil {
			return err
		}
	}
	if !found {
		return ErrNotFound
	}
	return nil
}
