package state

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The daemon's audit keeps two things here (docs/design.md#the-audit):
//
//   - its last result: a summary in `meta` and one finding per mapped file
//     with a problem in `audit` (an ok file has none, so a clean audit of
//     100,000 files writes one key);
//   - the files it followed to where a person re-filed or renamed them,
//     in `followed`. That record outlives `state forget` and a new
//     mapping: it is what tells a later poll not to rename the file back,
//     and which folders outside the configured parents a lookup must list.
var lastAuditKey = []byte("last_audit")

// AuditFinding is one mapped file's problem in the last audit.
type AuditFinding struct {
	Status     string    `json:"status"`
	CoreDataID string    `json:"coredata_id"`
	Reason     string    `json:"reason"`
	Repair     string    `json:"repair,omitempty"` // what was done, or why not
	CheckedAt  time.Time `json:"checked_at"`
}

// AuditSummary is the last audit as a whole.
type AuditSummary struct {
	Started  time.Time      `json:"started"`
	Finished time.Time      `json:"finished"`
	Complete bool           `json:"complete"` // every mapping was checked
	Error    string         `json:"error,omitempty"`
	Counts   map[string]int `json:"counts"`
	Repairs  map[string]int `json:"repairs,omitempty"` // "<action>/<result>"
	// LastComplete is when the last audit that checked every mapping
	// ended: this one's Finished when Complete, else carried over, so that
	// a restarted daemon reports how long audits have been failing.
	LastComplete time.Time `json:"last_complete,omitempty"`
}

// Followed is where a person put a mirrored file: syncd writes later
// versions there and never moves or renames it back.
type Followed struct {
	Parent string    `json:"parent"`
	Title  string    `json:"title"`
	At     time.Time `json:"at"`
}

// PutAuditResult replaces the last audit's result in one transaction: the
// summary and every finding. A partial audit (an outage stopped it) keeps
// the findings of the files it did not reach.
func (s *Store) PutAuditResult(sum AuditSummary, findings map[int64]AuditFinding, checked func(id int64) bool) error {
	sum.Started, sum.Finished = utc(sum.Started), utc(sum.Finished)
	return s.update("put audit result", nil, func(tx *bolt.Tx) error {
		if sum.Complete {
			sum.LastComplete = sum.Finished
		} else if v := get(tx, bucketMeta, lastAuditKey); v != nil {
			var prev AuditSummary
			if json.Unmarshal(v, &prev) == nil {
				sum.LastComplete = prev.LastComplete
			}
		}
		b := tx.Bucket(bucketAudit)
		err := deleteWhere(b, func(k, _ []byte) bool {
			id, err := keyID(k)
			return err != nil || checked == nil || checked(id)
		})
		if err != nil {
			return err
		}
		for id, f := range findings {
			if err := checkID(id); err != nil {
				return err
			}
			f.CheckedAt = utc(f.CheckedAt)
			if err := putJSON(b, idKey(id), f); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bucketMeta), lastAuditKey, sum)
	})
}

// LastAudit returns the summary of the last audit, if one ran.
func (s *Store) LastAudit() (sum AuditSummary, ok bool, err error) {
	err = s.view("last audit", nil, func(tx *bolt.Tx) error {
		v := get(tx, bucketMeta, lastAuditKey)
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &sum); err != nil {
			return &CorruptError{Kind: "audit", Key: string(lastAuditKey), Err: err}
		}
		ok = true
		return nil
	})
	return sum, ok, err
}

// AuditFindings returns the last audit's findings by Nexudus id.
func (s *Store) AuditFindings() (map[int64]AuditFinding, error) {
	out := map[int64]AuditFinding{}
	err := s.view("audit findings", nil, func(tx *bolt.Tx) error {
		return forEach(tx, bucketAudit, func(k, v []byte) error {
			id, err := keyID(k)
			if err != nil {
				return &CorruptError{Kind: "audit", Key: fmt.Sprintf("%x", k), Err: err}
			}
			var f AuditFinding
			if err := json.Unmarshal(v, &f); err != nil {
				return &CorruptError{Kind: "audit", Key: fmt.Sprint(id), Err: err}
			}
			out[id] = f
			return nil
		})
	})
	return out, err
}

// Follow records that the mapped file of m.NexudusID now lives where a
// person put it: the mapping takes its parent and title, and the follow
// is remembered, in one transaction.
func (s *Store) Follow(m Mapping, f Followed) error {
	if err := checkMapping(&m); err != nil {
		return wrap("follow", m.NexudusID, err)
	}
	f.At = utc(f.At)
	return s.update("follow", m.NexudusID, func(tx *bolt.Tx) error {
		if err := putMappingTx(tx, m, false); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketFollowed), idKey(m.NexudusID), f)
	})
}

// IsFollowed reports whether a person re-filed or renamed the file of id.
func (s *Store) IsFollowed(id int64) (bool, error) {
	found := false
	err := s.view("followed", id, func(tx *bolt.Tx) error {
		found = get(tx, bucketFollowed, idKey(id)) != nil
		return nil
	})
	return found, err
}

// FollowedParents are the distinct parents of followed files, sorted: a
// lookup lists them beside the record's own parent.
func (s *Store) FollowedParents() ([]string, error) {
	set := map[string]bool{}
	err := s.view("followed parents", nil, func(tx *bolt.Tx) error {
		return forEach(tx, bucketFollowed, func(k, v []byte) error {
			var f Followed
			if err := json.Unmarshal(v, &f); err != nil {
				return &CorruptError{Kind: "followed", Key: fmt.Sprintf("%x", k), Err: err}
			}
			if f.Parent != "" {
				set[f.Parent] = true
			}
			return nil
		})
	})
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, err
}

// RecreateIntent replaces the mapping of a file whose CoreData file a
// person deleted with an intent to create it again, in one transaction. A
// crash after it leaves the intent, which the next poll takes up by Id
// whatever the record's age: the contract is never left unmirrored and
// unremembered. Unsent marks that no create was sent for it yet.
func (s *Store) RecreateIntent(in Intent) error {
	if err := checkID(in.NexudusID); err != nil {
		return wrap("recreate intent", in.NexudusID, err)
	}
	in.UpdatedOn, in.StartedAt, in.Unsent = utc(in.UpdatedOn), utc(in.StartedAt), true
	return s.update("recreate intent", in.NexudusID, func(tx *bolt.Tx) error {
		key := idKey(in.NexudusID)
		if _, err := dropMappingTx(tx, in.NexudusID); err != nil {
			return err
		}
		// The new file is made where syncd makes files, under its title:
		// the person's choice died with the file they deleted.
		if err := tx.Bucket(bucketFollowed).Delete(key); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketIntents), key, in)
	})
}

// EachMapping calls fn for every mapping in Nexudus id order, in read
// transactions of at most batch mappings: the audit of 100,000 files holds
// neither the whole set in memory nor one transaction open throughout. fn
// must not write to the store.
func (s *Store) EachMapping(batch int, fn func(m Mapping) error) error {
	if batch <= 0 {
		batch = 1000
	}
	var after []byte
	for {
		var ms []Mapping
		err := s.view("each mapping", nil, func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketFiles)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(ms) < batch; k, v = c.Next() {
				id, err := keyID(k)
				if err != nil {
					return err
				}
				m, err := decodeMapping(id, v)
				if err != nil {
					return err
				}
				ms = append(ms, m)
				after = append(after[:0], k...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(ms) < batch {
			return nil
		}
	}
}
