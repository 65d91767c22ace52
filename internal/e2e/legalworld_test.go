//go:build unix

package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// newLegalWorld is newWorld with its CoreData simulator swapped for one
// that keeps uploaded bytes (the world builds its own with zero Options).
func newLegalWorld(t *testing.T, rng *rand.Rand) *legalWorld {
	t.Helper()
	w := newWorld(t, rng)
	keep := coredatatest.New(coredatatest.Options{KeepContent: true, APIUser: w.cd.APIUser(), APIKey: w.cd.APIKey()})
	t.Cleanup(keep.Close)
	b, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	if strings.Count(cfg, w.cd.URL()) != 1 || strings.Contains(cfg, "\nlegal:") {
		t.Fatalf("the world's config no longer names the CoreData URL once, or already has legal:\n%s", cfg)
	}
	cfg = strings.Replace(cfg, w.cd.URL(), keep.URL(), 1)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w.cd = keep
	m := regexp.MustCompile(`(?m)^state:\n  path: (.+)$`).FindStringSubmatch(cfg)
	if m == nil {
		t.Fatalf("no state.path in the world's config:\n%s", cfg)
	}
	titles, err := legal.ParseTitles(legal.DefaultTextTitle, legal.DefaultRegisterTitle)
	if err != nil {
		t.Fatal(err)
	}
	return &legalWorld{world: w, statePath: m[1], history: map[string]map[string]bool{}, titles: titles}
}

// enableLegal turns terms acceptances on (the keys of
// configs/syncd.example.yaml; the default titles).
func (lw *legalWorld) enableLegal() {
	lw.t.Helper()
	b, err := os.ReadFile(lw.config)
	if err != nil {
		lw.t.Fatal(err)
	}
	if err := os.WriteFile(lw.config, append(b, "legal:\n  enabled: true\n"...), 0o600); err != nil {
		lw.t.Fatal(err)
	}
}

func (lw *legalWorld) guid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(lw.rng.UintN(256))
	}
	h := fmt.Sprintf("%x", b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// content is a version's Content: Markdown with accents, CRLF and LF
// line ends, trailing spaces and no final newline, unique per call.
func (lw *legalWorld) content(name string, revision int) string {
	lw.names++
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\r\n\r\nRévision %d — « conditions » n°%d\r\n", name, revision, lw.names)
	for i := range 3 + lw.rng.IntN(8) {
		fmt.Fprintf(&b, "%d. Le membre accepte la clause %d, \"%s\".  \n", i+1, i+1, strconv.FormatUint(lw.rng.Uint64(), 36))
	}
	b.WriteString("\n_Fin_ ✓")
	return b.String()
}

func (lw *legalWorld) addText(spec nexudustest.TextSpec) nexudustest.TextSpec {
	spec.ID = lw.nx.AddText(spec)
	t := lw.text(spec.ID)
	lw.remember(t)
	return t
}

func (lw *legalWorld) text(id int64) nexudustest.TextSpec {
	for _, t := range lw.nx.Texts() {
		if t.ID == id {
			return t
		}
	}
	lw.t.Fatalf("no text %d in the simulator", id)
	return nexudustest.TextSpec{}
}

func (lw *legalWorld) remember(t nexudustest.TextSpec) {
	if lw.history[t.UniqueID] == nil {
		lw.history[t.UniqueID] = map[string]bool{}
	}
	data, _ := legal.TextBytes(t.Content)
	lw.history[t.UniqueID][legal.SHA256Hex(data)] = true
}

func (lw *legalWorld) newText(business int64, name string, typ int, revision int) nexudustest.TextSpec {
	spec := nexudustest.TextSpec{
		UniqueID: lw.guid(), BusinessID: business, Name: name, Author: "Legal team",
		Content: lw.content(name, revision), LegalContentType: typ,
		CreatedOn: time.Date(2025, 10, 1+lw.rng.IntN(28), 9, lw.rng.IntN(60), 0, 0, time.UTC),
		UpdatedOn: lw.nx.Now().Add(-time.Duration(lw.rng.IntN(120)) * time.Minute).Truncate(time.Second),
	}
	if typ == 6 {
		spec.TariffUniqueID = lw.guid()
	}
	return spec
}

// createdIn is an acceptance's CreatedOn in month: one time in three the
// first or the last second of the month (the bounds of a re-listing by
// CreatedOn, either side of a month boundary), else any second of it.
func (lw *legalWorld) createdIn(month string) time.Time {
	first, err := legal.ParseMonth(month)
	if err != nil {
		lw.t.Fatal(err)
	}
	next := first.AddDate(0, 1, 0)
	switch lw.rng.IntN(6) {
	case 0:
		return first
	case 1:
		return next.Add(-time.Second)
	default:
		return first.Add(time.Duration(lw.rng.Int64N(int64(next.Sub(first)/time.Second))) * time.Second)
	}
}

// accept adds an acceptance of text in its location, created in month
// and last updated ago before now (within sync.lookback, but for the few
// the seed puts beyond it).
func (lw *legalWorld) accept(text nexudustest.TextSpec, month string, ago time.Duration) {
	name := text.Name
	if lw.rng.IntN(4) == 0 {
		name += `, "Flex" plan` // a comma and quotes: a quoted CSV field
	}
	lw.nx.AddAcceptance(nexudustest.AcceptanceSpec{
		UniqueID: lw.guid(), CoworkerID: 500 + lw.rng.Int64N(40), BusinessID: text.BusinessID,
		Name: name, LegalContentType: text.LegalContentType, TariffUniqueID: text.TariffUniqueID,
		TextUniqueID: text.UniqueID, CreatedOn: lw.createdIn(month),
		UpdatedOn: lw.nx.Now().Add(-ago).Truncate(time.Second),
	})
}

// seedLegal publishes two versions in each location with a parent and
// one in location 3 (no parent: never mirrored), and acceptances: of
// location 1 in the first two months, of location 2 in the last two
// (their other month comes in a later round, see change), of location 3
// in all three.
func (lw *legalWorld) seedLegal() {
	lw.addText(lw.newText(1, "Conditions générales", 1, 1))
	lw.addText(lw.newText(1, "Privacy policy", 4, 1))
	lw.addText(lw.newText(2, "General terms", 1, 1))
	lw.addText(lw.newText(2, "Tariff terms, Flex", 6, 1))
	l3 := lw.addText(lw.newText(noParentBusiness, "Terms without a parent", 1, 1))
	lw.months = map[registerKey]bool{
		{1, legalMonths[0]}: true, {1, legalMonths[1]}: true,
		{2, legalMonths[1]}: true, {2, legalMonths[2]}: true,
	}
	lw.later = []registerKey{{1, legalMonths[2]}, {2, legalMonths[0]}}
	for range 12 {
		lw.acceptSome(time.Duration(lw.rng.IntN(120)) * time.Minute)
	}
	// Acceptances last updated three days ago, beyond sync.lookback: no
	// walk by UpdatedOn lists them, yet they are rows of their month,
	// which begins before the state file's stream and is listed whole by
	// CreatedOn before its register is written.
	for range 3 {
		k := lw.acceptSome(time.Duration(lw.rng.IntN(120)) * time.Minute)
		texts := lw.versions(k.business)
		lw.accept(texts[lw.rng.IntN(len(texts))], k.month, 72*time.Hour)
	}
	for range 3 {
		lw.accept(l3, legalMonths[lw.rng.IntN(3)], time.Duration(lw.rng.IntN(120))*time.Minute)
	}
	lw.unpublished = lw.newText(2, "Visitor terms", 2, 1)
}

// versions are the texts of the locations with a parent.
func (lw *legalWorld) versions(business int64) []nexudustest.TextSpec {
	var out []nexudustest.TextSpec
	for _, t := range lw.nx.Texts() {
		if _, ok := parents[t.BusinessID]; ok && (business == 0 || t.BusinessID == business) {
			out = append(out, t)
		}
	}
	return out
}

// acceptSome adds an acceptance of a random version in one of the months
// its location already has, and returns that month.
func (lw *legalWorld) acceptSome(ago time.Duration) registerKey {
	var keys []registerKey
	for k := range lw.months {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].business < keys[j].business || keys[i].business == keys[j].business && keys[i].month < keys[j].month
	})
	k := keys[lw.rng.IntN(len(keys))]
	texts := lw.versions(k.business)
	lw.accept(texts[lw.rng.IntN(len(texts))], k.month, ago)
	return k
}

// monthOf is a random month that business already has.
func (lw *legalWorld) monthOf(business int64) string {
	var ms []string
	for k := range lw.months {
		if k.business == business {
			ms = append(ms, k.month)
		}
	}
	sort.Strings(ms)
	return ms[lw.rng.IntN(len(ms))]
}

// changes is what one change between rounds did.
type changes struct{ acceptances, edits, published int }

// change is what happens in Nexudus before a round: 1-4 acceptances in
// the months the locations have, one of location 3 in 1 round in 5; a
// version's Content edited in 1 round in 3 and before every kill aimed
// at a text's storage PUT or update; a new version (with an acceptance)
// before a kill aimed at a text's create; a location's new month before
// a kill aimed at a register's create (once none is left, that kill
// aims at a register's update instead); in round 3 an acceptance of a
// version Nexudus publishes only in round 19. It returns the aim, changed
// or not.
func (lw *legalWorld) change(round int, aim legalAim) (legalAim, changes) {
	var ch changes
	switch round {
	case 3:
		lw.accept(lw.unpublished, legalMonths[1], time.Minute)
		ch.acceptances++
	case 19:
		lw.unpublished.UpdatedOn = lw.nx.Now().Truncate(time.Second)
		lw.addText(lw.unpublished)
		ch.published++
	}
	switch {
	case aim == legalAim{legalKillOnCreate, "text"}:
		texts := lw.versions(0)
		base := texts[lw.rng.IntN(len(texts))]
		spec := lw.newText(base.BusinessID, base.Name, base.LegalContentType, 1+round)
		if lw.rng.IntN(2) == 0 {
			spec.CreatedOn = base.CreatedOn // the same title as base's: only the tag tells them apart
		}
		spec.UpdatedOn = lw.nx.Now().Truncate(time.Second)
		v := lw.addText(spec)
		lw.accept(v, lw.monthOf(v.BusinessID), 0)
		ch.published++
		ch.acceptances++
	case aim == legalAim{legalKillOnCreate, "register"}:
		if len(lw.later) > 0 {
			k := lw.later[0]
			lw.later = lw.later[1:]
			lw.months[k] = true
			texts := lw.versions(k.business)
			lw.accept(texts[lw.rng.IntN(len(texts))], k.month, 0)
			ch.acceptances++
		} else if !lw.registerMissing() {
			aim = legalAim{legalKillOnUpdate, "register"}
		}
	}
	for range 1 + lw.rng.IntN(4) {
		lw.acceptSome(time.Duration(lw.rng.IntN(5)) * time.Minute)
		ch.acceptances++
	}
	if lw.rng.IntN(5) == 0 {
		for _, t := range lw.nx.Texts() {
			if t.BusinessID == noParentBusiness {
				lw.accept(t, legalMonths[lw.rng.IntN(3)], 0)
				ch.acceptances++
				break
			}
		}
	}
	if lw.rng.IntN(3) == 0 || aim == (legalAim{legalKillOnStorage, "text"}) || aim == (legalAim{legalKillOnUpdate, "text"}) {
		texts := lw.versions(0)
		t := texts[lw.rng.IntN(len(texts))]
		lw.nx.UpdateText(t.ID, func(s *nexudustest.TextSpec) {
			s.Content = lw.content(s.Name, round) + "\n\n## Amendment " + itoa(int64(round))
		})
		lw.remember(lw.text(t.ID))
		ch.edits++
	}
	return aim, ch
}

// registerMissing reports whether a location's month has no register
// file yet.
func (lw *legalWorld) registerMissing() bool {
	have := map[string]bool{}
	for _, f := range lw.cd.Files() {
		have[legalTag(f.Tags)] = true
	}
	for k := range lw.months {
		if !have[legal.RegisterTag(k.business, k.month)] {
			return true
		}
	}
	return false
}

// kindOf is "text" or "register" for a legal tag, else "".
func kindOf(tag string) string {
	if _, ok := legal.ParseTextTag(tag); ok {
		return "text"
	}
	if _, _, ok := legal.ParseRegisterTag(tag); ok {
		return "register"
	}
	return ""
}

// trigger is the condition a round's kill waits for; nil at random. A
// register's storage PUT or update waits for the nth of the run (1-3),
// so that kills reach the later registers of a poll too (a run with
// fewer ends on its own). It is polled by one goroutine only.
func (lw *legalWorld) trigger(aim legalAim, before legalSnapshot, nth int) func() bool {
	storage := func() int { return lw.cd.Count(coredatatest.RouteStorage) }
	switch aim.kill {
	case legalKillOnStorage:
		if aim.kind == "text" {
			// Texts are mirrored first: the run's first PUT is a text's.
			return func() bool { return storage() > before.counts[coredatatest.RouteStorage] }
		}
		// A register's: the first PUT after every text holds its
		// current Content (the last text's update is applied at least
		// two API latencies before a register's PUT).
		want := map[string][]byte{}
		for _, t := range lw.versions(0) {
			want[legal.TextTag(t.UniqueID)], _ = legal.TextBytes(t.Content)
		}
		baseline := -1
		return func() bool {
			if baseline >= 0 {
				return storage()-baseline >= nth
			}
			n := storage()
			current := 0
			for _, f := range lw.cd.Files() {
				if w, ok := want[legalTag(f.Tags)]; ok && bytes.Equal(f.Content, w) {
					current++
				}
			}
			if current == len(want) {
				baseline = n
			}
			return false
		}
	case legalKillOnCreate:
		return func() bool {
			for _, f := range lw.cd.Files() {
				if _, old := before.versions[f.ID]; !old && kindOf(legalTag(f.Tags)) == aim.kind {
					return true
				}
			}
			return false
		}
	case legalKillOnUpdate:
		if aim.kind == "text" {
			nth = 1
		}
		return func() bool {
			updated := 0
			for _, f := range lw.cd.Files() {
				if n, old := before.versions[f.ID]; old && len(f.Versions) > n && kindOf(legalTag(f.Tags)) == aim.kind {
					updated++
				}
			}
			return updated >= nth
		}
	}
	return nil
}

// settle waits (briefly) until CoreData has logged every request it
// counted: the requests a killed process left in flight end when their
// connection closes. The log keeps 5,000 requests, more than the test
// sends.
func (lw *legalWorld) settle() {
	waitUntil(time.Second, time.Millisecond, func() bool { return len(lw.cd.Requests()) == totalRequests(lw.cd) })
}

// unusedBlobs returns the kind ("text", "register") of every blob PUT to
// storage since the last call that no file version uses: a kill landed
// between the PUT and the create or update.
func (lw *legalWorld) unusedBlobs(seen map[string]bool) []string {
	var kinds []string
	for _, r := range lw.cd.Requests() {
		if r.Route != coredatatest.RouteStorage || seen[r.Path] {
			continue
		}
		seen[r.Path] = true
		b, ok := lw.cd.Blob(strings.TrimPrefix(r.Path, "/laika/"))
		if !ok || b.Used {
			continue
		}
		switch {
		case strings.HasPrefix(b.ContentType, "text/csv"):
			kinds = append(kinds, "register")
		case strings.HasPrefix(b.ContentType, "text/markdown"):
			kinds = append(kinds, "text")
		default:
			kinds = append(kinds, b.ContentType)
		}
	}
	return kinds
}

// legalSnapshot is CoreData before a run: request counts and the number
// of versions of every file.
type legalSnapshot struct {
	counts   map[coredatatest.Route]int
	versions map[string]int
	files    map[string]coredatatest.FileInfo
}

func (lw *legalWorld) snapshot() legalSnapshot {
	s := legalSnapshot{counts: lw.cd.Counts(), versions: map[string]int{}, files: map[string]coredatatest.FileInfo{}}
	for _, f := range lw.cd.Files() {
		s.versions[f.ID] = len(f.Versions)
		s.files[f.ID] = f
	}
	return s
}

// legalRequests counts the CoreData requests that write: after the
// contracts' first mirror, all of them are of texts and registers.
func (s legalSnapshot) legalRequests() int {
	return s.counts[coredatatest.RouteBlob] + s.counts[coredatatest.RouteStorage] +
		s.counts[coredatatest.RouteCreate] + s.counts[coredatatest.RouteUpdateContent]
}

// legalTag is the nexudus-legal-* tag among tags, or "".
func legalTag(tags []string) string {
	for _, t := range tags {
		if _, ok := legal.ParseTextTag(t); ok {
			return t
		}
		if _, _, ok := legal.ParseRegisterTag(t); ok {
			return t
		}
	}
	return ""
}

// lsLine is one line of `syncd state ls -json`: a contract, or with
// Kind set a text or a register.
type lsLine struct {
	Kind       string `json:"kind"`
	Tag        string `json:"tag"`
	NexudusID  int64  `json:"nexudus_id"`
	CoreDataID string `json:"coredata_id"`
	MD5        string `json:"md5"`
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	LastError  string `json:"last_error"`
}

// legalLs is `syncd state ls -json` split: contracts by Nexudus Id, texts
// and registers by tag.
type legalLs struct {
	contracts map[int64]lsLine
	legal     map[string]lsLine
}

func mustLegalLs(st seeded, bin, config, what string, args ...any) legalLs {
	st.t.Helper()
	r := runSyncd(bin, "state", "-config", config, "ls", "-json")
	if r.code != 0 {
		st.Fatalf("%s: exit %d (3: a killed process kept the lock)\n%s", fmt.Sprintf(what, args...), r.code, r.output())
	}
	lines, err := jsonLines[lsLine](r.stdout)
	if err != nil {
		st.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
	out := legalLs{contracts: map[int64]lsLine{}, legal: map[string]lsLine{}}
	for _, e := range lines {
		if e.Kind == "" {
			out.contracts[e.NexudusID] = e
			continue
		}
		if _, dup := out.legal[e.Tag]; dup {
			st.Fatalf("%s: tag %s listed twice", fmt.Sprintf(what, args...), e.Tag)
		}
		out.legal[e.Tag] = e
	}
	return out
}

// legalView is what check found.
type legalView struct {
	texts, wantTexts, registers, wantRegisters, rows int
	intents, unknownRows                             int
	intentTags                                       []string
	// The kinds of the files this run made that the state file does not
	// map (a create's window), and of those it gave a version the state
	// file does not record (an update's).
	unrecordedCreates, unrecordedUpdates []string
}

// key of an acceptance's register.
type registerKey struct {
	business int64
	month    string
}
