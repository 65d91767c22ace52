//go:build unix

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/legal"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// The terms-acceptance kill test's shape. The contracts are mirrored
// once before the rounds (with legal.enabled off) and never change, so
// every CoreData upload of a round is a text's or a register's. Each
// round changes Nexudus (acceptances added, by turns a text edited or a
// version published), runs `run -once` and kills it; a whole run takes
// ~100-500 ms with the latencies below, so rounds are short and many.
const (
	legalContracts      = 5  // per location: 9 signed contracts with a parent, 1 unsigned, beside the legal files
	legalRounds         = 36 // three turns of legalAims, and more until every window was hit
	legalMaxRounds      = 96
	legalMinRounds      = 24 // what a slow machine must still reach within the budget
	legalMinKills       = 20
	legalMinInside      = 10 // kills that must land inside the upload of a text or register
	legalRoundsBudget   = 40 * time.Second
	legalMaxRandomDelay = 500 * time.Millisecond // past the end of most runs: every part of a run gets kills
	legalWaitTrigger    = 5 * time.Second
	legalMaxErrors      = 25
)

// The register months: three, across two month boundaries (one a year's).
var legalMonths = []string{"2025-11", "2025-12", "2026-01"}

// legalKill is the moment a round's SIGKILL aims at.
type legalKill int

const (
	// legalKillRandom: 0-500 ms after the start, whatever runs then:
	// start-up, the contracts' poll, the listing of texts or acceptances
	// (each page's rows and dirty marks written in one transaction), a
	// month's re-listing by CreatedOn, any step of any upload below, the
	// state writes between them, the gap between two registers.
	legalKillRandom legalKill = iota
	// legalKillOnStorage: a text's or register's bytes have reached the
	// storage route, whose answer waits out the storage latency: the
	// blob is there, but the create (after its intent) or the content
	// update was never sent. The next run uploads again into the one
	// file; a create's lookup by tag finds nothing and creates once.
	legalKillOnStorage
	// legalKillOnCreate: a new text or register file has appeared in
	// CoreData, its answer held back by the API latency: the state file
	// holds the intent only, without the id. The next run must find the
	// file by its tag and adopt it; a second create is the duplicate
	// guarantee 1 forbids.
	legalKillOnCreate
	// legalKillOnUpdate: a new version of a text or register has
	// appeared in CoreData, its answer held back: the state file still
	// records the old md5. The next run must see that CoreData holds the
	// bytes and upload nothing (guarantee 2), never a second file.
	legalKillOnUpdate
)

func (k legalKill) String() string {
	return [...]string{"random", "on-storage", "on-create", "on-update"}[k]
}

// legalAim is a round's kill: when, and whose upload a trigger waits
// for. Texts are mirrored before the registers in every poll, so a
// trigger on a register lets the run get past its texts.
type legalAim struct {
	kill legalKill
	kind string // "text" or "register"; "" at random
}

func (a legalAim) String() string {
	if a.kind == "" {
		return a.kill.String()
	}
	return a.kill.String() + "/" + a.kind
}

// legalAims are the rounds' kills, in turn: half at random instants.
var legalAims = []legalAim{
	{legalKillRandom, ""}, {legalKillOnStorage, "text"}, {legalKillRandom, ""}, {legalKillOnCreate, "text"},
	{legalKillRandom, ""}, {legalKillOnUpdate, "text"}, {legalKillRandom, ""}, {legalKillOnStorage, "register"},
	{legalKillRandom, ""}, {legalKillOnCreate, "register"}, {legalKillRandom, ""}, {legalKillOnUpdate, "register"},
}

// legalWindows are the windows a kill is measured to have landed in
// (after the kill, from CoreData and the state file): "storage/text"
// (a blob of a text requested or stored, no create or update sent),
// "create/register" (a register file CoreData holds that the state
// file does not map), "update/text" (a text file whose current digest is
// not the recorded one), and so on.
var legalWindows = []string{"storage/text", "storage/register", "create/text", "create/register", "update/text", "update/register"}

// TestKill9WithTermsAcceptancesKeepsOneFilePerVersionAndMonth is
// guarantees 1-3, 7 and 9 at the process level for terms acceptances
// (SPEC "Terms acceptances"): the real binary with legal.enabled, killed
// with SIGKILL round after round while it mirrors the versions of the
// legal texts and writes the registers, leaves exactly one CoreData file
// per text version (nexudus-legal-text-<UniqueId>) and per location and
// month (nexudus-legal-register-<BusinessId>-<YYYY-MM>), never two; and
// after a clean run every text file holds its version's Content, every
// register the bytes legal.Register makes of the acceptances Nexudus
// holds for its location and month, the contracts are still one file
// each, no intent is open and the lock is free. A lost state file then
// costs no upload and changes no register byte.
//
// Windows the kills cover (legalKill, legalAims; where each kill landed
// is measured after it, not assumed, see legalWindows): before the legal
// pass (start-up, the contracts' poll); inside the listings of texts and
// acceptances and a month's re-listing by CreatedOn; between a create's
// intent and its blob; between the blob and the create or content
// update, the bytes in storage and no file or version made ("storage"
// window, of a text or of a register); after a create was applied and
// before its answer, its verify read or the state write ("create"
// window: a file CoreData holds that the state file does not map, for a
// text and for a register); after a content update was applied and
// before it was recorded ("update" window: CoreData's digest is not the
// recorded one); between the registers of one poll (some months written,
// others still dirty). The loop goes on until every window of
// legalWindows was hit. The data keep every path busy: versions in two
// locations with a parent and one without, acceptances over three months
// with instants on each month's first and last second (the bounds of the
// re-listing by CreatedOn, either side of a boundary), acceptances added
// every round, two months of a location that appear only in later rounds
// (register creates late on), a version's Content edited (a new version
// of the text and of every register citing it), new versions published,
// and an acceptance citing a version Nexudus publishes only rounds later
// (its row's text columns empty until then).
//
// After every kill: no tag on two files; no legal file of a location
// without a parent, nor of a version or month Nexudus does not have; a
// text file holds one of its version's Contents; a register parses
// (legal.ParseRegister) and each row is an acceptance of its location and
// month as Nexudus holds it, citing the one file of its version and the
// sha256 of one of its Contents (or nothing yet); no file got two
// versions in one run (a register: at most one per poll), nor the same
// bytes twice in a row (an upload of bytes CoreData had); a file
// recorded as mirrored holds the recorded md5 among its versions.
//
// The randomness (texts, acceptances, kill instants, storage latency) is
// seeded: SYNCD_CRASH_SEED=<n> replays a seed, up to the timing of the
// machine.
func TestKill9WithTermsAcceptancesKeepsOneFilePerVersionAndMonth(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the kill -9 terms acceptances test (builds the binary and kills it 20+ times)")
	}
	seed := crashSeed(t)
	st := seeded{t: t, seed: seed}
	t.Logf("seed %d (replay with SYNCD_CRASH_SEED=%d)", seed, seed)
	bin := buildSyncd(t)
	rng := rand.New(rand.NewPCG(seed, 0x1e9a1))

	lw := newLegalWorld(t, rng)
	lw.seed(legalContracts)
	if r := runSyncd(bin, "run", "-once", "-config", lw.config); r.code != 0 {
		st.Fatalf("first run -once (contracts only) exited %d\n%s", r.code, r.output())
	}
	lw.enableLegal()
	if r := runSyncd(bin, "check-config", "-config", lw.config); r.code != 0 {
		st.Fatalf("check-config with legal.enabled exited %d\n%s", r.code, r.output())
	}
	lw.seedLegal()

	// Each CoreData answer comes 10 ms after the simulator applied the
	// request (the create and update windows), each Nexudus answer 3 ms
	// late; the storage latency (the storage window) is drawn per round.
	lw.cd.SetAPILatency(10 * time.Millisecond)
	lw.nx.SetLatency(3 * time.Millisecond)

	var (
		start                                 = time.Now()
		rounds, kills, natural, inside, idle  int
		beforePut, intentsSeen, unknownRows   int
		fired, accAdded, textEdits, published int
		windows                               = map[string]int{}
		perAim                                = map[string][2]int{} // kills, inside
		uploadsBefore                         = lw.cd.Count(coredatatest.RouteStorage)
		seenBlobs                             = map[string]bool{}
	)
	missing := func() []string {
		var out []string
		for _, w := range legalWindows {
			if windows[w] == 0 {
				out = append(out, w)
			}
		}
		return out
	}
	for (rounds < legalRounds || kills < legalMinKills || inside < legalMinInside || len(missing()) > 0) &&
		rounds < legalMaxRounds && time.Since(start) < legalRoundsBudget {
		rounds++
		aim := legalAims[(rounds-1)%len(legalAims)]
		if rounds > 1 {
			var ch changes
			aim, ch = lw.change(rounds, aim)
			accAdded += ch.acceptances
			textEdits += ch.edits
			published += ch.published
		}
		lw.cd.SetStorageLatency(time.Duration(10+rng.IntN(21)) * time.Millisecond)

		before := lw.snapshot()
		delay := time.Duration(rng.Int64N(int64(legalMaxRandomDelay) + 1))
		res, hit := killAt(st, bin, delay, lw.trigger(aim, before, 1+rng.IntN(3)), "run", "-once", "-config", lw.config)
		if hit {
			fired++
		}
		if res.killed {
			kills++
		} else {
			natural++
			if res.code != 0 {
				st.Errorf("round %d: a run that was not killed exited %d\n%s", rounds, res.code, res.output())
			}
		}

		ls := mustLegalLs(st, bin, lw.config, "round %d: state ls -json after the kill", rounds)
		lw.settle()
		v := lw.check(st, fmt.Sprintf("round %d (kill %s after %s)", rounds, aim, res.elapsed.Round(time.Millisecond)), ls, before, res.result, false)
		after := lw.snapshot()
		// Where the kill landed.
		landed, unput := map[string]bool{}, false
		if res.killed {
			for _, kind := range lw.unusedBlobs(seenBlobs) {
				landed["storage/"+kind] = true
			}
			if after.counts[coredatatest.RouteBlob]-before.counts[coredatatest.RouteBlob] >
				after.counts[coredatatest.RouteStorage]-before.counts[coredatatest.RouteStorage] {
				unput = true // a blob asked for, its PUT never sent
				beforePut++
			}
			for _, kind := range v.unrecordedCreates {
				landed["create/"+kind] = true
			}
			for _, kind := range v.unrecordedUpdates {
				landed["update/"+kind] = true
			}
		} else {
			lw.unusedBlobs(seenBlobs)
		}
		var where []string
		for _, w := range legalWindows {
			if landed[w] {
				windows[w]++
				where = append(where, w)
			}
		}
		in := len(where) > 0 || unput
		if in {
			inside++
		}
		if res.killed && after.legalRequests() == before.legalRequests() {
			idle++ // killed before the legal pass wrote anything
		}
		pa := perAim[aim.String()]
		if res.killed {
			pa[0]++
		}
		if in {
			pa[1]++
		}
		perAim[aim.String()] = pa
		intentsSeen += v.intents
		unknownRows += v.unknownRows
		t.Logf("round %2d: kill %-19s hit=%-5v killed=%-5v at %3dms; windows %v; texts %d/%d registers %d/%d rows-without-text=%d intents %v",
			rounds, aim, hit, res.killed, res.elapsed.Milliseconds(), where, v.texts, v.wantTexts, v.registers, v.wantRegisters, v.unknownRows, v.intentTags)
		if st.t.Failed() {
			st.Fatalf("round %d: stopping after the first round with problems", rounds)
		}
	}
	elapsed := time.Since(start)
	if rounds < legalMinRounds {
		st.Fatalf("only %d rounds in %s; want %d", rounds, elapsed.Round(time.Millisecond), legalMinRounds)
	}
	if kills < legalMinKills {
		st.Fatalf("only %d kills landed on a live process in %d rounds (%s); want %d", kills, rounds, elapsed.Round(time.Millisecond), legalMinKills)
	}
	if inside < legalMinInside {
		st.Fatalf("only %d of %d kills landed inside a text's or register's upload in %d rounds; want %d", inside, kills, rounds, legalMinInside)
	}
	if m := missing(); len(m) > 0 {
		st.Fatalf("in %d rounds (%s) no kill landed in the window(s) %v (hits: %v)", rounds, elapsed.Round(time.Millisecond), m, windows)
	}

	// Recovery: one clean run, then the end state.
	lw.cd.SetStorageLatency(0)
	lw.cd.SetAPILatency(0)
	lw.nx.SetLatency(0)
	final := runSyncd(bin, "run", "-once", "-config", lw.config)
	if final.code != 0 {
		st.Fatalf("run -once after %d kills exited %d\n%s", kills, final.code, final.output())
	}
	ls := mustLegalLs(st, bin, lw.config, "state ls -json after the final run")
	end := lw.check(st, "after the final run", ls, lw.snapshot(), final, true)
	checkContractsBesideLegal(st, lw.world, ls)
	lw.checkUnlocked(st, "after the final run")
	if st.t.Failed() {
		st.Fatalf("the end state is wrong (above); the lost-state check would only repeat it")
	}

	// A second run with nothing new writes nothing.
	clean := lw.snapshot()
	if r := runSyncd(bin, "run", "-once", "-config", lw.config); r.code != 0 {
		st.Fatalf("second run -once exited %d\n%s", r.code, r.output())
	}
	lw.sameFiles(st, "a second run with nothing new", clean)

	// Guarantee 7 for terms acceptances: the state file is lost; the next
	// run finds every text and register by its tag, rebuilds each
	// register from Nexudus alone (the same bytes) and uploads nothing.
	if err := os.Remove(lw.statePath); err != nil {
		st.Fatalf("remove the state file: %v", err)
	}
	lost := lw.snapshot()
	r := runSyncd(bin, "run", "-once", "-config", lw.config)
	if r.code != 0 {
		st.Fatalf("run -once after the state file was deleted exited %d\n%s", r.code, r.output())
	}
	lw.sameFiles(st, "a run after the state file was deleted", lost)
	ls = mustLegalLs(st, bin, lw.config, "state ls -json after the state file was deleted")
	lw.check(st, "after the state file was deleted", ls, lw.snapshot(), r, true)
	checkContractsBesideLegal(st, lw.world, ls)
	lw.checkUnlocked(st, "after the run on a new state file")

	var aims []string
	for i, a := range legalAims {
		if a.kill != legalKillRandom || i == 0 {
			aims = append(aims, fmt.Sprintf("%s %d/%d", a, perAim[a.String()][1], perAim[a.String()][0]))
		}
	}
	var hits []string
	for _, w := range legalWindows {
		hits = append(hits, fmt.Sprintf("%s %d", w, windows[w]))
	}
	t.Logf("%d rounds in %s (%s in all): %d kills, %d inside an upload (windows: %s; %d with a blob asked for and not PUT; per aim inside/kills: %s), "+
		"%d before the legal pass wrote anything, %d triggers fired, %d natural exits; between rounds %d acceptances added, %d texts edited, %d versions published; "+
		"after kills %d legal intents and %d rows without their text seen; %d legal blob uploads, %d CoreData requests in all; "+
		"end: %d text files, %d registers of %d acceptances, %d contracts",
		rounds, elapsed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), kills, inside, strings.Join(hits, ", "), beforePut, strings.Join(aims, ", "),
		idle, fired, natural, accAdded, textEdits, published, intentsSeen, unknownRows,
		lw.cd.Count(coredatatest.RouteStorage)-uploadsBefore, totalRequests(lw.cd),
		end.texts, end.registers, end.rows, len(lw.contractIDs()))
}

// legalWorld is the world with terms acceptances: a CoreData simulator
// that keeps the bytes, and what the test wrote into Nexudus.
type legalWorld struct {
	*world
	statePath string
	// history holds, per text UniqueId, the sha256 of every Content it
	// ever had: a register written before an edit cites an older one.
	history map[string]map[string]bool
	// unpublished is a version acceptances cite before Nexudus has it.
	unpublished nexudustest.TextSpec
	// months are the locations' months acceptances are added in; later
	// are those that come only in later rounds.
	months map[registerKey]bool
	later  []registerKey
	names  int           // makes every Content unique
	titles *legal.Titles // the default legal.text_title and legal.register_title
}
