package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The mapping record as schema 2 wrote it, still read: a read-only open
// of a schema 2 file finds its mappings in this form (the migration to
// schema 3 rewrites them, but only a read-write open migrates).
//
//	byte     mappingV1 (never '{': a record that starts with '{' is the
//	         JSON of schema 0 and 1, still read as such)
//	varint   NexudusID, Size
//	varint   UpdatedOn: Unix seconds; uvarint: nanoseconds
//	varint   SyncedAt: Unix seconds; uvarint: nanoseconds
//	uvarint  the byte lengths of CoreDataID, MD5, SnapshotID, Title,
//	         Parent, Filename
//	bytes    those six strings, back to back, and nothing after them
//
// The zero time is written as Unix seconds of time.Time{} and nanoseconds
// 0, and read back as time.Time{}.
const mappingV1 byte = 1

// mappingStrings is the number of string fields of the binary forms.
const mappingStrings = 6

var errShortMapping = errors.New("binary mapping: truncated")

func decodeMappingV1(data []byte, m *Mapping) error {
	r := reader{b: data[1:]}
	m.NexudusID = r.varint()
	m.Size = r.varint()
	m.UpdatedOn = r.time()
	m.SyncedAt = r.time()
	var lens [mappingStrings]uint64
	total := uint64(0)
	for i := range lens {
		lens[i] = r.uvarint()
		total += lens[i] // no overflow: each is checked against len(data) below
		if lens[i] > uint64(len(data)) {
			return fmt.Errorf("binary mapping: string %d of %d bytes in a record of %d", i+1, lens[i], len(data))
		}
	}
	if r.err != nil {
		return r.err
	}
	if total != uint64(len(r.b)) {
		return fmt.Errorf("binary mapping: strings of %d bytes, %d left in the record", total, len(r.b))
	}
	all := string(r.b) // the one copy out of bbolt's memory
	strs := [mappingStrings]*string{&m.CoreDataID, &m.MD5, &m.SnapshotID, &m.Title, &m.Parent, &m.Filename}
	off := uint64(0)
	for i, p := range strs {
		*p = all[off : off+lens[i]]
		off += lens[i]
	}
	return nil
}

// reader reads varints and remembers the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShortMapping
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShortMapping
		return 0
	}
	r.b = r.b[n:]
	return v
}

var (
	// zeroUnix is time.Time{}.Unix().
	zeroUnix = time.Time{}.Unix()
	// minUnix and maxUnix bound the times JSON can write (years 0 to
	// 9999), which `state ls -json` must: checkMapping refuses others.
	minUnix = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix() - 1
)

// time reads the v1 form of a time: Unix seconds and nanoseconds.
func (r *reader) time() time.Time {
	sec := r.varint()
	nsec := r.uvarint()
	if r.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		r.err = fmt.Errorf("binary mapping: %d nanoseconds", nsec)
		return time.Time{}
	}
	if sec == zeroUnix && nsec == 0 {
		return time.Time{}
	}
	return r.unix(sec, int64(nsec))
}

// unix is the time of sec and nsec (below 1e9), within the years JSON
// can write.
func (r *reader) unix(sec, nsec int64) time.Time {
	if sec < minUnix || sec > maxUnix {
		r.err = fmt.Errorf("binary mapping: time of %d Unix seconds, outside years 0 to 9999", sec)
		return time.Time{}
	}
	return time.Unix(sec, nsec).UTC()
}

// decodeMappingJSON reads the form of schema 0 and 1. json.Unmarshal
// copies every string.
// (Its own variable: one that json.Unmarshal sees escapes to the heap,
// and the binary path would pay for that too.)
func decodeMappingJSON(data []byte) (Mapping, error) {
	var m Mapping
	err := json.Unmarshal(data, &m)
	return m, err
}
