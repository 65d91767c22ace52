package verify_test

import (
	"context"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
	"github.com/coworkdocs/syncd/internal/verify"
)

// With legal.enabled verify checks each text version and each register
// against what Nexudus' data gives now: ok after a poll, missing when a
// person deleted one, stale when Nexudus changed since.
func TestVerifyChecksTextsAndRegisters(t *testing.T) {
	w := newWorld(t)
	now := w.nx.Now()
	terms := w.nx.AddText(nexudustest.TextSpec{UniqueID: "t1", BusinessID: 1, Name: "Terms", Content: "terms", UpdatedOn: now.Add(-time.Hour)})
	w.nx.AddText(nexudustest.TextSpec{UniqueID: "t2", BusinessID: 2, Name: "Privacy", Content: "privacy", UpdatedOn: now.Add(-time.Hour)})
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 1, BusinessID: 1, TextUniqueID: "t1", CreatedOn: now.Add(-time.Hour), UpdatedOn: now.Add(-time.Hour)})
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 2, BusinessID: 2, TextUniqueID: "t2", CreatedOn: now.Add(-time.Hour), UpdatedOn: now.Add(-time.Hour)})
	_, st := w.engine()
	eng, err := syncer.New(w.src, w.sink, st, syncer.Options{ParentFor: parentFor, Parents: []string{parentA, parentB}, Lookback: 24 * time.Hour,
		Legal: syncer.LegalOptions{Source: w.src}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	month := legal.Month(now.Add(-time.Hour))
	withLegal := func(o *verify.Options) { o.Legal = w.src }
	byTag := func(rep *result) map[string]verify.Row {
		out := map[string]verify.Row{}
		for _, r := range rep.Rows {
			if r.Tag != "" {
				out[r.Tag] = r
			}
		}
		return out
	}
	rep := w.verify(withLegal)
	rows := byTag(rep)
	for _, tag := range []string{legal.TextTag("t1"), legal.TextTag("t2"), legal.RegisterTag(1, month), legal.RegisterTag(2, month)} {
		if rows[tag].Status != verify.StatusOK {
			t.Errorf("%s: %+v, want ok", tag, rows[tag])
		}
	}
	if !rep.OK() {
		t.Fatalf("not ok after a poll: %+v", rep.Rows)
	}
	w.cd.DeleteFile(rows[legal.RegisterTag(2, month)].CoreDataID)
	w.nx.UpdateText(terms, func(s *nexudustest.TextSpec) { s.Content = "terms, edited" })
	rows = byTag(w.verify(withLegal))
	if rows[legal.RegisterTag(2, month)].Status != verify.StatusMissing || rows[legal.TextTag("t1")].Status != verify.StatusStale ||
		rows[legal.RegisterTag(1, month)].Status != verify.StatusStale || rows[legal.TextTag("t2")].Status != verify.StatusOK {
		t.Fatalf("after a deletion and an edit: %+v", rows)
	}
}
