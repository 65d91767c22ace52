package state

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// LegalFailure is a text's or register's own failure (guarantee 5): it
// waits out its backoff, and after the configured attempts it is parked
// until its bytes change (MD5 is of the bytes that kept failing).
type LegalFailure struct {
	Tag         string    `json:"tag"`
	MD5         string    `json:"md5"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error"`
	Parked      bool      `json:"parked"`
}

// LegalFailure returns the failure of a tag's file, if any.
func (s *Store) LegalFailure(tag string) (f LegalFailure, ok bool, err error) {
	err = s.view("legal failure", tag, func(tx *bolt.Tx) error {
		v := get(tx, bucketLegalFailures, []byte(tag))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &f); err != nil {
			return &CorruptError{Kind: "legal failure", Key: tag, Err: err}
		}
		ok = true
		return nil
	})
	return f, ok, err
}

// RecordLegalFailure counts one failure of the file's own for these bytes
// (new bytes start the count again), with the backoff of its attempts,
// parking it at maxAttempts.
func (s *Store) RecordLegalFailure(tag, md5, msg string, now time.Time, maxAttempts int, backoff func(int) time.Duration) (LegalFailure, error) {
	var f LegalFailure
	err := s.update("record legal failure", tag, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLegalFailures)
		if v := b.Get([]byte(tag)); v != nil {
			if err := json.Unmarshal(v, &f); err != nil {
				return &CorruptError{Kind: "legal failure", Key: tag, Err: err}
			}
		}
		if f.MD5 != md5 {
			f = LegalFailure{}
		}
		f.Tag, f.MD5, f.LastError = tag, md5, msg
		f.Attempts++
		f.NextAttempt = utc(now.Add(backoff(f.Attempts)))
		f.Parked = f.Attempts >= maxAttempts
		return putJSON(b, []byte(tag), f)
	})
	return f, err
}

// LegalFailures lists the failing and parked texts and registers.
func (s *Store) LegalFailures() ([]LegalFailure, error) {
	var out []LegalFailure
	err := s.view("legal failures", nil, func(tx *bolt.Tx) error {
		return forEach(tx, bucketLegalFailures, func(k, v []byte) error {
			var f LegalFailure
			if err := json.Unmarshal(v, &f); err != nil {
				return &CorruptError{Kind: "legal failure", Key: string(k), Err: err}
			}
			out = append(out, f)
			return nil
		})
	})
	return out, err
}

// clearLegalFailureTx drops a tag's failure: its file was recorded.
func clearLegalFailureTx(tx *bolt.Tx, tag string) error {
	return tx.Bucket(bucketLegalFailures).Delete([]byte(tag))
}
