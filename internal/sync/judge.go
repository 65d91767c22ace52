package sync

import (
	"strings"

	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

// The two rules of decide that need no I/O, exported so that the audit
// (internal/verify) judges a file exactly as a poll would.

// MappingCurrent reports whether a mapping proves a record unchanged
// without downloading it: the record carries an UpdatedOn, and it is the
// one the mapping recorded. A record without one is downloaded and
// compared every time.
func MappingCurrent(m state.Mapping, rec nexudus.File) bool {
	return !rec.UpdatedOn.IsZero() && m.UpdatedOn.Equal(rec.UpdatedOn.Time)
}

// PlanForBytes is the plan once the record's bytes are known: m is its
// CoreData file as known (from the state file, or found in CoreData), md5
// the digest of the bytes, title the one the record should have.
func PlanForBytes(m state.Mapping, md5, title string, found bool) PlanKind {
	switch {
	case !strings.EqualFold(m.MD5, md5):
		return PlanUpdate
	case found:
		return PlanAdopt
	case m.Title != title:
		return PlanRetitle
	}
	return PlanUnchanged
}
