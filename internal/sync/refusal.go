package sync

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	gosync "sync"

	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/httpx"
)

// A refusal that CoreData gives every file of a parent alike is the
// parent's fault, not the files': the API user lost write permission on
// the folder (403), the folder was deleted (404), or CoreData rejects the
// parent or the configured dynatype (400 naming it). Counted against each
// file it would park them all, after downloading and uploading each one
// for nothing, and they would stay parked once an admin fixed it. So the
// first such answer stops that parent's creates for the rest of the run,
// is said once (log, metric), and no file is counted or parked: the files
// stay unmirrored, the cursor holds before them, and the next poll tries
// the parent again (docs/design.md#whose-fault).

// errParentRefused marks a file not tried because its parent is refused.
var errParentRefused = errors.New("CoreData refuses this parent")

// Reasons of a parent refusal, the values of the reason label.
const (
	reasonForbidden = "forbidden"
	reasonNotFound  = "not_found"
	reasonInvalid   = "invalid"
)

// parentRefusal says whether err, an answer to a create under a parent or
// a listing of it, refuses the parent itself, and why.
func parentRefusal(err error) (string, bool) {
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.API != "coredata" {
		return "", false
	}
	switch se.Status {
	case http.StatusForbidden:
		return reasonForbidden, true
	case http.StatusNotFound:
		return reasonNotFound, true
	case http.StatusBadRequest:
		// A 400 about the file itself (its title, its blob) stays the
		// file's; one naming the parent or the dynatype is everyone's.
		msg := strings.ToLower(se.Excerpt)
		if strings.Contains(msg, "parent") || strings.Contains(msg, "dynatype") {
			return reasonInvalid, true
		}
	}
	return "", false
}

// refusals are the parents refused in one run.
type refusals struct {
	mu       gosync.Mutex
	byParent map[string]error
}

// refused returns the error a parent was refused with in this run.
func (rs *refusals) refused(parent string) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.byParent[parent]
}

func (rs *refusals) count() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return len(rs.byParent)
}

// checkParentRefusal turns err into errParentRefused when it refuses the
// parent, noting the parent (and saying so once per run) the first time.
func (e *Engine) checkParentRefusal(r *run, parent string, err error) error {
	reason, ok := parentRefusal(err)
	if !ok {
		return err
	}
	r.refusals.mu.Lock()
	first := r.refusals.byParent[parent] == nil
	if first {
		if r.refusals.byParent == nil {
			r.refusals.byParent = map[string]error{}
		}
		r.refusals.byParent[parent] = err
	}
	r.refusals.mu.Unlock()
	if first {
		e.log.Error("CoreData refuses this parent: no file is created under it in this poll, none is counted as failed; the next poll tries again (check the API user's permission on the folder, that it exists, and coredata.dynatype)",
			zap.String("parent", parent), zap.String("reason", reason), zap.Error(err))
		e.m.parentRefused(reason)
	}
	return fmt.Errorf("%w %s (%s): %w", errParentRefused, parent, reason, err)
}
