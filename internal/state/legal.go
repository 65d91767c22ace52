package state

import (
	"bytes"
	"encoding/binary"
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

// AcceptanceRow is what a register needs of one acceptance.
type AcceptanceRow struct {
	ID               int64     `json:"id"`
	UniqueID         string    `json:"unique_id"`
	CreatedOn        time.Time `json:"created_on"`
	UpdatedOn        time.Time `json:"updated_on"`
	CoworkerID       int64     `json:"coworker_id"`
	BusinessID       int64     `json:"business_id"`
	LegalContentType string    `json:"type"`
	Name             string    `json:"name"`
	TariffUniqueID   string    `json:"tariff,omitempty"`
	TextUniqueID     string    `json:"text,omitempty"`
	// Month is the register month ("2006-01") the row belongs to.
	Month string `json:"month"`
}

// LegalMonth is one location's month of acceptances.
type LegalMonth struct {
	Business int64  `json:"-"`
	Month    string `json:"-"`
	// Complete: every acceptance of the month is among its rows.
	Complete bool `json:"complete"`
	// Dirty: rows changed since its register was last written.
	Dirty bool `json:"dirty"`
}

func monthKey(business int64, month string) []byte {
	return append(idKey(business), month...)
}

func rowKey(r AcceptanceRow) []byte {
	return append(monthKey(r.BusinessID, r.Month), idKey(r.ID)...)
}

func parseMonthKey(k []byte) (int64, string, error) {
	if len(k) != 8+len("2006-01") {
		return 0, "", fmt.Errorf("%w: month key of %d bytes", ErrCorrupt, len(k))
	}
	return int64(binary.BigEndian.Uint64(k[:8])), string(k[8:]), nil
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

// PutAcceptances records listed acceptances (a page) in one transaction:
// each row under its location and month, moved when an edit changed its
// month, and each month whose rows changed marked dirty (the old month of
// a moved row too). A row equal to the stored one changes nothing. It
// returns how many rows changed.
func (s *Store) PutAcceptances(rows []AcceptanceRow) (changed int, err error) {
	for _, r := range rows {
		if err := checkID(r.ID); err != nil {
			return 0, wrap("put acceptances", r.ID, err)
		}
		if r.Month == "" {
			return 0, wrap("put acceptances", r.ID, fmt.Errorf("%w: no month", ErrInvalid))
		}
	}
	err = s.update("put acceptances", nil, func(tx *bolt.Tx) error {
		rb, ix := tx.Bucket(bucketLegalRows), tx.Bucket(bucketLegalIndex)
		for _, r := range rows {
			r.CreatedOn, r.UpdatedOn = utc(r.CreatedOn), utc(r.UpdatedOn)
			data, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("encode: %w", err)
			}
			key := rowKey(r)
			if old := ix.Get(idKey(r.ID)); old != nil && !bytes.Equal(old, key[:len(key)-8]) {
				oldKey := append(append([]byte(nil), old...), idKey(r.ID)...)
				if err := rb.Delete(oldKey); err != nil {
					return err
				}
				b, m, err := parseMonthKey(old)
				if err != nil {
					return err
				}
				if err := updateMonth(tx, b, m, func(lm *LegalMonth) { lm.Dirty = true }); err != nil {
					return err
				}
			} else if bytes.Equal(rb.Get(key), data) {
				continue
			}
			if err := rb.Put(key, data); err != nil {
				return err
			}
			if err := ix.Put(idKey(r.ID), key[:len(key)-8]); err != nil {
				return err
			}
			if err := updateMonth(tx, r.BusinessID, r.Month, func(lm *LegalMonth) { lm.Dirty = true }); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	return changed, err
}

// ReplaceMonth makes rows the whole of one location's month: a listing of
// the month by CreatedOn. Rows no longer listed (an acceptance deleted in
// Nexudus) are dropped; the month is marked complete, and dirty when its
// rows changed.
func (s *Store) ReplaceMonth(business int64, month string, rows []AcceptanceRow) error {
	return s.update("replace month", month, func(tx *bolt.Tx) error {
		rb, ix := tx.Bucket(bucketLegalRows), tx.Bucket(bucketLegalIndex)
		prefix := monthKey(business, month)
		old := map[string][]byte{}
		c := rb.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			old[string(k)] = append([]byte(nil), v...)
		}
		changed := false
		keep := map[string]bool{}
		for _, r := range rows {
			r.BusinessID, r.Month = business, month
			r.CreatedOn, r.UpdatedOn = utc(r.CreatedOn), utc(r.UpdatedOn)
			data, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("encode: %w", err)
			}
			key := rowKey(r)
			keep[string(key)] = true
			if bytes.Equal(old[string(key)], data) {
				continue
			}
			if prev := ix.Get(idKey(r.ID)); prev != nil && !bytes.Equal(prev, prefix) {
				// Listed under this month now: drop it from the other.
				if err := rb.Delete(append(append([]byte(nil), prev...), idKey(r.ID)...)); err != nil {
					return err
				}
				b, m, err := parseMonthKey(prev)
				if err != nil {
					return err
				}
				if err := updateMonth(tx, b, m, func(lm *LegalMonth) { lm.Dirty = true }); err != nil {
					return err
				}
			}
			if err := rb.Put(key, data); err != nil {
				return err
			}
			if err := ix.Put(idKey(r.ID), prefix); err != nil {
				return err
			}
			changed = true
		}
		for k := range old {
			if keep[k] {
				continue
			}
			if err := rb.Delete([]byte(k)); err != nil {
				return err
			}
			if err := ix.Delete([]byte(k)[len(prefix):]); err != nil {
				return err
			}
			changed = true
		}
		return updateMonth(tx, business, month, func(lm *LegalMonth) {
			lm.Complete = true
			lm.Dirty = lm.Dirty || changed
		})
	})
}

// MonthRows returns the rows of one location's month, by acceptance Id.
func (s *Store) MonthRows(business int64, month string) ([]AcceptanceRow, error) {
	var out []AcceptanceRow
	err := s.view("month rows", month, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLegalRows)
		if b == nil {
			return nil // a file from before terms acceptances, opened read-only
		}
		prefix := monthKey(business, month)
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var r AcceptanceRow
			if err := json.Unmarshal(v, &r); err != nil {
				return &CorruptError{Kind: "acceptance", Key: fmt.Sprintf("%x", k), Err: err}
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// LegalMonths lists every location's month that has state, in key order
// (location, then month).
func (s *Store) LegalMonths() ([]LegalMonth, error) {
	var out []LegalMonth
	err := s.view("legal months", nil, func(tx *bolt.Tx) error {
		return forEach(tx, bucketLegalMonths, func(k, v []byte) error {
			b, m, err := parseMonthKey(k)
			if err != nil {
				return err
			}
			var lm LegalMonth
			if err := json.Unmarshal(v, &lm); err != nil {
				return &CorruptError{Kind: "legal month", Key: fmt.Sprintf("%d/%s", b, m), Err: err}
			}
			lm.Business, lm.Month = b, m
			out = append(out, lm)
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

// MarkMonthsDirty marks dirty every month with a row citing a text: its
// register must show the text's digest and file once they are known.
func (s *Store) MarkMonthsDirty(textUniqueID string) (int, error) {
	n := 0
	err := s.update("mark months dirty", textUniqueID, func(tx *bolt.Tx) error {
		var err error
		n, err = markCitingTx(tx, textUniqueID)
		return err
	})
	return n, err
}

func markCitingTx(tx *bolt.Tx, textUniqueID string) (int, error) {
	n := 0
	err := func() error {
		months := map[string]bool{}
		err := tx.Bucket(bucketLegalRows).ForEach(func(k, v []byte) error {
			var r AcceptanceRow
			if err := json.Unmarshal(v, &r); err != nil {
				return &CorruptError{Kind: "acceptance", Key: fmt.Sprintf("%x", k), Err: err}
			}
			if r.TextUniqueID == textUniqueID {
				months[string(k[:len(k)-8])] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		for k := range months {
			b, m, err := parseMonthKey([]byte(k))
			if err != nil {
				return err
			}
			if err := updateMonth(tx, b, m, func(lm *LegalMonth) { lm.Dirty = true }); err != nil {
				return err
			}
			n++
		}
		return nil
	}()
	return n, err
}

func updateMonth(tx *bolt.Tx, business int64, month string, fn func(*LegalMonth)) error {
	b := tx.Bucket(bucketLegalMonths)
	key := monthKey(business, month)
	var lm LegalMonth
	if v := b.Get(key); v != nil {
		if err := json.Unmarshal(v, &lm); err != nil {
			return &CorruptError{Kind: "legal month", Key: fmt.Sprintf("%d/%s", business, month), Err: err}
		}
	}
	fn(&lm)
	return putJSON(b, key, lm)
}

// MarkMonthDirty marks one location's month for its register to be
// written again (the daemon's audit, after a person deleted it).
func (s *Store) MarkMonthDirty(business int64, month string) error {
	return s.update("mark month dirty", month, func(tx *bolt.Tx) error {
		return updateMonth(tx, business, month, func(lm *LegalMonth) { lm.Dirty = true })
	})
}

// LegalFailure is a text's or register's own failure (guarantee 5): it
// waits out its backoff, and after the configured attempts it is parked
// until its bytes change (MD5 is of the bytes that kept failing).
type LegalFailure struct {
	Tag         string    `json:"tag"`
	MD5         string    `json:"md5"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error"`
	Parked      bool      `json:"parked"`
}

// LegalFailure returns the failure of a tag's file, if any.
func (s *Store) LegalFailure(tag string) (f LegalFailure, ok bool, err error) {
	err = s.view("legal failure", tag, func(tx *bolt.Tx) error {
		v := get(tx, bucketLegalFailures, []byte(tag))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &f); err != nil {
			return &CorruptError{Kind: "legal failure", Key: tag, Err: err}
		}
		ok = true
		return nil
	})
	return f, ok, err
}

// RecordLegalFailure counts one failure of the file's own for these bytes
// (new bytes start the count again), with the backoff of its attempts,
// parking it at maxAttempts.
func (s *Store) RecordLegalFailure(tag, md5, msg string, now time.Time, maxAttempts int, backoff func(int) time.Duration) (LegalFailure, error) {
	var f LegalFailure
	err := s.update("record legal failure", tag, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLegalFailures)
		if v := b.Get([]byte(tag)); v != nil {
			if err := json.Unmarshal(v, &f); err != nil {
				return &CorruptError{Kind: "legal failure", Key: tag, Err: err}
			}
		}
		if f.MD5 != md5 {
			f = LegalFailure{}
		}
		f.Tag, f.MD5, f.LastError = tag, md5, msg
		f.Attempts++
		f.NextAttempt = utc(now.Add(backoff(f.Attempts)))
		f.Parked = f.Attempts >= maxAttempts
		return putJSON(b, []byte(tag), f)
	})
	return f, err
}

// LegalFailures lists the failing and parked texts and registers.
func (s *Store) LegalFailures() ([]LegalFailure, error) {
	var out []LegalFailure
	err := s.view("legal failures", nil, func(tx *bolt.Tx) error {
		return forEach(tx, bucketLegalFailures, func(k, v []byte) error {
			var f LegalFailure
			if err := json.Unmarshal(v, &f); err != nil {
				return &CorruptError{Kind: "legal failure", Key: string(k), Err: err}
			}
			out = append(out, f)
			return nil
		})
	})
	return out, err
}

// clearLegalFailureTx drops a tag's failure: its file was recorded.
func clearLegalFailureTx(tx *bolt.Tx, tag string) error {
	return tx.Bucket(bucketLegalFailures).Delete([]byte(tag))
}
