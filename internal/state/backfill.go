package state

import (
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// backfillKey holds the one backfill in progress, inside `meta`.
var backfillKey = []byte("backfill")

// BackfillMark is how far a backfill got: every signed file updated from
// From up to Done has been mirrored (or recorded as failing). A backfill run
// again with the same From resumes at Done instead of walking years of
// history again.
type BackfillMark struct {
	From      time.Time `json:"from"`
	Done      time.Time `json:"done"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Backfill returns the mark of the backfill in progress, if any.
func (s *Store) Backfill() (m BackfillMark, ok bool, err error) {
	err = s.view("backfill mark", nil, func(tx *bolt.Tx) error {
		v := get(tx, bucketMeta, backfillKey)
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return &CorruptError{Kind: "backfill", Key: string(backfillKey), Err: err}
		}
		ok = true
		return nil
	})
	return m, ok, err
}

// SetBackfill records a backfill's progress.
func (s *Store) SetBackfill(m BackfillMark) error {
	m.From, m.Done, m.UpdatedAt = utc(m.From), utc(m.Done), utc(m.UpdatedAt)
	return s.update("set backfill mark", nil, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketMeta), backfillKey, m)
	})
}

// ClearBackfill drops the mark once a backfill has completed.
func (s *Store) ClearBackfill() error {
	return s.update("clear backfill mark", nil, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Delete(backfillKey)
	})
}
