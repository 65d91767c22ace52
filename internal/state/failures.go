package state

import (
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
}

// RecordFailure counts one more failed attempt for a file, in one
// transaction. The count restarts when updatedOn differs from the recorded
// one (the file changed in Nexudus, so it deserves fresh attempts, even if
// parked). NextAttempt is now+backoff(attempts); once attempts reaches
// maxAttempts (when positive) the record moves from `failures` to `parked`.
// The file's mapping and intent are left alone.
func (s *Store) RecordFailure(id int64, updatedOn time.Time, msg string, now time.Time, maxAttempts int, backoff func(attempts int) time.Duration) (Failure, error) {
	if err := checkID(id); err != nil {
		return Failure{}, wrap("record failure", id, err)
	}
	updatedOn, now = utc(updatedOn), utc(now)
	var f Failure
	err := s.update("record failure", id, func(tx *bolt.Tx) error {
		prev, ok, err := readFailure(tx, id)
		if err != nil {
			return err
		}
		f = Failure{NexudusID: id, UpdatedOn: updatedOn, FirstFailed: now}
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
		f.LastError = truncate(msg, MaxErrorBytes)
		f.Parked = maxAttempts > 0 && f.Attempts >= maxAttempts

		to, from := bucketFailures, bucketParked
		if f.Parked {
			to, from = bucketParked, bucketFailures
		}
		key := idKey(id)
		if err := tx.Bucket(from).Delete(key); err != nil {
			return err
		}
		return putJSON(tx.Bucket(to), key, f)
	})
	if err != nil {
		return Failure{}, err
	}
	return f, nil
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

// ClearFailure is `syncd state retry`: it forgets the attempts and the
// parking so that the next poll tries the file at once.
func (s *Store) ClearFailure(id int64) error {
	return s.update("clear failure", id, func(tx *bolt.Tx) error {
		key := idKey(id)
		found := false
		for _, b := range [][]byte{bucketFailures, bucketParked} {
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
	})
}
