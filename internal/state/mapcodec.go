package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coworkdocs/syncd/internal/packid"
)

// The mapping record, binary form of schema 3. A poll over mapped records
// reads one mapping per record listed, so its decoding is on the hot path
// (well under a microsecond, one allocation); and every reachable page of
// the file counts in the peak RSS of a read-write open, which walks them
// all (NoFreelistSync), so the record is as small as it can be while any
// string still round-trips exactly:
//
//	byte     mappingV2 (never '{' nor mappingV1: those are the JSON of
//	         schemas 0 and 1 and the binary form of schema 2, still read)
//	byte     flags: which ids are packed (flagPacked*) and which times
//	         are present (flagHas*)
//	varint   Size
//	time     UpdatedOn, if present; then SyncedAt, if present: varint
//	         Unix seconds, uvarint sub-second (see appendCompactTime)
//	uvarint  the byte lengths of the strings that are not packed, in the
//	         order CoreDataID, MD5, SnapshotID, Title, Parent, Filename
//	bytes    those six fields in that order: 16 bytes for a packed one,
//	         the string's bytes for another; nothing after them
//
// The Nexudus id is not in the value: the record's key is that id.
// A zero time is absent, which is what `state rebuild` writes (CoreData
// knows neither time): 14 bytes fewer than schema 2's form of it.
const mappingV2 byte = 2

// The flags byte of mappingV2.
const (
	flagPackedCoreDataID = 1 << iota // a canonical UUID (packid.go)
	flagPackedMD5                    // 32 lowercase hex digits
	flagPackedSnapshotID             // a canonical UUID
	flagPackedParent                 // a canonical UUID
	flagHasUpdatedOn
	flagHasSyncedAt

	flagsKnown = 1<<iota - 1
)

// mappingField is one string field of a mapping and the flag that says
// it is packed (0: never packed, and flags&0 is never set).
type mappingField struct {
	flag byte
	md5  bool // packed as an md5 digest, not as a UUID
}

// mappingFields are the six string fields, in the order they are stored.
var mappingFields = [mappingStrings]mappingField{
	{flag: flagPackedCoreDataID},
	{flag: flagPackedMD5, md5: true},
	{flag: flagPackedSnapshotID},
	{},
	{flag: flagPackedParent},
	{},
}

func mappingStringsOf(m *Mapping) [mappingStrings]string {
	return [mappingStrings]string{m.CoreDataID, m.MD5, m.SnapshotID, m.Title, m.Parent, m.Filename}
}

// appendMapping appends the binary form of m (normalized by checkMapping:
// times in UTC) to buf.
func appendMapping(buf []byte, m *Mapping) []byte {
	strs := mappingStringsOf(m)
	var packed [mappingStrings][packid.Len]byte
	flags := byte(0)
	for i, f := range mappingFields {
		if f.flag == 0 {
			continue
		}
		var ok bool
		if f.md5 {
			packed[i], ok = packid.MD5(strs[i])
		} else {
			packed[i], ok = packid.UUID(strs[i])
		}
		if ok {
			flags |= f.flag
		}
	}
	if !m.UpdatedOn.IsZero() {
		flags |= flagHasUpdatedOn
	}
	if !m.SyncedAt.IsZero() {
		flags |= flagHasSyncedAt
	}
	buf = append(buf, mappingV2, flags)
	buf = binary.AppendVarint(buf, m.Size)
	if flags&flagHasUpdatedOn != 0 {
		buf = appendCompactTime(buf, m.UpdatedOn)
	}
	if flags&flagHasSyncedAt != 0 {
		buf = appendCompactTime(buf, m.SyncedAt)
	}
	for i, f := range mappingFields {
		if flags&f.flag == 0 {
			buf = binary.AppendUvarint(buf, uint64(len(strs[i])))
		}
	}
	for i, f := range mappingFields {
		if flags&f.flag != 0 {
			buf = append(buf, packed[i][:]...)
		} else {
			buf = append(buf, strs[i]...)
		}
	}
	return buf
}

// The sub-second part of a compact time is a unit in its two low bits and
// a count of that unit above them: Nexudus dates to the millisecond (2
// bytes instead of the 5 of nanoseconds), syncd's clock to the nanosecond.
const (
	subWhole = iota // no sub-second part; the count is 0
	subMilli
	subMicro
	subNano
)

// appendCompactTime appends a non-zero time: Unix seconds, then its
// sub-second part in the coarsest unit that holds it exactly.
func appendCompactTime(buf []byte, t time.Time) []byte {
	buf = binary.AppendVarint(buf, t.Unix())
	ns := uint64(t.Nanosecond())
	var sub uint64
	switch {
	case ns == 0:
		sub = subWhole
	case ns%1e6 == 0:
		sub = ns/1e6<<2 | subMilli
	case ns%1e3 == 0:
		sub = ns/1e3<<2 | subMicro
	default:
		sub = ns<<2 | subNano
	}
	return binary.AppendUvarint(buf, sub)
}

// compactTime reads what appendCompactTime wrote.
func (r *reader) compactTime() time.Time {
	sec := r.varint()
	sub := r.uvarint()
	if r.err != nil {
		return time.Time{}
	}
	n, unit := sub>>2, sub&3
	var ns uint64
	switch {
	case unit == subWhole && n == 0:
	case unit == subMilli && n < 1e3:
		ns = n * 1e6
	case unit == subMicro && n < 1e6:
		ns = n * 1e3
	case unit == subNano && n < 1e9:
		ns = n
	default:
		r.err = fmt.Errorf("binary mapping: sub-second part %d of unit %d", n, unit)
		return time.Time{}
	}
	return r.unix(sec, int64(ns))
}

// maxMappingLen bounds the length of m's binary form.
func maxMappingLen(m *Mapping) int {
	return 2 + 5*binary.MaxVarintLen64 + mappingStrings*binary.MaxVarintLen64 +
		len(m.CoreDataID) + len(m.MD5) + len(m.SnapshotID) + len(m.Title) + len(m.Parent) + len(m.Filename)
}

// encodeMapping is the value PutMapping stores.
func encodeMapping(m *Mapping) []byte {
	return appendMapping(make([]byte, 0, maxMappingLen(m)), m)
}

// decodeMapping reads a stored mapping in any form: JSON (what schemas 0
// and 1 wrote, and what a file restored from an older backup holds), the
// binary form of schema 2, or the current one. It never keeps data, which
// bbolt owns only for the transaction: every string is copied (the binary
// forms copy them all at once, into one string that the fields share).
func decodeMapping(id int64, data []byte) (Mapping, error) {
	var (
		m   Mapping
		err error
	)
	switch {
	case len(data) == 0:
		err = errors.New("empty record")
	case data[0] == mappingV2:
		m.NexudusID = id
		err = decodeMappingV2(data, &m)
	case data[0] == mappingV1:
		err = decodeMappingV1(data, &m)
	case data[0] == '{':
		m, err = decodeMappingJSON(data)
	default:
		err = fmt.Errorf("binary mapping: unknown version byte %#x", data[0])
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

func decodeMappingV2(data []byte, m *Mapping) error {
	if len(data) < 2 {
		return errShortMapping
	}
	flags := data[1]
	if flags&^flagsKnown != 0 {
		return fmt.Errorf("binary mapping: unknown flags %#x", flags)
	}
	r := reader{b: data[2:]}
	m.Size = r.varint()
	if flags&flagHasUpdatedOn != 0 {
		m.UpdatedOn = r.compactTime()
	}
	if flags&flagHasSyncedAt != 0 {
		m.SyncedAt = r.compactTime()
	}
	// stored is each field's bytes in the record, text its length as a
	// string.
	var stored, text [mappingStrings]uint64
	var total, all uint64
	for i, f := range mappingFields {
		switch {
		case flags&f.flag != 0:
			stored[i], text[i] = packid.Len, packid.UUIDLen
			if f.md5 {
				text[i] = packid.MD5HexLen
			}
		default:
			stored[i] = r.uvarint()
			if stored[i] > uint64(len(data)) {
				return fmt.Errorf("binary mapping: string %d of %d bytes in a record of %d", i+1, stored[i], len(data))
			}
			text[i] = stored[i]
		}
		total += stored[i] // no overflow: each is at most len(data)
		all += text[i]
	}
	if r.err != nil {
		return r.err
	}
	if total != uint64(len(r.b)) {
		return fmt.Errorf("binary mapping: strings of %d bytes, %d left in the record", total, len(r.b))
	}
	// The one copy out of bbolt's memory: every field, unpacked, into
	// one string that they share.
	var sb strings.Builder
	sb.Grow(int(all))
	var tmp [packid.UUIDLen]byte
	off := uint64(0)
	for i, f := range mappingFields {
		b := r.b[off : off+stored[i]]
		off += stored[i]
		switch {
		case flags&f.flag == 0:
			sb.Write(b)
		case f.md5:
			sb.Write(packid.AppendHex(tmp[:0], b))
		default:
			sb.Write(packid.AppendUUID(tmp[:0], b))
		}
	}
	s := sb.String()
	strs := [mappingStrings]*string{&m.CoreDataID, &m.MD5, &m.SnapshotID, &m.Title, &m.Parent, &m.Filename}
	off = 0
	for i, p := range strs {
		*p = s[off : off+text[i]]
		off += text[i]
	}
	return nil
}
