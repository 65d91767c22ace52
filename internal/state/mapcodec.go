package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The mapping record, binary form (schema 2 on). A poll over mapped records
// reads one mapping per record listed, so its decoding is on the hot path:
// JSON took 9 µs and 21 allocations a read, this form well under a
// microsecond and one allocation.
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

// mappingStrings is the number of string fields of the binary form.
const mappingStrings = 6

// appendMapping appends the binary form of m (normalized by checkMapping:
// times in UTC) to buf.
func appendMapping(buf []byte, m *Mapping) []byte {
	strs := [mappingStrings]string{m.CoreDataID, m.MD5, m.SnapshotID, m.Title, m.Parent, m.Filename}
	buf = append(buf, mappingV1)
	buf = binary.AppendVarint(buf, m.NexudusID)
	buf = binary.AppendVarint(buf, m.Size)
	buf = appendTime(buf, m.UpdatedOn)
	buf = appendTime(buf, m.SyncedAt)
	for _, s := range strs {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
	}
	for _, s := range strs {
		buf = append(buf, s...)
	}
	return buf
}

func appendTime(buf []byte, t time.Time) []byte {
	buf = binary.AppendVarint(buf, t.Unix())
	return binary.AppendUvarint(buf, uint64(t.Nanosecond()))
}

// encodeMapping is the value PutMapping stores.
func encodeMapping(m *Mapping) []byte {
	n := 1 + 4*binary.MaxVarintLen64 + mappingStrings*binary.MaxVarintLen32 +
		len(m.CoreDataID) + len(m.MD5) + len(m.SnapshotID) + len(m.Title) + len(m.Parent) + len(m.Filename)
	return appendMapping(make([]byte, 0, n), m)
}

// decodeMapping reads a stored mapping in either form: JSON (what schema 0
// and 1 wrote, and what a file restored from an older backup holds) or
// binary. It never keeps data, which bbolt owns only for the transaction:
// every string is copied (the binary form copies them all at once, into
// one string that the fields share).
func decodeMapping(id int64, data []byte) (Mapping, error) {
	var (
		m   Mapping
		err error
	)
	if len(data) > 0 && data[0] == '{' {
		m, err = decodeMappingJSON(data)
	} else {
		err = decodeMappingBinary(data, &m)
	}
	if err != nil {
		return Mapping{}, corrupt("mapping", id, err)
	}
	if m.NexudusID != id {
		return Mapping{}, corrupt("mapping", id, fmt.Errorf("record holds nexudus id %d", m.NexudusID))
	}
	if m.CoreDataID == "" {
		return Mapping{}, corrupt("mapping", id, errors.New("empty coredata id"))
	}
	return m, nil
}

var errShortMapping = errors.New("binary mapping: truncated")

func decodeMappingBinary(data []byte, m *Mapping) error {
	if len(data) == 0 {
		return errors.New("empty record")
	}
	if data[0] != mappingV1 {
		return fmt.Errorf("binary mapping: unknown version byte %#x", data[0])
	}
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
	if sec < minUnix || sec > maxUnix {
		r.err = fmt.Errorf("binary mapping: time of %d Unix seconds, outside years 0 to 9999", sec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
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
