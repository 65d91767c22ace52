package state

import (
	"path/filepath"
	"testing"
	"time"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func monthOf(t *testing.T, s *Store, business int64, month string) LegalMonth {
	t.Helper()
	ms, err := s.LegalMonths()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Business == business && m.Month == month {
			return m
		}
	}
	return LegalMonth{Business: business, Month: month}
}

// Rows live under their location and month; an equal row changes nothing,
// an edit that moves a row's month dirties both months, and a register
// written cleans its month.
func TestAcceptanceRowsAndMonths(t *testing.T) {
	s := openTemp(t)
	t0 := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	row := func(id int64, month string) AcceptanceRow {
		return AcceptanceRow{ID: id, UniqueID: "u", CreatedOn: t0, UpdatedOn: t0, CoworkerID: 7, BusinessID: 1, LegalContentType: "GeneralTerms", Name: "Terms", TextUniqueID: "text-1", Month: month}
	}
	if n, err := s.PutAcceptances([]AcceptanceRow{row(2, "2026-11"), row(1, "2026-11")}); err != nil || n != 2 {
		t.Fatalf("put: %d %v", n, err)
	}
	if m := monthOf(t, s, 1, "2026-11"); !m.Dirty || m.Complete {
		t.Fatalf("month after new rows: %+v, want dirty, not complete", m)
	}
	if err := s.PutRegister(1, "2026-11", LegalFile{Tag: "reg", CoreDataID: "cd1", MD5: "m"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PutAcceptances([]AcceptanceRow{row(1, "2026-11")}); err != nil || n != 0 {
		t.Fatalf("the same row again: %d changed, %v", n, err)
	}
	if m := monthOf(t, s, 1, "2026-11"); m.Dirty {
		t.Fatalf("an unchanged row dirtied its month: %+v", m)
	}
	// An administrator changes CreatedOn: the row moves to December.
	if n, err := s.PutAcceptances([]AcceptanceRow{row(2, "2026-12")}); err != nil || n != 1 {
		t.Fatalf("move: %d %v", n, err)
	}
	nov, _ := s.MonthRows(1, "2026-11")
	dec, _ := s.MonthRows(1, "2026-12")
	if len(nov) != 1 || nov[0].ID != 1 || len(dec) != 1 || dec[0].ID != 2 {
		t.Fatalf("rows after the move: nov %+v dec %+v", nov, dec)
	}
	if !monthOf(t, s, 1, "2026-11").Dirty || !monthOf(t, s, 1, "2026-12").Dirty {
		t.Fatal("a moved row must dirty both months")
	}
	// A re-listing of November finds acceptance 3 and no longer 1 (deleted).
	if err := s.ReplaceMonth(1, "2026-11", []AcceptanceRow{row(3, "2026-11")}); err != nil {
		t.Fatal(err)
	}
	nov, _ = s.MonthRows(1, "2026-11")
	if len(nov) != 1 || nov[0].ID != 3 || !monthOf(t, s, 1, "2026-11").Complete {
		t.Fatalf("after the re-listing: %+v %+v", nov, monthOf(t, s, 1, "2026-11"))
	}
	// Acceptance 2, listed again in November, leaves December.
	if err := s.ReplaceMonth(1, "2026-11", []AcceptanceRow{row(3, "2026-11"), row(2, "2026-11")}); err != nil {
		t.Fatal(err)
	}
	if dec, _ = s.MonthRows(1, "2026-12"); len(dec) != 0 {
		t.Fatalf("December still holds %+v", dec)
	}
	// The text becomes known: every month citing it is dirtied.
	if err := s.PutRegister(1, "2026-11", LegalFile{Tag: "reg", CoreDataID: "cd1", MD5: "m2"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.MarkMonthsDirty("text-1"); err != nil || n != 1 || !monthOf(t, s, 1, "2026-11").Dirty {
		t.Fatalf("mark: %d %v", n, err)
	}
}

// A legal intent lives until the file is recorded, in the same
// transaction.
func TestLegalIntentEndsWithItsFile(t *testing.T) {
	s := openTemp(t)
	if err := s.PutLegalIntent(LegalIntent{Tag: "nexudus-legal-text-u1", Parent: "p", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.LegalIntent("nexudus-legal-text-u1"); err != nil || !ok {
		t.Fatalf("intent: %v %v", ok, err)
	}
	if err := s.PutLegalFile(LegalFile{Tag: "nexudus-legal-text-u1", CoreDataID: "cd", MD5: "m", SHA256: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.LegalIntent("nexudus-legal-text-u1"); ok {
		t.Fatal("the intent outlived its recorded file")
	}
	f, ok, err := s.LegalFile("nexudus-legal-text-u1")
	if err != nil || !ok || f.SHA256 != "s" {
		t.Fatalf("file %+v %v %v", f, ok, err)
	}
	if err := s.PutLegalFile(LegalFile{Tag: "x"}); err == nil {
		t.Fatal("a file without a CoreData id was recorded")
	}
}

// A text recorded with new bytes marks the months citing it in the same
// transaction (a kill between two commits left registers citing old
// bytes for good); the same bytes again mark nothing.
func TestPutLegalTextMarksCitingMonths(t *testing.T) {
	s := openTemp(t)
	row := AcceptanceRow{ID: 1, BusinessID: 1, Month: "2026-12", TextUniqueID: "u1", CreatedOn: time.Now()}
	if _, err := s.PutAcceptances([]AcceptanceRow{row}); err != nil {
		t.Fatal(err)
	}
	clean := func() {
		if err := s.PutRegister(1, "2026-12", LegalFile{Tag: "reg", CoreDataID: "r", MD5: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	for i, tc := range []struct {
		sha   string
		dirty bool
	}{{"a", true}, {"a", false}, {"b", true}} {
		clean()
		if err := s.PutLegalText(LegalFile{Tag: "nexudus-legal-text-u1", CoreDataID: "t", MD5: "x", SHA256: tc.sha}, "u1"); err != nil {
			t.Fatal(err)
		}
		if got := monthOf(t, s, 1, "2026-12").Dirty; got != tc.dirty {
			t.Errorf("step %d (sha %s): dirty %v, want %v", i, tc.sha, got, tc.dirty)
		}
	}
}
