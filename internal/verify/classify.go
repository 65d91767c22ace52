package verify

import (
	"fmt"
	"strings"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// Input is everything known about one signed Nexudus file whose location
// has a CoreData parent.
type Input struct {
	Record nexudus.File
	// Mapping is what the state file records for it; nil: nothing.
	Mapping *state.Mapping
	// Tagged are the CoreData files under the configured parents tagged
	// nexudus-file-<Id>, oldest first.
	Tagged []coredata.File
	// Mapped is the CoreData file the mapping names when it is not among
	// Tagged: listed without the tag, or read by id (a person re-filed it
	// elsewhere). nil and not among Tagged: a read by id answered 404.
	Mapped *coredata.File
	// DeepMD5 is the md5 of the downloaded Nexudus bytes; "" when not
	// downloaded (no -deep, or nothing to compare with).
	DeepMD5 string
}

// Verdict is Classify's answer.
type Verdict struct {
	Status Status
	Reason string
	// CoreDataID is the CoreData file the verdict is about ("" when
	// missing or duplicate).
	CoreDataID string
}

// Classify decides the status of one file. It is pure: no I/O, no clock.
//
// A mapped file is judged by the daemon's audit's own rules
// (syncer.JudgeMapped), told in verify's words, then Nexudus' side is
// added (stale), which the audit does not look at:
//
//   - the mapped file gone and nothing else tagged: missing;
//   - gone, and one other file tagged: drift (the next poll adopts it);
//   - two or more files for it: duplicate;
//   - the mapped file without its tag: missing (lookups and `state
//     rebuild` cannot find it; the audit puts the tag back);
//   - re-filed or renamed: judged where it is now, as the audit follows it;
//   - with a downloaded md5: equal to CoreData's digest, ok; else CoreData
//     still holding what syncd recorded means Nexudus moved on (stale),
//     anything else means CoreData changed (drift);
//   - without: CoreData's digest differs from the recorded one, drift;
//     Nexudus' UpdatedOn newer than the mapping's, stale; else ok.
//
// A file with no mapping but exactly one tagged file (a lost or rebuilt
// state file, `state forget`) is what the engine would adopt: ok without
// -deep ("found by tag"), and with -deep ok or stale by its bytes. A
// mapping without a Nexudus time (written by `state rebuild`) proves no
// freshness: ok, and the reason says that -deep compares the bytes.
func Classify(in Input) Verdict {
	if in.Mapping == nil {
		return classifyUnmapped(in)
	}
	return classifyMapped(in)
}

func classifyUnmapped(in Input) Verdict {
	switch len(in.Tagged) {
	case 0:
		return Verdict{Status: StatusMissing, Reason: fmt.Sprintf("no CoreData file under the configured parents is tagged %s", syncer.FileTag(in.Record.ID))}
	case 1:
	default:
		return Verdict{Status: StatusDuplicate, Reason: taggedReason(in)}
	}
	c := in.Tagged[0]
	v := Verdict{CoreDataID: c.ID}
	cdMD5, deep := lower(c.Digest), lower(in.DeepMD5)
	const why = "not in the state file; found by tag"
	switch {
	case deep == "":
		v.Status, v.Reason = StatusOK, why+" (-deep compares its bytes with Nexudus)"
	case deep == cdMD5:
		v.Status, v.Reason = StatusOK, why+"; it holds the Nexudus bytes"
	default:
		v.Status, v.Reason = StatusStale, fmt.Sprintf("%s; Nexudus holds other bytes (md5 %s) than it (%s)", why, deep, orNone(cdMD5))
	}
	return v
}

func classifyMapped(in Input) Verdict {
	m := *in.Mapping
	mapped := mappedFile(in)
	var held *syncer.Held
	if mapped != nil {
		held = &syncer.Held{ID: mapped.ID, Parent: mapped.Parent, Title: mapped.Title, Digest: mapped.Digest, Tagged: hasFileTag(*mapped, in.Record.ID)}
	}
	var others []string
	for _, f := range in.Tagged {
		if f.ID != m.CoreDataID {
			others = append(others, f.ID)
		}
	}
	audit := syncer.JudgeMapped(m, held, others)
	switch {
	case held == nil && len(others) == 1:
		return Verdict{Status: StatusDrift, CoreDataID: others[0], Reason: fmt.Sprintf(
			"the state file maps it to %s, but the CoreData file tagged for it is %s; %s no longer exists (the next poll adopts %s)",
			m.CoreDataID, others[0], m.CoreDataID, others[0])}
	case audit.Has(syncer.AuditDuplicate) && len(in.Tagged) > 1:
		return Verdict{Status: StatusDuplicate, Reason: taggedReason(in) + "; the state file maps " + m.CoreDataID}
	case audit.Has(syncer.AuditDuplicate):
		return Verdict{Status: StatusDuplicate, Reason: audit.Reason()}
	case held == nil:
		return Verdict{Status: StatusMissing, Reason: fmt.Sprintf("no CoreData file is tagged %s: %s; the daemon's audit mirrors it again",
			syncer.FileTag(in.Record.ID), findingReason(audit, syncer.AuditMissing))}
	case audit.Has(syncer.AuditUntagged):
		return Verdict{Status: StatusMissing, CoreDataID: held.ID, Reason: findingReason(audit, syncer.AuditUntagged) +
			"; a lookup or `state rebuild` cannot find it (the daemon's audit puts the tag back)"}
	}
	v := judgeBytes(in, m, held, audit)
	if audit.Has(syncer.AuditMoved) {
		v.Reason = joinReason(findingReason(audit, syncer.AuditMoved)+"; the daemon's audit follows it there", v.Reason)
	}
	return v
}

// judgeBytes judges a mapped file that exists, tagged and alone, by its
// bytes and Nexudus' time.
func judgeBytes(in Input, m state.Mapping, held *syncer.Held, audit syncer.AuditVerdict) Verdict {
	v := Verdict{CoreDataID: held.ID}
	cdMD5, deep, recorded := lower(held.Digest), lower(in.DeepMD5), lower(m.MD5)
	if deep != "" {
		// The bytes against what CoreData holds: a poll's own rule.
		sameBytes := syncer.PlanForBytes(state.Mapping{MD5: cdMD5}, deep, "", false) != syncer.PlanUpdate
		switch {
		case sameBytes:
			v.Status = StatusOK
			if recorded != cdMD5 {
				v.Reason = fmt.Sprintf("CoreData holds the Nexudus bytes; the state file records md5 %s, which the next poll corrects", orNone(recorded))
			}
		case cdMD5 == recorded:
			v.Status, v.Reason = StatusStale, fmt.Sprintf("Nexudus holds newer bytes (md5 %s) than CoreData (%s)", deep, orNone(cdMD5))
		default:
			v.Status, v.Reason = StatusDrift, fmt.Sprintf("CoreData's digest %s is neither the one syncd recorded (%s) nor the Nexudus bytes' (%s)", orNone(cdMD5), orNone(recorded), deep)
		}
		return v
	}
	// A poll downloads the record again exactly when its mapping is not
	// current (syncer.MappingCurrent): then only -deep can say more.
	current := syncer.MappingCurrent(m, in.Record)
	newer := !m.UpdatedOn.IsZero() && in.Record.UpdatedOn.After(m.UpdatedOn)
	switch {
	case audit.Has(syncer.AuditDrift) || (recorded == "" && cdMD5 != ""):
		v.Status, v.Reason = StatusDrift, fmt.Sprintf("CoreData's digest %s is not the one syncd recorded (%s)", orNone(cdMD5), orNone(recorded))
		if newer {
			v.Reason += "; Nexudus was also updated since"
		}
	case current:
		v.Status = StatusOK
	case m.UpdatedOn.IsZero():
		v.Status, v.Reason = StatusOK, "recorded without a Nexudus time (state rebuild); -deep compares its bytes with Nexudus"
	case newer:
		v.Status, v.Reason = StatusStale, fmt.Sprintf("Nexudus updated it at %s, after the version syncd mirrored (%s)",
			fmtTime(in.Record.UpdatedOn.Time), fmtTime(m.UpdatedOn))
	default:
		v.Status, v.Reason = StatusOK, fmt.Sprintf("Nexudus' time (%s) is not the one recorded (%s) but not newer; the next poll compares the bytes, -deep does now",
			fmtTime(in.Record.UpdatedOn.Time), fmtTime(m.UpdatedOn))
	}
	return v
}

// mappedFile is the CoreData file the mapping names: among the tagged
// ones, or as verify found it otherwise; nil: gone.
func mappedFile(in Input) *coredata.File {
	for i := range in.Tagged {
		if in.Tagged[i].ID == in.Mapping.CoreDataID {
			return &in.Tagged[i]
		}
	}
	if in.Mapped != nil && in.Mapped.ID == in.Mapping.CoreDataID {
		return in.Mapped
	}
	return nil
}

func hasFileTag(f coredata.File, id int64) bool {
	for _, t := range fileTags(f) {
		if t == id {
			return true
		}
	}
	return false
}

func findingReason(v syncer.AuditVerdict, s syncer.AuditStatus) string {
	for _, f := range v.Findings {
		if f.Status == s {
			return f.Reason
		}
	}
	return ""
}

func taggedReason(in Input) string {
	ids := make([]string, len(in.Tagged))
	for i, f := range in.Tagged {
		ids[i] = f.ID
	}
	return fmt.Sprintf("%d CoreData files are tagged %s: %s", len(ids), syncer.FileTag(in.Record.ID), strings.Join(ids, ", "))
}

// orphanRow is the row of a tagged CoreData file whose Nexudus file was
// not in the signed listing.
func orphanRow(id int64, f coredata.File, m *state.Mapping) Row {
	r := Row{
		NexudusID: id, CoreDataID: f.ID, Status: StatusOrphan,
		Reason:      fmt.Sprintf("tagged %s, but that Nexudus file is not signed or no longer exists; syncd keeps it (nothing is deleted in CoreData)", syncer.FileTag(id)),
		CoreDataMD5: lower(f.Digest), CoreDataIDs: []string{f.ID}, Title: f.Title, Parent: f.Parent,
	}
	if m != nil {
		r.RecordedMD5, r.RecordedCoreDataID, r.RecordedUpdatedOn = m.MD5, m.CoreDataID, timePtr(m.UpdatedOn)
	}
	return r
}

// row turns an input and its verdict into an output row.
func row(in Input, v Verdict) Row {
	r := Row{
		NexudusID: in.Record.ID, CoreDataID: v.CoreDataID, Status: v.Status, Reason: v.Reason,
		NexudusMD5: lower(in.DeepMD5), NexudusUpdatedOn: timePtr(in.Record.UpdatedOn.Time),
		BusinessID: in.Record.BusinessID, CoreDataIDs: []string{},
	}
	for _, f := range in.Tagged {
		r.CoreDataIDs = append(r.CoreDataIDs, f.ID)
		if f.ID == v.CoreDataID {
			r.CoreDataMD5, r.Title, r.Parent = lower(f.Digest), f.Title, f.Parent
		}
	}
	if f := in.Mapped; f != nil && f.ID == v.CoreDataID {
		r.CoreDataMD5, r.Title, r.Parent = lower(f.Digest), f.Title, f.Parent
	}
	if m := in.Mapping; m != nil {
		r.RecordedMD5, r.RecordedCoreDataID, r.RecordedUpdatedOn = m.MD5, m.CoreDataID, timePtr(m.UpdatedOn)
	}
	return r
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
