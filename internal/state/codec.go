package state

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrCorrupt is matched by every *CorruptError.
var ErrCorrupt = errors.New("corrupt record")

// CorruptError reports a stored value that cannot be decoded. It names the
// bucket and the key so that `syncd state forget ID` can remove it.
type CorruptError struct {
	Kind string // "mapping", "intent", "failure", "owner", "cursor", "schema"
	Key  string // the Nexudus id, CoreData id or meta key
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state: decode %s %s: %v", e.Kind, e.Key, e.Err)
}

// Unwrap exposes both ErrCorrupt and the decoder's own error.
func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

func corrupt(kind string, id int64, err error) error {
	return &CorruptError{Kind: kind, Key: fmt.Sprint(id), Err: err}
}

// idKey is big-endian so that bbolt's byte order is numeric order.
func idKey(id int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return b[:]
}

func keyID(k []byte) (int64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("%w: key of %d bytes, want 8", ErrCorrupt, len(k))
	}
	return int64(binary.BigEndian.Uint64(k)), nil
}

func checkID(id int64) error {
	if id <= 0 {
		return fmt.Errorf("%w: nexudus id must be positive", ErrInvalid)
	}
	return nil
}

func decodeIntent(id int64, data []byte) (Intent, error) {
	var in Intent
	if err := json.Unmarshal(data, &in); err != nil {
		return Intent{}, corrupt("intent", id, err)
	}
	if in.NexudusID != id {
		return Intent{}, corrupt("intent", id, fmt.Errorf("record holds nexudus id %d", in.NexudusID))
	}
	return in, nil
}

func decodeFailure(id int64, data []byte) (Failure, error) {
	var f Failure
	if err := json.Unmarshal(data, &f); err != nil {
		return Failure{}, corrupt("failure", id, err)
	}
	if f.NexudusID != id {
		return Failure{}, corrupt("failure", id, fmt.Errorf("record holds nexudus id %d", f.NexudusID))
	}
	return f, nil
}

// utc normalises a time for storage: UTC, no monotonic reading, and the zero
// time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// timePtr turns the zero time into JSON null for `state ls -json`.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func sortByID[T any](s []T, id func(T) int64) {
	slices.SortFunc(s, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
}
