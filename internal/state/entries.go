package state

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Status is what `syncd state ls` shows for a file.
type Status string

// Statuses in increasing precedence: a file in several buckets shows the
// last that applies.
const (
	StatusMirrored Status = "mirrored"
	StatusIntent   Status = "intent"
	StatusFailed   Status = "failed"
	StatusParked   Status = "parked"
)

// Entry merges everything known about one Nexudus file. The JSON names are
// the `syncd state ls -json` contract.
//
// A mapped file whose content update keeps failing shows "failed" but keeps
// its coredata_id and md5 (what CoreData holds). Without a mapping, title,
// md5 and the like come from the intent. next_attempt is null when parked:
// a parked file waits for a change in Nexudus or `state retry`, not a time.
type Entry struct {
	NexudusID   int64      `json:"nexudus_id"`
	CoreDataID  string     `json:"coredata_id"`
	MD5         string     `json:"md5"`
	Status      Status     `json:"status"`
	Attempts    int        `json:"attempts"`
	NextAttempt *time.Time `json:"next_attempt"`
	LastError   string     `json:"last_error"`
	Title       string     `json:"title"`
	Parent      string     `json:"parent"`
	Filename    string     `json:"filename"`
	Size        int64      `json:"size"`
	UpdatedOn   *time.Time `json:"updated_on"`
	SyncedAt    *time.Time `json:"synced_at"`
	SnapshotID  string     `json:"snapshot_id"`
	// Audit is what the daemon's last audit found for a mapped file; null
	// when no audit has checked it yet (none ran, or it was mapped since).
	Audit *EntryAudit `json:"audit"`
}

// EntryAudit is the `audit` field of `syncd state ls -json`.
type EntryAudit struct {
	Status     string    `json:"status"` // ok, missing, moved, untagged, drift, duplicate
	Reason     string    `json:"reason,omitempty"`
	Repair     string    `json:"repair,omitempty"`
	CheckedAt  time.Time `json:"checked_at"`
	CoreDataID string    `json:"coredata_id,omitempty"`
}

// auditOf is the audit field of a mapped file: its finding, else ok when
// the last audit was whole and began after the file was mapped.
func auditOf(m *Mapping, f *AuditFinding, last *AuditSummary) *EntryAudit {
	if m == nil {
		return nil
	}
	if f != nil {
		return &EntryAudit{Status: f.Status, Reason: f.Reason, Repair: f.Repair, CheckedAt: f.CheckedAt, CoreDataID: f.CoreDataID}
	}
	if last == nil || !last.Complete || m.SyncedAt.After(last.Started) {
		return nil
	}
	return &EntryAudit{Status: "ok", CheckedAt: last.Finished}
}

// record gathers one id's raw records before they are merged.
type record struct {
	mapping *Mapping
	intent  *Intent
	failure *Failure
	audit   *AuditFinding
}

func (r record) entry(id int64, last *AuditSummary) Entry {
	e := Entry{NexudusID: id, Audit: auditOf(r.mapping, r.audit, last)}
	if in := r.intent; in != nil {
		e.Status = StatusIntent
		e.MD5, e.Size, e.Title, e.Parent, e.Filename = in.MD5, in.Size, in.Title, in.Parent, in.Filename
		e.CoreDataID = in.CoreDataID
		e.UpdatedOn = timePtr(in.UpdatedOn)
	}
	if m := r.mapping; m != nil {
		if e.Status == "" {
			e.Status = StatusMirrored
		}
		e.CoreDataID, e.MD5, e.Size, e.SnapshotID = m.CoreDataID, m.MD5, m.Size, m.SnapshotID
		e.Title, e.Parent, e.Filename = m.Title, m.Parent, m.Filename
		e.UpdatedOn = timePtr(m.UpdatedOn)
		e.SyncedAt = timePtr(m.SyncedAt)
	}
	if f := r.failure; f != nil {
		e.Status = StatusFailed
		e.NextAttempt = timePtr(f.NextAttempt)
		if f.Parked {
			e.Status = StatusParked
			e.NextAttempt = nil
		}
		e.Attempts, e.LastError = f.Attempts, f.LastError
		if e.UpdatedOn == nil {
			e.UpdatedOn = timePtr(f.UpdatedOn)
		}
	}
	return e
}

// Entry returns the merged view of one file, or ErrNotFound.
func (s *Store) Entry(id int64) (Entry, error) {
	var (
		r     record
		found bool
	)
	err := s.view("entry", id, func(tx *bolt.Tx) error {
		key := idKey(id)
		if v := get(tx, bucketFiles, key); v != nil {
			m, err := decodeMapping(id, v)
			if err != nil {
				return err
			}
			r.mapping, found = &m, true
		}
		if v := get(tx, bucketIntents, key); v != nil {
			in, err := decodeIntent(id, v)
			if err != nil {
				return err
			}
			r.intent, found = &in, true
		}
		f, ok, err := readFailure(tx, id)
		if err != nil {
			return err
		}
		if ok {
			r.failure, found = &f, true
		}
		if !found {
			return ErrNotFound
		}
		if v := get(tx, bucketAudit, key); v != nil {
			var af AuditFinding
			if err := json.Unmarshal(v, &af); err != nil {
				return &CorruptError{Kind: "audit", Key: fmt.Sprint(id), Err: err}
			}
			r.audit = &af
		}
		return nil
	})
	if err != nil {
		return Entry{}, err
	}
	last, err := s.lastAuditPtr()
	if err != nil {
		return Entry{}, err
	}
	return r.entry(id, last), nil
}

// Entries returns the merged view of every file in any bucket, sorted by id.
func (s *Store) Entries() ([]Entry, error) {
	recs := map[int64]*record{}
	at := func(id int64) *record {
		r := recs[id]
		if r == nil {
			r = &record{}
			recs[id] = r
		}
		return r
	}
	walk := func(tx *bolt.Tx, b []byte, fn func(id int64, v []byte) error) error {
		return forEach(tx, b, func(k, v []byte) error {
			id, err := keyID(k)
			if err != nil {
				return err
			}
			return fn(id, v)
		})
	}
	err := s.view("list entries", nil, func(tx *bolt.Tx) error {
		err := walk(tx, bucketFiles, func(id int64, v []byte) error {
			m, err := decodeMapping(id, v)
			at(id).mapping = &m
			return err
		})
		if err != nil {
			return err
		}
		err = walk(tx, bucketIntents, func(id int64, v []byte) error {
			in, err := decodeIntent(id, v)
			at(id).intent = &in
			return err
		})
		if err != nil {
			return err
		}
		// failures first, so that a parked record for the same id wins.
		for _, b := range [][]byte{bucketFailures, bucketParked} {
			parked := string(b) == string(bucketParked)
			err = walk(tx, b, func(id int64, v []byte) error {
				f, err := decodeFailure(id, v)
				f.Parked = parked
				at(id).failure = &f
				return err
			})
			if err != nil {
				return err
			}
		}
		return walk(tx, bucketAudit, func(id int64, v []byte) error {
			r, ok := recs[id]
			if !ok || r.mapping == nil {
				return nil // a finding of a file since forgotten
			}
			var af AuditFinding
			if err := json.Unmarshal(v, &af); err != nil {
				return &CorruptError{Kind: "audit", Key: fmt.Sprint(id), Err: err}
			}
			r.audit = &af
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	last, err := s.lastAuditPtr()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(recs))
	for id, r := range recs {
		out = append(out, r.entry(id, last))
	}
	sortByID(out, func(e Entry) int64 { return e.NexudusID })
	return out, nil
}

// Counts feeds the syncd_mapped_files and syncd_parked_files gauges. mapped
// counts every mapping, including those whose update is failing.
func (s *Store) Counts() (mapped, parked, failing, intents int, err error) {
	err = s.view("counts", nil, func(tx *bolt.Tx) error {
		for _, c := range []struct {
			bucket []byte
			n      *int
		}{{bucketFiles, &mapped}, {bucketParked, &parked}, {bucketFailures, &failing}, {bucketIntents, &intents}} {
			if b := tx.Bucket(c.bucket); b != nil {
				*c.n = b.Stats().KeyN
			}
		}
		return nil
	})
	return mapped, parked, failing, intents, err
}

func (s *Store) lastAuditPtr() (*AuditSummary, error) {
	sum, ok, err := s.LastAudit()
	if err != nil || !ok {
		return nil, err
	}
	return &sum, nil
}
