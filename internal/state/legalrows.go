package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The acceptances as the registers print them: one row per acceptance
// under its location and month, and each month's marks (legal.go).

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
