//go:build unix

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
)

// check holds CoreData and the state file against Nexudus. After a kill
// (final false) a text may hold an older Content, a register may lack
// rows or their text columns, and a file may not be recorded yet; after
// a clean run (final true) everything is exact. before is CoreData before
// the run: no file may have got more than one version in it.
func (lw *legalWorld) check(st seeded, when string, ls legalLs, before legalSnapshot, res result, final bool) legalView {
	st.t.Helper()
	var v legalView
	errs := 0
	errorf := func(format string, args ...any) {
		st.t.Helper()
		if errs++; errs <= legalMaxErrors {
			st.Errorf("%s: %s", when, fmt.Sprintf(format, args...))
		}
	}
	defer func() {
		if errs > legalMaxErrors {
			st.Errorf("%s: ... and %d more problems", when, errs-legalMaxErrors)
		}
		if errs > 0 {
			st.t.Logf("%s: the run's output:\n%s", when, res.output())
		}
	}()

	// What Nexudus holds.
	texts := map[string]nexudustest.TextSpec{} // versions with a parent, by UniqueId
	allTexts := map[string]nexudustest.TextSpec{}
	for _, t := range lw.nx.Texts() {
		allTexts[t.UniqueID] = t
		if _, ok := parents[t.BusinessID]; ok {
			texts[t.UniqueID] = t
		}
	}
	accepted := map[int64]nexudustest.AcceptanceSpec{}
	months := map[registerKey][]nexudustest.AcceptanceSpec{}
	for _, a := range lw.nx.Acceptances() {
		if _, ok := parents[a.BusinessID]; !ok {
			continue
		}
		accepted[a.ID] = a
		k := registerKey{a.BusinessID, legal.Month(a.CreatedOn)}
		months[k] = append(months[k], a)
		v.rows++
	}
	v.wantTexts, v.wantRegisters = len(texts), len(months)

	// What CoreData holds, by tag.
	byTag := map[string][]coredatatest.FileInfo{}
	for _, f := range lw.cd.Files() {
		if n, ok := before.versions[f.ID]; ok && len(f.Versions) > n+1 {
			errorf("CoreData %s (%s) got %d versions in one run; at most one per poll", f.ID, legalTag(f.Tags), len(f.Versions)-n)
		} else if !ok && len(f.Versions) > 2 {
			errorf("CoreData %s (%s) was created with %d versions in one run", f.ID, legalTag(f.Tags), len(f.Versions))
		}
		tag := legalTag(f.Tags)
		if tag == "" {
			continue // a contract: checkContractsBesideLegal's
		}
		for i := 1; i < len(f.Versions); i++ {
			if f.Versions[i].Digest == f.Versions[i-1].Digest {
				errorf("CoreData %s (%s): versions %d and %d hold the same bytes (md5 %s): uploaded again though CoreData had them", f.ID, tag, i, i+1, f.Versions[i].Digest)
			}
		}
		if !slices.Contains(f.Tags, "nexudus") {
			errorf("CoreData %s (%s) lacks the tag nexudus: %v", f.ID, tag, f.Tags)
		}
		byTag[tag] = append(byTag[tag], f)
	}
	for tag, fs := range byTag {
		if len(fs) > 1 {
			st.Fatalf("%s: %d CoreData files tagged %s, want exactly one (%s)\n%s", when, len(fs), tag, describe(fs), res.output())
		}
	}
	one := func(tag string) (coredatatest.FileInfo, bool) {
		fs := byTag[tag]
		if len(fs) != 1 {
			return coredatatest.FileInfo{}, false
		}
		return fs[0], true
	}

	// Texts.
	textFile := map[string]string{} // UniqueId -> its CoreData id
	for tag, fs := range byTag {
		u, ok := legal.ParseTextTag(tag)
		if !ok {
			continue
		}
		f := fs[0]
		t, ok := texts[u]
		if !ok {
			errorf("CoreData %s is tagged %s, a version %s (business %d)", f.ID, tag, map[bool]string{true: "of a location without a parent", false: "Nexudus does not have"}[allTexts[u].UniqueID != ""], allTexts[u].BusinessID)
			continue
		}
		v.texts++
		textFile[u] = f.ID
		if f.Parent != parents[t.BusinessID] {
			errorf("text %s: CoreData %s under parent %s, want %s", u, f.ID, f.Parent, parents[t.BusinessID])
		}
		if final {
			fields := legal.TextFields{UniqueId: t.UniqueID, BusinessId: t.BusinessID, Name: t.Name, Author: t.Author,
				LegalContentType: legalTypeNames[t.LegalContentType], CreatedOn: t.CreatedOn}
			if title, err := lw.titles.Text(fields); err != nil || f.Title != title {
				errorf("text %s: CoreData %s titled %q, want %q (%v)", u, f.ID, f.Title, title, err)
			}
			if name := legal.TextFilename(fields); f.Filename != name {
				errorf("text %s: CoreData %s named %q, want %q", u, f.ID, f.Filename, name)
			}
		}
		want, _ := legal.TextBytes(t.Content)
		switch {
		case bytes.Equal(f.Content, want):
		case final:
			errorf("text %s: CoreData %s holds %d bytes (sha256 %s), not the version's Content (%d bytes, sha256 %s)",
				u, f.ID, len(f.Content), legal.SHA256Hex(f.Content), len(want), legal.SHA256Hex(want))
		case !lw.history[u][legal.SHA256Hex(f.Content)]:
			errorf("text %s: CoreData %s holds %d bytes that were never the version's Content", u, f.ID, len(f.Content))
		}
	}
	if final {
		for u := range texts {
			if _, ok := textFile[u]; !ok {
				errorf("text %s (%s): no CoreData file tagged %s", u, texts[u].Name, legal.TextTag(u))
			}
		}
	}

	// Registers.
	for tag, fs := range byTag {
		business, month, ok := legal.ParseRegisterTag(tag)
		if !ok {
			continue
		}
		f := fs[0]
		k := registerKey{business, month}
		accs, ok := months[k]
		if !ok {
			errorf("CoreData %s is tagged %s, but Nexudus holds no acceptance of a location with a parent in that month", f.ID, tag)
			continue
		}
		v.registers++
		if f.Parent != parents[business] {
			errorf("register %s: CoreData %s under parent %s, want %s", tag, f.ID, f.Parent, parents[business])
		}
		if final {
			if title, err := lw.titles.Register(legal.RegisterFields{BusinessId: business, Month: month}); err != nil || f.Title != title {
				errorf("register %s: CoreData %s titled %q, want %q (%v)", tag, f.ID, f.Title, title, err)
			}
			if name := legal.RegisterFilename(business, month); f.Filename != name {
				errorf("register %s: CoreData %s named %q, want %q", tag, f.ID, f.Filename, name)
			}
		}
		rows, err := legal.ParseRegister(f.Content)
		if err != nil {
			errorf("register %s: CoreData %s does not parse: %v\n%q", tag, f.ID, err, tail(string(f.Content), 600))
			continue
		}
		wantRows := make([]legal.Row, 0, len(accs))
		for _, a := range accs {
			wantRows = append(wantRows, lw.row(a, texts, textFile))
		}
		want := legal.Register(wantRows)
		if final {
			if !bytes.Equal(f.Content, want) {
				errorf("register %s: CoreData %s holds other bytes than legal.Register of the %d acceptances Nexudus holds: %s",
					tag, f.ID, len(accs), diffRows(rows, wantRows))
			}
			continue
		}
		byID := map[int64]legal.Row{}
		for _, r := range wantRows {
			byID[r.ID] = r
		}
		for _, r := range rows {
			w, ok := byID[r.ID]
			if !ok {
				if a, elsewhere := accepted[r.ID]; elsewhere {
					errorf("register %s: row %d belongs to %s", tag, r.ID, legal.RegisterTag(a.BusinessID, legal.Month(a.CreatedOn)))
				} else {
					errorf("register %s: row %d is no acceptance Nexudus holds", tag, r.ID)
				}
				continue
			}
			got := r
			got.TextSHA256, got.TextCoreDataID = "", ""
			w.TextSHA256, w.TextCoreDataID = "", ""
			if !got.CreatedOn.Equal(w.CreatedOn) {
				errorf("register %s: row %d CreatedOn %s, Nexudus has %s", tag, r.ID, got.CreatedOn, w.CreatedOn)
			}
			got.CreatedOn, w.CreatedOn = time.Time{}, time.Time{}
			if got != w {
				errorf("register %s: row %d is %+v, Nexudus has %+v", tag, r.ID, got, w)
			}
			switch {
			case r.TextSHA256 == "" && r.TextCoreDataID == "":
				v.unknownRows++
			case !lw.history[r.TextUniqueID][r.TextSHA256]:
				errorf("register %s: row %d cites sha256 %s, which no Content of version %s ever had", tag, r.ID, r.TextSHA256, r.TextUniqueID)
			case r.TextCoreDataID != textFile[r.TextUniqueID]:
				errorf("register %s: row %d cites CoreData %s for version %s, whose file is %q", tag, r.ID, r.TextCoreDataID, r.TextUniqueID, textFile[r.TextUniqueID])
			}
		}
	}
	if final {
		for k, accs := range months {
			if _, ok := one(legal.RegisterTag(k.business, k.month)); !ok {
				errorf("no register %s for %d acceptances", legal.RegisterTag(k.business, k.month), len(accs))
			}
		}
	}

	// The state file against CoreData.
	for tag, e := range ls.legal {
		if _, ok := legal.ParseTextTag(tag); !ok {
			if _, _, ok := legal.ParseRegisterTag(tag); !ok {
				errorf("state ls: %q is no text or register tag", tag)
			}
		}
		f, inCD := one(tag)
		switch e.Status {
		case "intent":
			v.intents++
			v.intentTags = append(v.intentTags, tag)
			if final {
				errorf("state ls: an intent is still open for %s (%+v)", tag, e)
			}
		case "mirrored":
			if !inCD || f.ID != e.CoreDataID {
				errorf("state ls: %s mirrored as CoreData %q, which CoreData does not hold with that tag", tag, e.CoreDataID)
				continue
			}
			held := false
			for _, ver := range f.Versions {
				held = held || ver.Digest == e.MD5
			}
			if !held {
				errorf("state ls: %s recorded with md5 %s, which CoreData %s never held", tag, e.MD5, f.ID)
			}
			if final && f.Digest != e.MD5 {
				errorf("state ls: %s recorded with md5 %s, CoreData %s holds %s", tag, e.MD5, f.ID, f.Digest)
			}
		default:
			errorf("state ls: %s has status %q", tag, e.Status)
		}
	}
	// What this run made in CoreData and did not record: a file (a
	// create's window), or a version of a file it created earlier or
	// adopted (an update's window).
	for tag, fs := range byTag {
		f := fs[0]
		e, ok := ls.legal[tag]
		mirrored := ok && e.Status == "mirrored"
		if final && !mirrored {
			errorf("CoreData %s (%s) is not recorded as mirrored in the state file (%+v)", f.ID, tag, e)
		}
		if mirrored && e.CoreDataID == f.ID && e.MD5 == f.Digest {
			continue
		}
		switch n, old := before.versions[f.ID]; {
		case !old:
			v.unrecordedCreates = append(v.unrecordedCreates, kindOf(tag))
		case len(f.Versions) > n:
			v.unrecordedUpdates = append(v.unrecordedUpdates, kindOf(tag))
		}
	}
	return v
}

// row is the register row of an acceptance, its text columns those of
// the version's file when CoreData holds it.
func (lw *legalWorld) row(a nexudustest.AcceptanceSpec, texts map[string]nexudustest.TextSpec, textFile map[string]string) legal.Row {
	r := legal.Row{
		ID: a.ID, UniqueID: a.UniqueID, CreatedOn: a.CreatedOn.UTC().Truncate(time.Second), CoworkerID: a.CoworkerID, BusinessID: a.BusinessID,
		LegalContentType: legalTypeNames[a.LegalContentType], Name: a.Name, TariffUniqueID: a.TariffUniqueID, TextUniqueID: a.TextUniqueID,
	}
	if t, ok := texts[a.TextUniqueID]; ok {
		if id, ok := textFile[a.TextUniqueID]; ok {
			data, _ := legal.TextBytes(t.Content)
			r.TextSHA256, r.TextCoreDataID = legal.SHA256Hex(data), id
		}
	}
	return r
}

// legalTypeNames are the names of the LegalContentType numbers 1-6.
var legalTypeNames = []string{"", "GeneralTerms", "VisitorTerms", "CheckoutTerms", "PrivacyPolicy", "CookiesPolicy", "TariffTerms"}

// diffRows names the first difference between two registers' rows.
func diffRows(got, want []legal.Row) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			return fmt.Sprintf("%d rows, want %d; first missing %+v", len(got), len(want), want[i])
		case i >= len(want):
			return fmt.Sprintf("%d rows, want %d; first extra %+v", len(got), len(want), got[i])
		case got[i] != want[i] && !(got[i].CreatedOn.Equal(want[i].CreatedOn) && sameButTime(got[i], want[i])):
			return fmt.Sprintf("row %d is %+v, want %+v", i+1, got[i], want[i])
		}
	}
	return "the same rows, other bytes"
}

func sameButTime(a, b legal.Row) bool {
	a.CreatedOn, b.CreatedOn = time.Time{}, time.Time{}
	return a == b
}

// sameFiles fails unless a run left CoreData as it was: no request that
// writes, every file with the same versions.
func (lw *legalWorld) sameFiles(st seeded, what string, before legalSnapshot) {
	st.t.Helper()
	after := lw.snapshot()
	for _, r := range []coredatatest.Route{coredatatest.RouteBlob, coredatatest.RouteStorage, coredatatest.RouteCreate, coredatatest.RouteUpdateContent, coredatatest.RouteUpdateMetadata} {
		if n := after.counts[r] - before.counts[r]; n != 0 {
			st.Errorf("%s sent %d %s request(s) to CoreData, want none", what, n, r)
		}
	}
	if len(after.files) != len(before.files) {
		st.Errorf("%s: CoreData holds %d files, %d before", what, len(after.files), len(before.files))
	}
	ids := make([]string, 0, len(before.files))
	for id := range before.files {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		b, a := before.files[id], after.files[id]
		if len(a.Versions) != len(b.Versions) || a.Digest != b.Digest || !bytes.Equal(a.Content, b.Content) {
			st.Errorf("%s: CoreData %s (%s) changed: %d versions md5 %s, before %d versions md5 %s", what, id, legalTag(b.Tags), len(a.Versions), a.Digest, len(b.Versions), b.Digest)
		}
	}
}

// checkUnlocked fails unless the state lock is free: every syncd process
// is gone, a killed one included.
func (lw *legalWorld) checkUnlocked(st seeded, when string) {
	st.t.Helper()
	l, err := state.Lock(lw.statePath)
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			st.Errorf("%s: the state lock is still held: %v", when, err)
			return
		}
		st.Fatalf("%s: take the state lock: %v", when, err)
	}
	if err := l.Unlock(); err != nil {
		st.Fatalf("%s: release the state lock: %v", when, err)
	}
}

func (lw *legalWorld) contractIDs() []int64 {
	digests, _, _ := lw.expected()
	ids := make([]int64, 0, len(digests))
	for id := range digests {
		ids = append(ids, id)
	}
	return ids
}

// checkContractsBesideLegal is checkExactlyOne for a CoreData that also
// holds texts and registers (checkExactlyOne counts every CoreData file
// and every state ls line as a contract's): per signed Nexudus file with a
// parent one CoreData file, with the newest digest, mirrored in the state
// file; no other contract file, no intent.
func checkContractsBesideLegal(st seeded, w *world, ls legalLs) {
	st.t.Helper()
	digests, parentOf, err := w.expected()
	if err != nil {
		st.Fatalf("%v", err)
	}
	var contracts []coredatatest.FileInfo
	for _, f := range w.cd.Files() {
		if legalTag(f.Tags) == "" {
			contracts = append(contracts, f)
		}
	}
	byID, untagged := mirrors(contracts)
	if len(untagged) > 0 {
		st.Errorf("%d CoreData file(s) with neither a nexudus-file nor a legal tag, first %+v", len(untagged), untagged[0])
	}
	for id, want := range digests {
		got := byID[id]
		switch {
		case len(got) != 1:
			st.Errorf("Nexudus file %d: %d CoreData files, want exactly 1 (%s)", id, len(got), describe(got))
		case got[0].Digest != want || got[0].Parent != parentOf[id]:
			st.Errorf("Nexudus file %d: CoreData %s md5 %s under %s, want md5 %s under %s", id, got[0].ID, got[0].Digest, got[0].Parent, want, parentOf[id])
		}
		e, ok := ls.contracts[id]
		switch {
		case !ok:
			st.Errorf("state ls: Nexudus file %d missing", id)
		case e.Status != "mirrored" || e.MD5 != want:
			st.Errorf("state ls: Nexudus file %d is %q with md5 %s (last error %q), want mirrored with %s", id, e.Status, e.MD5, e.LastError, want)
		case len(got) == 1 && e.CoreDataID != got[0].ID:
			st.Errorf("state ls: Nexudus file %d maps to %s, CoreData holds it as %s", id, e.CoreDataID, got[0].ID)
		}
	}
	for id, fs := range byID {
		if _, ok := digests[id]; !ok {
			st.Errorf("CoreData holds %d file(s) for Nexudus file %d, which is not signed or has no parent", len(fs), id)
		}
	}
	for id, e := range ls.contracts {
		if _, ok := digests[id]; !ok || e.Status == "intent" {
			st.Errorf("state ls: contract entry %d: %+v", id, e)
		}
	}
}

// killAtResult is one run killed by killAt.
type killAtResult struct {
	result
	elapsed time.Duration // from the start to the kill (or the exit)
}

// killAt starts the binary and kills it with SIGKILL: after delay when
// trigger is nil, else as soon as trigger holds (polled every 250 µs; a
// trigger that does not fire within legalWaitTrigger kills anyway). hit
// says whether the trigger fired while the process lived.
func killAt(st seeded, bin string, delay time.Duration, trigger func() bool, args ...string) (killAtResult, bool) {
	st.t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	began := time.Now()
	if err := cmd.Start(); err != nil {
		st.Fatalf("start syncd: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	exited := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	hit := false
	if trigger == nil {
		select {
		case <-time.After(delay):
		case <-done:
		}
	} else {
		waitUntil(legalWaitTrigger, 250*time.Microsecond, func() bool {
			hit = !exited() && trigger()
			return hit || exited()
		})
	}
	elapsed := time.Since(began)
	_ = cmd.Process.Signal(syscall.SIGKILL) // fails only when it already exited
	<-done
	r := killAtResult{result: result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}, elapsed: elapsed}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		r.killed = true
	}
	return r, hit
}
