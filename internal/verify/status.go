package verify

import "time"

// Status is the verdict on one file.
type Status string

// The statuses, in the order the summary shows them.
const (
	// StatusOK: CoreData holds one file tagged for the Nexudus file, with
	// the bytes syncd recorded (or, with -deep, the Nexudus bytes).
	StatusOK Status = "ok"
	// StatusMissing: no CoreData file under the configured parents is
	// tagged nexudus-file-<Id>.
	StatusMissing Status = "missing"
	// StatusStale: Nexudus has newer bytes than CoreData: its UpdatedOn is
	// newer than the mapping's, or (-deep) its md5 differs from CoreData's
	// digest while CoreData still holds what syncd recorded.
	StatusStale Status = "stale"
	// StatusDrift: CoreData's current file is not the one syncd recorded:
	// another digest, or another file id.
	StatusDrift Status = "drift"
	// StatusDuplicate: more than one CoreData file is tagged for it.
	StatusDuplicate Status = "duplicate"
	// StatusOrphan: a tagged CoreData file whose Nexudus file is not in the
	// signed set (deleted or unsigned). Not a failure: guarantee 4 keeps it.
	StatusOrphan Status = "orphan"
	// StatusUnverified: the file could not be checked (an unreadable
	// record, a -deep download that failed).
	StatusUnverified Status = "unverified"
)

// Statuses lists every status in summary order.
var Statuses = []Status{StatusOK, StatusMissing, StatusStale, StatusDrift, StatusDuplicate, StatusOrphan, StatusUnverified}

// Problem reports whether the status makes verify exit 1. Orphans do not:
// syncd never deletes in CoreData, so they are expected after a Nexudus
// file is deleted or unsigned.
func (s Status) Problem() bool { return s != StatusOK && s != StatusOrphan }

// Row is one line of `syncd verify -json`: one Nexudus file, or one
// orphan CoreData file. The JSON names are the command's contract.
type Row struct {
	NexudusID int64 `json:"nexudus_id"`
	// Tag names a text or register (legal.enabled); NexudusID is then a
	// text version's Id, or 0 for a register.
	Tag        string `json:"tag,omitempty"`
	CoreDataID string `json:"coredata_id"`
	Status     Status `json:"status"`
	Reason     string `json:"reason"`
	// NexudusMD5 is the md5 of the downloaded bytes (-deep only).
	NexudusMD5 string `json:"nexudus_md5"`
	// CoreDataMD5 is the digest CoreData reports for CoreDataID.
	CoreDataMD5 string `json:"coredata_md5"`
	// RecordedMD5 and RecordedCoreDataID are what the state file maps.
	RecordedMD5        string     `json:"recorded_md5"`
	RecordedCoreDataID string     `json:"recorded_coredata_id"`
	NexudusUpdatedOn   *time.Time `json:"nexudus_updated_on"`
	RecordedUpdatedOn  *time.Time `json:"recorded_updated_on"`
	// CoreDataIDs are every CoreData file tagged for the Nexudus file,
	// oldest first (more than one: duplicate).
	CoreDataIDs []string `json:"coredata_ids"`
	BusinessID  int64    `json:"business_id,omitempty"`
	Title       string   `json:"title"`
	Parent      string   `json:"parent"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
