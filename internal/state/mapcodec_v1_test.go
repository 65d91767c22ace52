package state

import (
	"encoding/binary"
	"time"
)

// encodeMappingV1 is the binary form schema 2 wrote (the appendMapping of
// that schema, kept to make its records in tests: syncd writes it no more).
func encodeMappingV1(m *Mapping) []byte {
	strs := mappingStringsOf(m)
	buf := []byte{mappingV1}
	buf = binary.AppendVarint(buf, m.NexudusID)
	buf = binary.AppendVarint(buf, m.Size)
	buf = appendTimeV1(buf, m.UpdatedOn)
	buf = appendTimeV1(buf, m.SyncedAt)
	for _, s := range strs {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
	}
	for _, s := range strs {
		buf = append(buf, s...)
	}
	return buf
}

func appendTimeV1(buf []byte, t time.Time) []byte {
	buf = binary.AppendVarint(buf, t.Unix())
	return binary.AppendUvarint(buf, uint64(t.Nanosecond()))
}
