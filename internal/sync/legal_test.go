package sync_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// legalWorld is a harness with terms acceptances on, CoreData keeping
// every version's bytes.
type legalWorld struct {
	*harness
}

func newLegalWorld(t *testing.T, nxOpts nexudustest.Options) *legalWorld {
	h := newHarnessWith(t, nxOpts, coredatatest.Options{KeepContent: true})
	return &legalWorld{h}
}

func (w *legalWorld) legalOn(o *syncer.Options) { o.Legal = syncer.LegalOptions{Source: w.src} }

func (w *legalWorld) poll() *syncer.Report {
	w.t.Helper()
	rep, err := w.engine(w.legalOn).Poll(context.Background())
	if err != nil {
		w.t.Fatalf("poll: %v", err)
	}
	return rep
}

// filesTagged are the CoreData files carrying tag.
func (w *legalWorld) filesTagged(tag string) []coredatatest.FileInfo {
	var out []coredatatest.FileInfo
	for _, f := range w.cd.Files() {
		for _, t := range f.Tags {
			if t == tag {
				out = append(out, f)
			}
		}
	}
	return out
}

func (w *legalWorld) one(tag string) coredatatest.FileInfo {
	w.t.Helper()
	fs := w.filesTagged(tag)
	if len(fs) != 1 {
		w.t.Fatalf("%d CoreData files tagged %s, want exactly one", len(fs), tag)
	}
	return fs[0]
}

// register reads the current bytes of a register back.
func (w *legalWorld) register(business int64, month string) ([]legal.Row, []byte) {
	w.t.Helper()
	f := w.one(legal.RegisterTag(business, month))
	b := f.Versions[len(f.Versions)-1].Content
	rows, err := legal.ParseRegister(b)
	if err != nil {
		w.t.Fatalf("register %d %s: %v\n%s", business, month, err, b)
	}
	return rows, b
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// The rules of SPEC "Terms acceptances", from the first poll to steady
// state: each version one file holding its Content, one register per
// location and month citing the text's digest and file, and a poll with
// nothing new that uploads nothing and lists one page of each.
func TestLegalMirrorsTextsAndRegisters(t *testing.T) {
	w := newLegalWorld(t, nexudustest.Options{})
	now := w.nx.Now()
	nov := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	terms := w.nx.AddText(nexudustest.TextSpec{UniqueID: "terms-v1", BusinessID: 1, Name: "General terms", Content: "# Terms\n\nBe kind, \"always\".\n", LegalContentType: 1, UpdatedOn: now.Add(-2 * time.Hour)})
	w.nx.AddText(nexudustest.TextSpec{UniqueID: "privacy-v3", BusinessID: 2, Name: "Privacy", Content: "Privée: données", LegalContentType: 4, UpdatedOn: now.Add(-2 * time.Hour)})
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 11, BusinessID: 1, Name: "General terms", LegalContentType: 1, TextUniqueID: "terms-v1", CreatedOn: nov, UpdatedOn: now.Add(-time.Hour)})
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 12, BusinessID: 1, Name: "General terms", LegalContentType: 1, TextUniqueID: "terms-v1", CreatedOn: nov.Add(time.Hour), UpdatedOn: now.Add(-time.Hour)})
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 13, BusinessID: 2, Name: "Privacy", LegalContentType: 4, TextUniqueID: "privacy-v3", CreatedOn: nov, UpdatedOn: now.Add(-time.Hour)})
	contract := w.addSigned(1, "A", "a")

	rep := w.poll()
	if rep.Created != 1 || rep.Legal.Acceptances != 3 || rep.Legal.UnknownTexts != 0 {
		t.Fatalf("first poll: %s", rep.Summary())
	}
	w.coreDataFileOf(contract)
	text := w.one(legal.TextTag("terms-v1"))
	if got := string(text.Versions[0].Content); got != "# Terms\n\nBe kind, \"always\".\n" || text.Parent != parentA || !strings.HasSuffix(text.Filename, ".md") {
		t.Fatalf("text file %+v holds %q", text, got)
	}
	rows, _ := w.register(1, "2026-11")
	if len(rows) != 2 || rows[0].CoworkerID != 11 || rows[1].CoworkerID != 12 {
		t.Fatalf("register rows %+v", rows)
	}
	for _, r := range rows {
		if r.TextSHA256 != sha("# Terms\n\nBe kind, \"always\".\n") || r.TextCoreDataID != text.ID || r.LegalContentType != "GeneralTerms" {
			t.Fatalf("row %+v: text columns", r)
		}
	}
	if reg := w.one(legal.RegisterTag(1, "2026-11")); reg.Parent != parentA {
		t.Fatalf("register under %s, want %s", reg.Parent, parentA)
	}
	w.register(2, "2026-11")

	// Steady state: nothing new costs one page of each list, no upload.
	w.nx.ResetCounts()
	w.cd.ResetCounts()
	w.now = w.now.Add(5 * time.Minute)
	rep = w.poll()
	if n := w.cd.Count(coredatatest.RouteStorage); n != 0 {
		t.Fatalf("a poll with nothing new uploaded %d times (%s)", n, rep.Summary())
	}
	if a, x := w.nx.Count(nexudustest.RouteAudits), w.nx.Count(nexudustest.RouteTexts); a != 1 || x != 1 {
		t.Fatalf("a quiet poll listed acceptances %d and texts %d times, want 1 and 1", a, x)
	}

	// A new acceptance: its month's register gets one new version.
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 14, BusinessID: 1, Name: "General terms", LegalContentType: 1, TextUniqueID: "terms-v1", CreatedOn: nov.Add(2 * time.Hour), UpdatedOn: w.nx.Now()})
	w.now = w.now.Add(5 * time.Minute)
	w.poll()
	if reg := w.one(legal.RegisterTag(1, "2026-11")); len(reg.Versions) != 2 {
		t.Fatalf("register versions %d, want 2", len(reg.Versions))
	}
	if rows, _ = w.register(1, "2026-11"); len(rows) != 3 {
		t.Fatalf("rows after a new acceptance: %d", len(rows))
	}

	// An administrator edits the version's Content: a new version of its
	// file, and the registers citing it show the new digest.
	w.nx.UpdateText(terms, func(s *nexudustest.TextSpec) { s.Content = "# Terms\n\nBe kind.\n" })
	w.now = w.now.Add(5 * time.Minute)
	w.poll()
	text = w.one(legal.TextTag("terms-v1"))
	if len(text.Versions) != 2 || string(text.Versions[1].Content) != "# Terms\n\nBe kind.\n" {
		t.Fatalf("text versions after the edit: %d", len(text.Versions))
	}
	if rows, _ = w.register(1, "2026-11"); rows[0].TextSHA256 != sha("# Terms\n\nBe kind.\n") {
		t.Fatalf("register still cites %s", rows[0].TextSHA256)
	}
}

// Months are Nexudus' wall clock: acceptances a minute apart across a
// month's end go to two registers, and with the trap of local time with a
// literal Z the month is the one Nexudus shows, not a UTC conversion.
func TestLegalMonthBoundaryAndLocalTimeTrap(t *testing.T) {
	for _, trap := range []bool{false, true} {
		name := "UTC"
		if trap {
			name = "local time with a literal Z"
		}
		t.Run(name, func(t *testing.T) {
			w := newLegalWorld(t, nexudustest.Options{LocalTimeWithZ: trap})
			now := w.nx.Now()
			w.nx.AddText(nexudustest.TextSpec{UniqueID: "t1", BusinessID: 1, Name: "Terms", Content: "x", UpdatedOn: now.Add(-time.Hour)})
			zone := time.UTC
			if trap {
				zone = time.FixedZone("tenant", 3600)
			}
			last := time.Date(2026, 11, 30, 23, 59, 0, 0, zone)
			w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 1, BusinessID: 1, TextUniqueID: "t1", CreatedOn: last, UpdatedOn: now.Add(-time.Hour)})
			w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 2, BusinessID: 1, TextUniqueID: "t1", CreatedOn: last.Add(time.Minute), UpdatedOn: now.Add(-time.Hour)})
			w.poll()
			nov, _ := w.register(1, "2026-11")
			dec, _ := w.register(1, "2026-12")
			if len(nov) != 1 || nov[0].CoworkerID != 1 || len(dec) != 1 || dec[0].CoworkerID != 2 {
				t.Fatalf("November %+v, December %+v", nov, dec)
			}
		})
	}
}

// A lost state file: the next poll lists the months it touches whole
// from Nexudus, builds the same bytes, finds the files by their tags and
// uploads nothing.
func TestLegalLostStateFileUploadsNothing(t *testing.T) {
	w := newLegalWorld(t, nexudustest.Options{})
	now := w.nx.Now()
	w.nx.AddText(nexudustest.TextSpec{UniqueID: "t1", BusinessID: 1, Name: "Terms", Content: "terms", UpdatedOn: now.Add(-48 * time.Hour)})
	for i := range 5 {
		// Two old ones (outside the lookback), three recent.
		up := now.Add(-72 * time.Hour)
		if i >= 2 {
			up = now.Add(-time.Hour)
		}
		w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: int64(100 + i), BusinessID: 1, TextUniqueID: "t1", CreatedOn: time.Date(2026, 12, 1, 8, i, 0, 0, time.UTC), UpdatedOn: up})
	}
	// The first adopter backfills; then steady state.
	if _, err := w.engine(w.legalOn).Backfill(context.Background(), now.Add(-7*24*time.Hour), 7*24*time.Hour, nil); err != nil {
		t.Fatal(err)
	}
	w.poll()
	_, before := w.register(1, "2026-12")
	if rows, _ := w.register(1, "2026-12"); len(rows) != 5 {
		t.Fatalf("rows %d, want 5", len(rows))
	}
	w.loseState()
	w.cd.ResetCounts()
	w.now = w.now.Add(5 * time.Minute)
	rep := w.poll()
	if n := w.cd.Count(coredatatest.RouteStorage) + w.cd.Count(coredatatest.RouteCreate) + w.cd.Count(coredatatest.RouteUpdateContent); n != 0 {
		t.Fatalf("after a lost state file: %d uploads, creates or content updates (%s)", n, rep.Summary())
	}
	_, after := w.register(1, "2026-12")
	if string(before) != string(after) {
		t.Fatalf("the register changed:\n%s\n%s", before, after)
	}
	if rep.Legal.Files["register/adopted"] != 1 || rep.Legal.Files["text/adopted"] != 1 {
		t.Fatalf("legal files %v, want the text and the register adopted", rep.Legal.Files)
	}
}

// A 403 for either role is one error line per poll naming it, the
// metric, and no contract held back; the registers are written without
// the texts meanwhile, and filled in once the role is given.
func TestLegalMissingRoles(t *testing.T) {
	for _, role := range []string{nexudus.RoleAcceptances, nexudus.RoleTexts} {
		t.Run(role, func(t *testing.T) {
			w := newLegalWorld(t, nexudustest.Options{})
			now := w.nx.Now()
			w.nx.AddText(nexudustest.TextSpec{UniqueID: "t1", BusinessID: 1, Name: "Terms", Content: "terms", UpdatedOn: now.Add(-time.Hour)})
			w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 1, BusinessID: 1, TextUniqueID: "t1", CreatedOn: now.Add(-time.Hour), UpdatedOn: now.Add(-time.Hour)})
			contract := w.addSigned(1, "A", "a")
			w.nx.DenyRole(role)
			rep := w.poll()
			w.coreDataFileOf(contract) // mirrored regardless
			if len(rep.Legal.Denied) != 1 || rep.Legal.Denied[0] != role || !strings.Contains(rep.Summary(), role) {
				t.Fatalf("report: %s %v", rep.Summary(), rep.Legal.Denied)
			}
			month := legal.Month(now.Add(-time.Hour))
			if role == nexudus.RoleTexts {
				rows, _ := w.register(1, month)
				if len(rows) != 1 || rows[0].TextSHA256 != "" || rep.Legal.UnknownTexts != 1 {
					t.Fatalf("without the texts: rows %+v, unknown %d", rows, rep.Legal.UnknownTexts)
				}
			} else if len(w.filesTagged(legal.RegisterTag(1, month))) != 0 {
				t.Fatal("a register without its acceptances")
			}
			w.nx.AllowRole(role)
			w.now = w.now.Add(5 * time.Minute)
			if rep = w.poll(); len(rep.Legal.Denied) != 0 {
				t.Fatalf("after the role was given: %v", rep.Legal.Denied)
			}
			rows, _ := w.register(1, month)
			if len(rows) != 1 || rows[0].TextSHA256 != sha("terms") {
				t.Fatalf("rows once the role is given: %+v", rows)
			}
		})
	}
}

// An acceptance of a version that Nexudus cannot show yet is a row with
// empty text columns, counted, never dropped, and filled in later.
func TestLegalUnknownVersionIsFilledInLater(t *testing.T) {
	w := newLegalWorld(t, nexudustest.Options{})
	now := w.nx.Now()
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 1, BusinessID: 1, TextUniqueID: "late", CreatedOn: now.Add(-time.Hour), UpdatedOn: now.Add(-time.Hour)})
	rep := w.poll()
	month := legal.Month(now.Add(-time.Hour))
	rows, _ := w.register(1, month)
	if len(rows) != 1 || rows[0].TextSHA256 != "" || rows[0].TextUniqueID != "late" || rep.Legal.UnknownTexts != 1 {
		t.Fatalf("rows %+v unknown %d", rows, rep.Legal.UnknownTexts)
	}
	w.nx.AddText(nexudustest.TextSpec{UniqueID: "late", BusinessID: 1, Name: "Terms", Content: "late terms", UpdatedOn: w.nx.Now()})
	w.now = w.now.Add(5 * time.Minute)
	if rep = w.poll(); rep.Legal.UnknownTexts != 0 {
		t.Fatalf("still unknown: %s", rep.Summary())
	}
	if rows, _ = w.register(1, month); rows[0].TextSHA256 != sha("late terms") || rows[0].TextCoreDataID != w.one(legal.TextTag("late")).ID {
		t.Fatalf("row not filled in: %+v", rows[0])
	}
}

// The daemon's audit judges texts and registers as contracts: a deleted
// register and a deleted text are written again at once, a removed tag is
// put back, a re-filed register is followed, a person's version of a text
// is reported; the next audit finds them all ok.
func TestAuditRepairsTextsAndRegisters(t *testing.T) {
	w := newLegalWorld(t, nexudustest.Options{})
	now := w.nx.Now()
	month := legal.Month(now.Add(-time.Hour))
	for i, u := range []string{"t1", "t2", "t3"} {
		w.nx.AddText(nexudustest.TextSpec{UniqueID: u, BusinessID: 1, Name: "Terms " + u, Content: "content " + u, UpdatedOn: now.Add(-2 * time.Hour)})
		w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: int64(i + 1), BusinessID: 1, TextUniqueID: u, CreatedOn: now.Add(-time.Hour), UpdatedOn: now.Add(-time.Hour)})
	}
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 9, BusinessID: 2, TextUniqueID: "t1", CreatedOn: now.Add(-time.Hour), UpdatedOn: now.Add(-time.Hour)})
	w.poll()
	deletedReg := w.one(legal.RegisterTag(1, month))
	deletedText := w.one(legal.TextTag("t1"))
	untagged := w.one(legal.TextTag("t2"))
	edited := w.one(legal.TextTag("t3"))
	moved := w.one(legal.RegisterTag(2, month))
	w.cd.DeleteFile(deletedReg.ID)
	w.cd.DeleteFile(deletedText.ID)
	w.cd.SetTags(untagged.ID, []string{"nexudus", "legal-hold"})
	w.cd.UploadVersion(edited.ID, []byte("a person's edit"), "text/markdown")
	const elsewhere = "4f1e0c3a-0000-4000-8000-00000000aaaa"
	w.cd.Move(moved.ID, elsewhere)

	rep, err := w.engine(w.legalOn).Audit(context.Background(), repairs)
	if err != nil {
		t.Fatal(err)
	}
	byTag := map[string]syncer.AuditProblem{}
	for _, p := range rep.Problems {
		byTag[p.Tag] = p
	}
	for tag, want := range map[string]syncer.AuditStatus{
		legal.RegisterTag(1, month): syncer.AuditMissing, legal.TextTag("t1"): syncer.AuditMissing,
		legal.TextTag("t2"): syncer.AuditUntagged, legal.TextTag("t3"): syncer.AuditDrift, legal.RegisterTag(2, month): syncer.AuditMoved,
	} {
		if byTag[tag].Status != want {
			t.Errorf("%s: %+v, want %s", tag, byTag[tag], want)
		}
	}
	text := w.one(legal.TextTag("t1"))
	if text.ID == deletedText.ID || string(text.Versions[0].Content) != "content t1" {
		t.Fatalf("the deleted text was not written again: %+v", text)
	}
	rows, _ := w.register(1, month)
	if len(rows) != 3 || rows[0].TextCoreDataID != text.ID {
		t.Fatalf("the deleted register was not rebuilt citing the new text file: %+v", rows)
	}
	if f := w.one(legal.TextTag("t2")); f.ID != untagged.ID || !containsTag(f.Tags, "legal-hold") {
		t.Fatalf("tag not put back beside the person's: %+v", f.Tags)
	}
	if f := w.one(legal.TextTag("t3")); len(f.Versions) != 2 {
		t.Fatalf("the person's version was overwritten: %d versions", len(f.Versions))
	}
	// Register 2 cites t1, whose file is new: its next version goes to
	// the file where the person put it.
	w.now = w.now.Add(5 * time.Minute)
	w.poll()
	if f := w.one(legal.RegisterTag(2, month)); f.ID != moved.ID || f.Parent != elsewhere {
		t.Fatalf("the re-filed register: %+v", f)
	}
	again, err := w.engine(w.legalOn).Audit(context.Background(), repairs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range again.Problems {
		if p.Tag != "" && p.Status != syncer.AuditDrift {
			t.Errorf("after the repairs: %+v", p)
		}
	}
}

func containsTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

// An administrator deletes an acceptance in Nexudus: no UpdatedOn moves,
// so no poll sees it, and its row stays in the register as evidence that
// it was there (README "Terms acceptances"); later registers keep it.
func TestLegalDeletedAcceptanceKeepsItsRow(t *testing.T) {
	w := newLegalWorld(t, nexudustest.Options{})
	now := w.nx.Now()
	w.nx.AddText(nexudustest.TextSpec{UniqueID: "t1", BusinessID: 1, Name: "Terms", Content: "terms", UpdatedOn: now.Add(-time.Hour)})
	gone := w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 1, BusinessID: 1, TextUniqueID: "t1", CreatedOn: now.Add(-time.Hour), UpdatedOn: now.Add(-time.Hour)})
	w.poll()
	month := legal.Month(now.Add(-time.Hour))
	w.nx.DeleteAcceptance(gone)
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 2, BusinessID: 1, TextUniqueID: "t1", CreatedOn: now.Add(-time.Hour), UpdatedOn: w.nx.Now()})
	w.now = w.now.Add(5 * time.Minute)
	w.poll()
	rows, _ := w.register(1, month)
	if len(rows) != 2 || rows[0].ID != gone {
		t.Fatalf("rows %+v: the deleted acceptance's row must stay", rows)
	}
}

// A dry run writes nothing anywhere, terms acceptances included.
func TestLegalDryRunWritesNothing(t *testing.T) {
	w := newLegalWorld(t, nexudustest.Options{})
	now := w.nx.Now()
	w.nx.AddText(nexudustest.TextSpec{UniqueID: "t1", BusinessID: 1, Name: "Terms", Content: "terms", UpdatedOn: now.Add(-time.Hour)})
	w.nx.AddAcceptance(nexudustest.AcceptanceSpec{CoworkerID: 1, BusinessID: 1, TextUniqueID: "t1", CreatedOn: now.Add(-time.Hour), UpdatedOn: now.Add(-time.Hour)})
	if _, err := w.engine(w.legalOn, func(o *syncer.Options) { o.DryRun = true }).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(w.cd.Files()); n != 0 {
		t.Fatalf("a dry run made %d CoreData files", n)
	}
}

// Guarantee 5 for texts and registers: a file's own failure (CoreData
// refusing its create) backs off and is parked after max_attempts, never
// holding the others back; new bytes are tried at once.
func TestLegalFileOwnFailureBacksOffAndParks(t *testing.T) {
	w := newLegalWorld(t, nexudustest.Options{})
	now := w.nx.Now()
	bad := w.nx.AddText(nexudustest.TextSpec{UniqueID: "bad", BusinessID: 1, Name: "Terms", Content: "refused", UpdatedOn: now.Add(-time.Hour)})
	w.nx.AddText(nexudustest.TextSpec{UniqueID: "good", BusinessID: 2, Name: "Privacy", Content: "fine", UpdatedOn: now.Add(-time.Hour)})
	// CoreData refuses the first create of a poll (the refused text's:
	// texts are walked by UpdatedOn, then Id); the other one does not
	// wait for it.
	refuse := func() { w.cd.InjectFault(coredatatest.Fault{Route: coredatatest.RouteCreate, Status: 422, Times: 1}) }
	twoAttempts := func(o *syncer.Options) { w.legalOn(o); o.MaxAttempts = 2 }
	poll := func() *syncer.Report {
		rep, _ := w.engine(twoAttempts).Poll(context.Background())
		return rep
	}
	refuse()
	poll()
	if got := len(w.filesTagged(legal.TextTag("bad"))); got != 0 {
		t.Fatalf("%d files for the refused text", got)
	}
	w.one(legal.TextTag("good"))
	creates := w.creates()
	if rep := poll(); rep.Legal.Files["text/waiting"] != 1 || w.creates() != creates {
		t.Fatalf("inside its backoff the text was tried again: %v, %d creates", rep.Legal.Files, w.creates()-creates)
	}
	w.now = w.now.Add(time.Hour) // past the backoff: the second attempt parks it
	w.nx.Advance(time.Hour)
	refuse()
	poll()
	w.now = w.now.Add(24 * time.Hour)
	w.nx.Advance(24 * time.Hour)
	creates = w.creates()
	if rep := poll(); rep.Legal.Files["text/waiting"] != 1 || w.creates() != creates {
		t.Fatalf("a parked text was tried again: %v", rep.Legal.Files)
	}
	w.cd.ClearFaults()
	w.nx.UpdateText(bad, func(s *nexudustest.TextSpec) { s.Content = "accepted now" })
	w.now = w.now.Add(5 * time.Minute)
	w.nx.Advance(5 * time.Minute)
	poll()
	if f := w.one(legal.TextTag("bad")); string(f.Versions[0].Content) != "accepted now" {
		t.Fatalf("new bytes were not tried at once: %q", f.Versions[0].Content)
	}
}
