package sync

import (
	"fmt"
	"strings"

	"github.com/coworkdocs/syncd/internal/state"
)

// AuditStatus is the audit's verdict on one mapped file: what CoreData
// holds against what the state file recorded. It is the one judgement of
// a mapped file; `syncd verify` and the daemon's audit both use it.
type AuditStatus string

// The statuses, in the order of precedence: a file with several problems
// shows the first, and is repaired for each.
const (
	// AuditMissing: the mapped CoreData file is gone (a read by id
	// answered 404).
	AuditMissing AuditStatus = "missing"
	// AuditDrift: CoreData's current digest is not the one syncd recorded
	// (a person uploaded other bytes).
	AuditDrift AuditStatus = "drift"
	// AuditDuplicate: another CoreData file is tagged for the record.
	AuditDuplicate AuditStatus = "duplicate"
	// AuditUntagged: the mapped file lost its nexudus-file-<Id> tag.
	AuditUntagged AuditStatus = "untagged"
	// AuditMoved: the mapped file is under another parent or title than
	// recorded (a person re-filed or renamed it).
	AuditMoved AuditStatus = "moved"
	// AuditOK: none of the above.
	AuditOK AuditStatus = "ok"
)

// AuditStatuses lists every status, ok first (the order of the metric and
// of the status page).
var AuditStatuses = []AuditStatus{AuditOK, AuditMissing, AuditMoved, AuditUntagged, AuditDrift, AuditDuplicate}

// Held is what CoreData shows of one file: from a listing, or a read by
// id.
type Held struct {
	ID, Parent, Title, Digest string
	// Tagged reports whether it carries nexudus-file-<Id> of the record.
	Tagged bool
}

// AuditFinding is one problem of a mapped file.
type AuditFinding struct {
	Status AuditStatus
	Reason string
}

// AuditVerdict is JudgeMapped's answer: the file's problems, most
// important first; none means ok.
type AuditVerdict struct {
	Findings []AuditFinding
}

// Status is the first finding's status, or ok.
func (v AuditVerdict) Status() AuditStatus {
	if len(v.Findings) == 0 {
		return AuditOK
	}
	return v.Findings[0].Status
}

// Has reports whether s is among the findings.
func (v AuditVerdict) Has(s AuditStatus) bool {
	for _, f := range v.Findings {
		if f.Status == s {
			return true
		}
	}
	return false
}

// Reason joins the findings' reasons.
func (v AuditVerdict) Reason() string {
	rs := make([]string, len(v.Findings))
	for i, f := range v.Findings {
		rs[i] = f.Reason
	}
	return strings.Join(rs, "; ")
}

// JudgeMapped judges a mapped file. held is the mapped CoreData file as
// CoreData shows it, nil when a read by id answered 404; others are the
// ids of other CoreData files tagged for the record. It is pure: no I/O,
// no clock.
func JudgeMapped(m state.Mapping, held *Held, others []string) AuditVerdict {
	return judgeFile(fileRef{tag: FileTag(m.NexudusID), coreDataID: m.CoreDataID, md5: m.MD5, parent: m.Parent, title: m.Title}, held, others)
}

// fileRef is what syncd recorded of a file it mirrors, whatever it
// mirrors (a contract, a text, a register): one CoreData file per tag.
type fileRef struct {
	tag, coreDataID, md5, parent, title string
}

// judgeFile is the one judgement of a file syncd recorded.
func judgeFile(m fileRef, held *Held, others []string) AuditVerdict {
	var v AuditVerdict
	add := func(s AuditStatus, format string, args ...any) {
		v.Findings = append(v.Findings, AuditFinding{Status: s, Reason: fmt.Sprintf(format, args...)})
	}
	if held == nil {
		add(AuditMissing, "CoreData file %s, which the state file maps, no longer exists (a read by id answered 404)", m.coreDataID)
		if len(others) > 0 {
			add(AuditDuplicate, "other CoreData files are tagged %s: %s", m.tag, strings.Join(others, ", "))
		}
		return v
	}
	if cd, rec := strings.ToLower(held.Digest), strings.ToLower(m.md5); rec != "" && cd != rec {
		add(AuditDrift, "CoreData's current digest %s is not the %s syncd mirrored (a version uploaded in CoreData)", orNone(cd), rec)
	}
	if len(others) > 0 {
		add(AuditDuplicate, "besides %s, CoreData files %s are tagged %s; syncd keeps writing to %s and deletes none",
			held.ID, strings.Join(others, ", "), m.tag, held.ID)
	}
	if !held.Tagged {
		add(AuditUntagged, "CoreData file %s lost its tag %s", held.ID, m.tag)
	}
	switch {
	case held.Parent != "" && held.Parent != m.parent && held.Title != m.title:
		add(AuditMoved, "CoreData file %s was re-filed from %s to %s and renamed", held.ID, orNone(m.parent), held.Parent)
	case held.Parent != "" && held.Parent != m.parent:
		add(AuditMoved, "CoreData file %s was re-filed from %s to %s", held.ID, orNone(m.parent), held.Parent)
	case held.Title != m.title:
		add(AuditMoved, "CoreData file %s was renamed", held.ID)
	}
	return v
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
