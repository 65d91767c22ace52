package state

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// cursorPrefix namespaces cursors inside `meta`, beside the schema version.
const cursorPrefix = "cursor/"

// Cursor returns the UpdatedOn up to which a location ("all" or
// "business-<id>") has been polled; ok is false before its first poll.
func (s *Store) Cursor(key string) (t time.Time, ok bool, err error) {
	err = s.view("cursor", key, func(tx *bolt.Tx) error {
		v := get(tx, bucketMeta, []byte(cursorPrefix+key))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &t); err != nil {
			return &CorruptError{Kind: "cursor", Key: key, Err: err}
		}
		ok = true
		return nil
	})
	return t, ok, err
}

// SetCursor records how far a location has been polled.
func (s *Store) SetCursor(key string, t time.Time) error {
	if key == "" {
		return wrap("set cursor", `""`, fmt.Errorf("%w: empty cursor key", ErrInvalid))
	}
	return s.update("set cursor", key, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketMeta), []byte(cursorPrefix+key), utc(t))
	})
}

// Cursors returns every cursor by key, for `syncd state ls` and metrics.
func (s *Store) Cursors() (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := s.view("list cursors", nil, func(tx *bolt.Tx) error {
		return forEach(tx, bucketMeta, func(k, v []byte) error {
			key, ok := strings.CutPrefix(string(k), cursorPrefix)
			if !ok {
				return nil
			}
			var t time.Time
			if err := json.Unmarshal(v, &t); err != nil {
				return &CorruptError{Kind: "cursor", Key: key, Err: err}
			}
			out[key] = t
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
