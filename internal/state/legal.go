package state

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Terms acceptances (docs/design.md#guarantee-9) keep three things here:
//
//   - the mirrored files that are not contracts, by their tag
//     (nexudus-legal-text-<UniqueId>, nexudus-legal-register-<B>-<YYYY-MM>),
//     with the create in flight for each, as contracts have intents;
//   - every acceptance listed, as the row its register prints, under its
//     location and month, so that a new acceptance costs its register one
//     new version and no re-listing of the month from Nexudus;
//   - per location and month, whether its rows are complete (the month was
//     listed whole, or the stream began before it) and whether its register
//     must be written again (dirty), set in the transaction that changed a
//     row so a crash never loses a register update.

// LegalFile is one mirrored text or register: one CoreData file per tag.
type LegalFile struct {
	Tag        string `json:"tag"`
	CoreDataID string `json:"coredata_id"`
	MD5        string `json:"md5"`
	SnapshotID string `json:"snapshot_id,omitempty"`
	Parent     string `json:"parent"`
	Title      string `json:"title"`
	Filename   string `json:"filename"`
	// SHA256 is of the bytes: for a text, what register rows cite.
	SHA256 string `json:"sha256,omitempty"`
	// SourceID and UpdatedOn are the Nexudus record behind a text.
	SourceID  int64     `json:"source_id,omitempty"`
	UpdatedOn time.Time `json:"updated_on,omitzero"`
	SyncedAt  time.Time `json:"synced_at"`
}

// LegalIntent is written before a text's or a register's create, as an
// Intent is for a contract: finding one, the engine looks the file up by
// its tag (or by the id the create returned) before creating.
type LegalIntent struct {
	Tag        string    `json:"tag"`
	Parent     string    `json:"parent"`
	StartedAt  time.Time `json:"started_at"`
	CoreDataID string    `json:"coredata_id,omitempty"`
}

// LegalFile returns the mirrored file of a tag.
func (s *Store) LegalFile(tag string) (f LegalFile, ok bool, err error) {
	err = s.view("legal file", tag, func(tx *bolt.Tx) error {
		v := get(tx, bucketLegalFiles, []byte(tag))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &f); err != nil {
			return &CorruptError{Kind: "legal file", Key: tag, Err: err}
		}
		ok = true
		return nil
	})
	return f, ok, err
}

// PutLegalFile records a mirrored file and drops its tag's intent, in one
// transaction.
func (s *Store) PutLegalFile(f LegalFile) error {
	if f.Tag == "" || f.CoreDataID == "" {
		return wrap("put legal file", f.Tag, fmt.Errorf("%w: empty tag or CoreData id", ErrInvalid))
	}
	f.UpdatedOn, f.SyncedAt = utc(f.UpdatedOn), utc(f.SyncedAt)
	return s.update("put legal file", f.Tag, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketLegalIntents).Delete([]byte(f.Tag)); err != nil {
			return err
		}
		if err := clearLegalFailureTx(tx, f.Tag); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketLegalFiles), []byte(f.Tag), f)
	})
}

// PutRegister records a register's file and, in the same transaction,
// marks its month clean: its rows are what the file holds.
func (s *Store) PutRegister(business int64, month string, f LegalFile) error {
	if f.Tag == "" || f.CoreDataID == "" {
		return wrap("put register", f.Tag, fmt.Errorf("%w: empty tag or CoreData id", ErrInvalid))
	}
	f.UpdatedOn, f.SyncedAt = utc(f.UpdatedOn), utc(f.SyncedAt)
	return s.update("put register", f.Tag, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketLegalIntents).Delete([]byte(f.Tag)); err != nil {
			return err
		}
		if err := clearLegalFailureTx(tx, f.Tag); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bucketLegalFiles), []byte(f.Tag), f); err != nil {
			return err
		}
		return updateMonth(tx, business, month, func(m *LegalMonth) { m.Dirty = false })
	})
}

// ForgetLegalFile drops what syncd knows of a tag's file.
func (s *Store) ForgetLegalFile(tag string) error {
	return s.update("forget legal file", tag, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLegalFiles).Delete([]byte(tag))
	})
}

// LegalFiles lists every mirrored text and register, by tag.
func (s *Store) LegalFiles() ([]LegalFile, error) {
	var out []LegalFile
	err := s.view("legal files", nil, func(tx *bolt.Tx) error {
		return forEach(tx, bucketLegalFiles, func(k, v []byte) error {
			var f LegalFile
			if err := json.Unmarshal(v, &f); err != nil {
				return &CorruptError{Kind: "legal file", Key: string(k), Err: err}
			}
			out = append(out, f)
			return nil
		})
	})
	return out, err
}

// PutLegalIntent records the create in flight for a tag.
func (s *Store) PutLegalIntent(in LegalIntent) error {
	if in.Tag == "" {
		return wrap("put legal intent", in.Tag, fmt.Errorf("%w: empty tag", ErrInvalid))
	}
	in.StartedAt = utc(in.StartedAt)
	return s.update("put legal intent", in.Tag, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketLegalIntents), []byte(in.Tag), in)
	})
}

// LegalIntent returns the create in flight for a tag, if any.
func (s *Store) LegalIntent(tag string) (in LegalIntent, ok bool, err error) {
	err = s.view("legal intent", tag, func(tx *bolt.Tx) error {
		v := get(tx, bucketLegalIntents, []byte(tag))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &in); err != nil {
			return &CorruptError{Kind: "legal intent", Key: tag, Err: err}
		}
		ok = true
		return nil
	})
	return in, ok, err
}

// LegalIntents lists the creates in flight of texts and registers.
func (s *Store) LegalIntents() ([]LegalIntent, error) {
	var out []LegalIntent
	err := s.view("legal intents", nil, func(tx *bolt.Tx) error {
		return forEach(tx, bucketLegalIntents, func(k, v []byte) error {
			var in LegalIntent
			if err := json.Unmarshal(v, &in); err != nil {
				return &CorruptError{Kind: "legal intent", Key: string(k), Err: err}
			}
			out = append(out, in)
			return nil
		})
	})
	return out, err
}

// PutLegalText records a text's file like PutLegalFile and, in the same
// transaction, when the text is new to the state file or its bytes
// changed, marks dirty every month with a row citing it (textUniqueID):
// a crash between the two must not leave registers citing old bytes.
func (s *Store) PutLegalText(f LegalFile, textUniqueID string) error {
	if f.Tag == "" || f.CoreDataID == "" {
		return wrap("put legal text", f.Tag, fmt.Errorf("%w: empty tag or CoreData id", ErrInvalid))
	}
	f.UpdatedOn, f.SyncedAt = utc(f.UpdatedOn), utc(f.SyncedAt)
	return s.update("put legal text", f.Tag, func(tx *bolt.Tx) error {
		files := tx.Bucket(bucketLegalFiles)
		var before LegalFile
		known := false
		if v := files.Get([]byte(f.Tag)); v != nil {
			known = json.Unmarshal(v, &before) == nil
		}
		if err := tx.Bucket(bucketLegalIntents).Delete([]byte(f.Tag)); err != nil {
			return err
		}
		if err := clearLegalFailureTx(tx, f.Tag); err != nil {
			return err
		}
		if err := putJSON(files, []byte(f.Tag), f); err != nil {
			return err
		}
		if known && before.SHA256 == f.SHA256 {
			return nil
		}
		_, err := markCitingTx(tx, textUniqueID)
		return err
	})
}
