package state

import (
	"bytes"
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
	var out []Entry
	err := s.EachEntry(func(e Entry) error { out = append(out, e); return nil })
	return out, err
}

// EachEntry calls fn with the merged view of every file in any bucket, by
// id, in one read transaction: the buckets share their big-endian id keys,
// so one cursor each walks them side by side and only the file at hand is
// in memory (`state ls` of 100,000 files). fn must not write to the store.
func (s *Store) EachEntry(fn func(Entry) error) error {
	last, err := s.lastAuditPtr()
	if err != nil {
		return err
	}
	return s.view("list entries", nil, func(tx *bolt.Tx) error {
		// failures before parked: a parked record for the same id wins.
		names := [][]byte{bucketFiles, bucketIntents, bucketFailures, bucketParked, bucketAudit}
		cursors := make([]*bolt.Cursor, len(names))
		keys, vals := make([][]byte, len(names)), make([][]byte, len(names))
		for i, name := range names {
			if b := tx.Bucket(name); b != nil {
				cursors[i] = b.Cursor()
				keys[i], vals[i] = cursors[i].First()
			}
		}
		for {
			var lowest []byte
			for _, k := range keys {
				if k != nil && (lowest == nil || bytes.Compare(k, lowest) < 0) {
					lowest = k
				}
			}
			if lowest == nil {
				return nil
			}
			id, err := keyID(lowest)
			if err != nil {
				return err
			}
			lowest = append([]byte(nil), lowest...)
			var r record
			for i, k := range keys {
				if k == nil || !bytes.Equal(k, lowest) {
					continue
				}
				if err := r.add(names[i], id, vals[i]); err != nil {
					return err
				}
				keys[i], vals[i] = cursors[i].Next()
			}
			if r.mapping == nil {
				r.audit = nil // a finding of a file since forgotten
			}
			if r.mapping == nil && r.intent == nil && r.failure == nil {
				continue
			}
			if err := fn(r.entry(id, last)); err != nil {
				return err
			}
		}
	})
}

// add decodes one bucket's value of the file id into r.
func (r *record) add(bucket []byte, id int64, v []byte) error {
	switch string(bucket) {
	case string(bucketFiles):
		m, err := decodeMapping(id, v)
		r.mapping = &m
		return err
	case string(bucketIntents):
		in, err := decodeIntent(id, v)
		r.intent = &in
		return err
	case string(bucketFailures), string(bucketParked):
		f, err := decodeFailure(id, v)
		f.Parked = string(bucket) == string(bucketParked)
		r.failure = &f
		return err
	case string(bucketAudit):
		var af AuditFinding
		if err := json.Unmarshal(v, &af); err != nil {
			return &CorruptError{Kind: "audit", Key: fmt.Sprint(id), Err: err}
		}
		r.audit = &af
	}
	return nil
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
