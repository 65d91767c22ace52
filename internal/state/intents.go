package state

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Intent is written before a CoreData create. Finding one means a run died
// (or gave up) between the create and PutMapping: before creating again the
// engine looks the file up in CoreData, by the id the create returned when
// it got that far (CoreDataID), else by its nexudus-file-<Id> tag under the parent.
type Intent struct {
	NexudusID int64     `json:"nexudus_id"`
	Parent    string    `json:"parent"`
	Title     string    `json:"title"`
	Filename  string    `json:"filename"`
	MD5       string    `json:"md5"`
	Size      int64     `json:"size"`
	UpdatedOn time.Time `json:"updated_on"`
	StartedAt time.Time `json:"started_at"`
	// CoreDataID is the id the create returned, kept until the file is
	// verified and mapped: a verify read that failed must not send the
	// next attempt to a lookup by title, which a renamed file would miss.
	CoreDataID string `json:"coredata_id,omitempty"`
	// Unsent marks an intent that the audit wrote for a file a person
	// deleted (RecreateIntent): no create was sent for it yet, so the
	// audit's own listing is a lookup recent enough. A create overwrites
	// it with an intent that may have been sent.
	Unsent bool `json:"unsent,omitempty"`
}

// PutIntent records (or replaces) the create in flight for a file.
func (s *Store) PutIntent(in Intent) error {
	if err := checkID(in.NexudusID); err != nil {
		return wrap("put intent", in.NexudusID, err)
	}
	in.UpdatedOn = utc(in.UpdatedOn)
	in.StartedAt = utc(in.StartedAt)
	return s.update("put intent", in.NexudusID, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketIntents), idKey(in.NexudusID), in)
	})
}

// Intent returns the create in flight for a file, if any.
func (s *Store) Intent(id int64) (in Intent, ok bool, err error) {
	err = s.view("intent", id, func(tx *bolt.Tx) error {
		v := get(tx, bucketIntents, idKey(id))
		if v == nil {
			return nil
		}
		in, err = decodeIntent(id, v)
		ok = err == nil
		return err
	})
	return in, ok, err
}

// DeleteIntent drops a file's intent; deleting a missing one is not an error
// because the engine calls it on every abandoned create.
func (s *Store) DeleteIntent(id int64) error {
	return s.update("delete intent", id, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIntents).Delete(idKey(id))
	})
}

// Intents lists the creates in flight, sorted by Nexudus id (bbolt's key
// order, since keys are big-endian).
func (s *Store) Intents() ([]Intent, error) {
	var out []Intent
	err := s.view("list intents", nil, func(tx *bolt.Tx) error {
		return forEach(tx, bucketIntents, func(k, v []byte) error {
			id, err := keyID(k)
			if err != nil {
				return err
			}
			in, err := decodeIntent(id, v)
			if err != nil {
				return err
			}
			out = append(out, in)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
