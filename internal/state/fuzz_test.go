package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// FuzzDecodeMapping: a stored value, however damaged, gives an error that
// names the id (so `state forget ID` can fix it) and never a panic or a
// mapping for another file.
func FuzzDecodeMapping(f *testing.F) {
	valid, _ := json.Marshal(mapping(42, "cd-42"))
	f.Add(int64(42), valid)
	f.Fuzz(func(t *testing.T, id int64, data []byte) {
		m, err := decodeMapping(id, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("mapping %d:", id)) {
				t.Fatalf("err = %q, want ErrCorrupt naming mapping %d", err, id)
			}
			if m != (Mapping{}) {
				t.Fatalf("error with a non-zero mapping %+v", m)
			}
			return
		}
		if m.NexudusID != id || m.CoreDataID == "" {
			t.Fatalf("decoded %+v for id %d", m, id)
		}
		// Whatever decodes must survive a store round trip.
		again, err := json.Marshal(m)
		if err != nil {
			return // e.g. a year json cannot write back; not a decode bug
		}
		if _, err := decodeMapping(id, again); err != nil {
			t.Fatalf("re-encoded mapping does not decode: %v", err)
		}
	})
}
