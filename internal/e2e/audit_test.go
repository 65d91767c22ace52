//go:build unix

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// The audit kill test's shape. Every round a person breaks a few mirrors
// while the daemon is down, the daemon starts (its poll at start takes
// up what the last kill left), its first audit comes 1-2 s later on
// "@every 2s" and repairs, and the test kills it inside that repair.
const (
	auditFilesPerLocation = 20 // 2 locations: 38 signed files with a parent, 2 unsigned, 5 without a parent
	auditMinRounds        = 12
	auditMaxRounds        = 20
	auditMinInside        = 8 // kills that must land inside a repair
	auditRoundsBudget     = 32 * time.Second
	auditMinDeletes       = 2 // CoreData files a person deletes before a round
	auditMaxDeletes       = 4
	auditMaxPending       = 6                      // broken mirrors left from earlier rounds above which a round deletes only one more
	auditMaxRandomDelay   = 400 * time.Millisecond // after the first repair request
	auditWaitPoll         = 15 * time.Second       // for the poll at start
	auditWaitTrigger      = 8 * time.Second        // for the moment to kill at (the audit starts within 2 s)
	auditWaitAllOK        = 30 * time.Second       // for the final audit that finds everything ok
	personTag             = "legal-reviewed"       // a tag the person adds while removing syncd's
)

// killMode is the moment of the repair a round's SIGKILL aims at.
type killMode int

const (
	// killOnCreate: a recreated file has just appeared in the simulator,
	// whose answer is held back by the API latency. The daemon has not
	// read the create's answer, let alone written the mapping: the state
	// file holds only the intent the create wrote. The next start must
	// find the file by its tag and adopt it; a second create is the
	// duplicate guarantee 1 forbids.
	killOnCreate killMode = iota
	// killOnUpload: the blob of a recreate is being PUT to storage. The
	// intent is written, no create was sent: the next start must create
	// the file once (its lookup finds nothing).
	killOnUpload
	// killOnRead: the repair reads the Nexudus record by Id, around
	// RecreateIntent (the mapping turned into an intent in one
	// transaction): either the mapping is still there and the next audit
	// finds the file missing again, or the intent is, and the next poll
	// takes it up by Id. Neither may lose the repair.
	killOnRead
	// killOnDownload: the repair downloads the signed bytes, after
	// RecreateIntent and before the create's own intent: the state file
	// holds only the unsent intent, which the next poll must take up by
	// Id (for a record older than sync.lookback nothing else would).
	killOnDownload
	// killOnRetag: the metadata PUT putting a removed tag back has
	// arrived; the daemon never reads its answer. The next audit finds
	// the tag there or puts it back.
	killOnRetag
	// killAtRandom: a random instant within auditMaxRandomDelay of the
	// first repair request: between any two steps of any repair (the
	// verify read after a create, the mapping write, the next file's
	// repair, the write of the audit's result).
	killAtRandom
)

func (k killMode) String() string {
	return [...]string{"on-create", "on-upload", "on-read", "on-download", "on-retag", "at-random"}[k]
}

// auditKillModes is the mode of each round, in turn: every mode within
// auditMinRounds.
var auditKillModes = []killMode{
	killOnCreate, killAtRandom, killOnUpload, killOnDownload, killOnCreate, killOnRetag,
	killAtRandom, killOnRead, killOnDownload, killAtRandom, killOnCreate, killOnUpload,
}

// TestKill9DuringAnAuditRepairKeepsExactlyOne is guarantee 1 at the
// process level for the daemon's audit (README "The daemon's audit"):
// the real daemon, killed with SIGKILL inside the repairs of its audit
// (files a person deleted in CoreData mirrored again, a removed tag put
// back) and restarted, round after round, ends with exactly one CoreData
// file per signed Nexudus file, holding the signed bytes, every removed
// tag back, no intent open, and the state lock released.
//
// Windows the kills cover (see killMode): before RecreateIntent (the
// mapping still names the deleted file), after it (an unsent intent),
// after the create's intent but before the create (the upload), after the
// create was applied but before its answer or the mapping write (the
// window the intent and the lookup by tag exist for: a restart that
// created again instead of adopting would leave two files, which the
// check after the next kill, or the final one, fails on), after the
// mapping but before the audit's result, and inside a retag. Each
// restart's poll at start takes up the intents the kill left, and its
// audit the rest. After every kill the test also fails on a file the
// state file holds neither a mapping nor an intent for (a lost repair),
// on a file syncd made without its tag, and on a file recorded as
// mirrored whose CoreData digest is not the signed bytes' md5.
//
// The randomness (file bytes, which files the person breaks, the random
// kill instants) is seeded: SYNCD_CRASH_SEED=<n> replays a seed, up to the
// timing of the machine.
func TestKill9DuringAnAuditRepairKeepsExactlyOne(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the kill -9 audit test (builds the binary and runs the daemon a dozen times)")
	}
	seed := crashSeed(t)
	st := seeded{t: t, seed: seed}
	t.Logf("seed %d (replay with SYNCD_CRASH_SEED=%d)", seed, seed)
	bin := buildSyncd(t)
	rng := rand.New(rand.NewPCG(seed, 0xa0d17))

	w := newWorld(t, rng)
	w.seed(auditFilesPerLocation)
	// The files of location 1 were signed three days ago, beyond
	// sync.lookback: no poll lists them again, so only the audit's repair
	// (a read by Id) and the poll's retry of its intent (by Id) can bring
	// one back; a repair a kill lost would stay lost. Location 2's are
	// recent, and every poll at start lists them again.
	for _, f := range w.nx.Files() {
		if f.BusinessID == 1 {
			w.nx.UpdateFile(f.ID, func(f *nexudustest.FileSpec) { f.UpdatedOn = f.UpdatedOn.Add(-72 * time.Hour) })
		}
	}
	w.withAuditDaemon()
	if r := runSyncd(bin, "check-config", "-config", w.config); r.code != 0 {
		st.Fatalf("check-config exit %d\n%s", r.code, r.output())
	}
	from := time.Now().Add(-7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	if r := runSyncd(bin, "run", "-backfill-from", from, "-config", w.config); r.code != 0 {
		st.Fatalf("first run -backfill-from %s exit %d\n%s", from, r.code, r.output())
	}
	checkExactlyOne(st, w, bin)
	if st.t.Failed() {
		st.Fatalf("the first mirror is already wrong; no point in breaking it")
	}

	// Latency makes each recreate take ~100 ms (Nexudus read and
	// download, blob, storage PUT, create, verify read), and holds back
	// each CoreData answer 15 ms after the simulator applied the request:
	// the gap a kill on create lands in.
	w.cd.SetAPILatency(15 * time.Millisecond)
	w.cd.SetStorageLatency(20 * time.Millisecond)
	w.nx.SetLatency(10 * time.Millisecond)

	p := &person{w: w, rng: rng, tagged: map[int64]string{}}
	// adopt holds, per Nexudus Id, the CoreData file a killed repair
	// created without recording it: the next runs must map exactly it.
	adopt := map[int64]string{}
	var (
		start                                         = time.Now()
		rounds, kills, inside, createWindowKills      int
		intentsSeen, unrecordedSeen, adopted, natural int
		perMode                                       = map[killMode][2]int{} // kills, inside
	)
	for (rounds < auditMinRounds || inside < auditMinInside || createWindowKills == 0) &&
		rounds < auditMaxRounds && time.Since(start) < auditRoundsBudget {
		rounds++
		mode := auditKillModes[(rounds-1)%len(auditKillModes)]
		entries := mustStateLsAudit(st, bin, w.config, "round %d: before the person", rounds)
		deleted, untagged := p.breakMirrors(entries, auditMinDeletes+rng.IntN(auditMaxDeletes-auditMinDeletes+1))

		d := startDaemon(st, bin, w.config)
		if !waitUntil(auditWaitPoll, 2*time.Millisecond, func() bool { return d.has("poll done") || d.exited() }) || d.exited() {
			res := d.stop(syscall.SIGKILL)
			st.Fatalf("round %d: the daemon's poll at start did not end (or the daemon exited %d)\n%s", rounds, res.code, res.output())
		}
		nxGets := w.nx.Count(nexudustest.RouteGet)
		nxDownloads := func() int {
			return w.nx.Count(nexudustest.RouteDownload) + w.nx.Count(nexudustest.RouteSignedDownload)
		}
		downloads := nxDownloads()
		cdCounts := w.cd.Counts()
		known := map[string]bool{}
		for _, f := range w.cd.Files() {
			known[f.ID] = true
		}
		// The audit asks Nexudus nothing and writes nothing to CoreData
		// unless it repairs, and the next poll is an hour away: after the
		// poll at start, a Nexudus read or a metadata PUT is a repair.
		repairing := func() bool {
			return w.nx.Count(nexudustest.RouteGet) > nxGets ||
				w.cd.Count(coredatatest.RouteUpdateMetadata) > cdCounts[coredatatest.RouteUpdateMetadata]
		}
		trigger := func() bool {
			switch mode {
			case killOnCreate:
				for _, f := range w.cd.Files() {
					if !known[f.ID] {
						return true
					}
				}
				return false
			case killOnUpload:
				return w.cd.Count(coredatatest.RouteStorage) > cdCounts[coredatatest.RouteStorage]
			case killOnRead:
				return w.nx.Count(nexudustest.RouteGet) > nxGets
			case killOnDownload:
				return nxDownloads() > downloads
			case killOnRetag:
				return w.cd.Count(coredatatest.RouteUpdateMetadata) > cdCounts[coredatatest.RouteUpdateMetadata]
			default:
				return repairing()
			}
		}
		// A tight poll of the simulators (not a sleep): the kill follows
		// the event within about a millisecond.
		waitUntil(auditWaitTrigger, 500*time.Microsecond, func() bool { return trigger() || d.has("audit done") || d.exited() })
		fired := trigger()
		var delay time.Duration
		if mode == killAtRandom && fired {
			delay = time.Duration(rng.Int64N(int64(auditMaxRandomDelay) + 1))
			time.Sleep(delay) // when to kill, not a wait for a result
		}
		wasRepairing := repairing()
		res := d.stop(syscall.SIGKILL)
		auditDone := strings.Contains(res.stderr, `"msg":"audit done"`)
		in := res.killed && wasRepairing && !auditDone
		if res.killed {
			kills++
		} else {
			natural++
			st.Errorf("round %d: the daemon exited %d on its own\n%s", rounds, res.code, res.output())
		}
		if in {
			inside++
		}
		pm := perMode[mode]
		pm[0]++
		if in {
			pm[1]++
		}
		perMode[mode] = pm

		// The state right after the kill: never a duplicate, never a
		// file syncd made without its tag, the bytes of a file recorded
		// as mirrored the signed ones, and the state file readable (the
		// kill released the lock).
		files := w.cd.Files()
		byID, untaggedFiles := mirrors(files)
		if dup := duplicates(byID); len(dup) > 0 {
			var desc []string
			for _, id := range dup {
				desc = append(desc, itoa(id)+": "+describe(byID[id]))
			}
			st.Fatalf("round %d (kill %s): Nexudus files %v have more than one CoreData file: %s\n%s",
				rounds, mode, dup, strings.Join(desc, "; "), res.output())
		}
		for _, f := range untaggedFiles {
			if !p.untaggedByPerson(f.ID) {
				st.Fatalf("round %d (kill %s): CoreData file %s has no nexudus-file tag and the person did not remove one: %+v", rounds, mode, f.ID, f.Tags)
			}
		}
		after := mustStateLsAudit(st, bin, w.config, "round %d: state ls -json after kill -9", rounds)
		digests, _, err := w.expected()
		if err != nil {
			st.Fatalf("round %d: %v", rounds, err)
		}
		intents, unrecorded := 0, 0
		for _, e := range after {
			if e.Status == "intent" {
				intents++
			}
		}
		for id := range digests {
			// RecreateIntent turns the mapping into an intent in one
			// transaction: a kill never leaves a file unremembered.
			if _, ok := after[id]; !ok {
				st.Fatalf("round %d (kill %s): the state file holds neither a mapping nor an intent for Nexudus file %d: its repair is lost\n%s",
					rounds, mode, id, res.output())
			}
		}
		for id, fs := range byID {
			f := fs[0]
			want, ok := digests[id]
			if !ok {
				st.Fatalf("round %d: CoreData file %s is tagged for Nexudus file %d, which is not signed or has no parent", rounds, f.ID, id)
			}
			e, mapped := after[id]
			switch {
			case !mapped || e.CoreDataID != f.ID:
				// Created by the killed repair, not recorded yet.
				unrecorded++
				if prev, ok := adopt[id]; ok && prev != f.ID {
					st.Fatalf("round %d: Nexudus file %d: unrecorded file %s replaced %s", rounds, id, f.ID, prev)
				}
				adopt[id] = f.ID
			case e.Status == "mirrored" && (e.MD5 != f.Digest || f.Digest != want):
				st.Errorf("round %d: Nexudus file %d recorded as mirrored with md5 %s; CoreData %s holds %s, the signed bytes have %s",
					rounds, id, e.MD5, f.ID, f.Digest, want)
			}
		}
		for id, cdID := range adopt {
			if e, ok := after[id]; ok && e.Status == "mirrored" && e.CoreDataID != "" {
				if e.CoreDataID != cdID {
					st.Fatalf("round %d: Nexudus file %d maps to %s, not to %s which a killed repair had created: created again instead of adopted",
						rounds, id, e.CoreDataID, cdID)
				}
				adopted++
				delete(adopt, id)
			}
		}
		intentsSeen += intents
		unrecordedSeen += unrecorded
		if res.killed && unrecorded > 0 {
			createWindowKills++
		}
		t.Logf("round %2d: kill %-9s fired=%-5v delay=%3dms inside-repair=%-5v audit-done=%-5v deleted=%d untagged=%d; after: coredata=%d/%d intents=%d unrecorded-creates=%d",
			rounds, mode, fired, delay.Milliseconds(), in, auditDone, len(deleted), len(untagged), len(byID), len(digests), intents, unrecorded)
	}
	elapsed := time.Since(start)
	if inside < auditMinInside {
		st.Fatalf("only %d of %d kills landed inside an audit repair in %d rounds (%s); want %d", inside, kills, rounds, elapsed.Round(time.Millisecond), auditMinInside)
	}
	if createWindowKills == 0 {
		st.Fatalf("no kill landed between a repair's create and its mapping in %d kills: the window the intent and lookup cover was never tested", kills)
	}

	// Recovery: the daemon runs until an audit finds every file ok, then
	// stops on SIGTERM.
	digests, _, err := w.expected()
	if err != nil {
		st.Fatalf("%v", err)
	}
	d := startDaemon(st, bin, w.config)
	if !waitUntil(auditWaitAllOK, 10*time.Millisecond, func() bool { return d.allOK(len(digests)) || d.exited() }) || d.exited() {
		res := d.stop(syscall.SIGKILL)
		st.Fatalf("no audit found all %d files ok within %s (exit %d)\n%s", len(digests), auditWaitAllOK, res.code, res.output())
	}
	final := d.stop(syscall.SIGTERM)
	if final.killed || final.code != 0 {
		st.Fatalf("the daemon exited %d on SIGTERM, want 0\n%s", final.code, final.output())
	}
	checkExactlyOne(st, w, bin)
	recreated, retagged := d.repairs()

	// The removed tags are back, beside the tag the person added.
	for id, cdID := range p.tagged {
		f, ok := w.cd.File(cdID)
		if !ok {
			st.Errorf("Nexudus file %d: CoreData %s, whose tag the person removed, is gone", id, cdID)
			continue
		}
		if !slices.Contains(f.Tags, "nexudus-file-"+itoa(id)) || !slices.Contains(f.Tags, personTag) {
			st.Errorf("Nexudus file %d: CoreData %s has tags %v, want nexudus-file-%d put back beside %q", id, cdID, f.Tags, id, personTag)
		}
	}
	entries := mustStateLsAudit(st, bin, w.config, "state ls -json after SIGTERM")
	for id, cdID := range adopt {
		if e := entries[id]; e.CoreDataID != cdID {
			st.Errorf("Nexudus file %d maps to %q, not to %s which a killed repair had created", id, e.CoreDataID, cdID)
		}
		adopted++
	}
	for id := range digests {
		if e := entries[id]; e.Audit == nil || e.Audit.Status != "ok" {
			st.Errorf("state ls: Nexudus file %d: audit %+v, want ok", id, e.Audit)
		}
	}
	if n := w.cd.Count(coredatatest.RouteDelete); n != 0 {
		st.Errorf("syncd sent %d delete(s) to CoreData; nothing is ever deleted", n)
	}

	// The lock is released (a run exits 0, not 3) and nothing is redone.
	writes := w.cd.Count(coredatatest.RouteCreate) + w.cd.Count(coredatatest.RouteUpdateContent) + w.cd.Count(coredatatest.RouteStorage)
	if r := runSyncd(bin, "run", "-once", "-config", w.config); r.code != 0 {
		st.Fatalf("run -once after the daemon stopped exited %d (3: the state lock was kept)\n%s", r.code, r.output())
	}
	if n := w.cd.Count(coredatatest.RouteCreate) + w.cd.Count(coredatatest.RouteUpdateContent) + w.cd.Count(coredatatest.RouteStorage); n != writes {
		st.Errorf("a run after the repairs wrote %d time(s) to CoreData", n-writes)
	}
	if r := runSyncd(bin, "verify", "-config", w.config, "-json"); r.code != 0 {
		st.Errorf("verify -json after the repairs exited %d\n%s", r.code, r.output())
	}

	var modes []string
	for _, m := range []killMode{killOnCreate, killOnUpload, killOnRead, killOnDownload, killOnRetag, killAtRandom} {
		modes = append(modes, m.String()+" "+itoa(int64(perMode[m][1]))+"/"+itoa(int64(perMode[m][0])))
	}
	t.Logf("%d rounds in %s (%s with recovery): %d kills, %d inside a repair (per mode, inside/kills: %s), %d natural exits; "+
		"the person deleted %d and untagged %d files; after kills: %d intents and %d unrecorded creates (after %d kills), %d adopted later; "+
		"final daemon: %d recreated, %d retagged; CoreData: %d creates, %d metadata PUTs, %d blob uploads, %d files for %d signed",
		rounds, elapsed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), kills, inside, strings.Join(modes, ", "), natural,
		p.deletes, p.untags, intentsSeen, unrecordedSeen, createWindowKills, adopted,
		recreated, retagged, w.cd.Count(coredatatest.RouteCreate), w.cd.Count(coredatatest.RouteUpdateMetadata),
		w.cd.Count(coredatatest.RouteStorage), len(w.cd.Files()), len(digests))
}

// withAuditDaemon rewrites the world's config for the daemon: a poll an
// hour apart (only the poll at start runs), the audit every 2 s with its
// repairs, and info logs (the test reads "poll done" and "audit done").
func (w *world) withAuditDaemon() {
	w.t.Helper()
	b, err := os.ReadFile(w.config)
	if err != nil {
		w.t.Fatal(err)
	}
	s := string(b)
	for _, e := range []struct{ old, new string }{
		{"sync:\n", "sync:\n  schedule: \"@every 1h\"\n"},
		{"log:\n  level: warn\n", "log:\n  level: info\n  format: json\n"},
	} {
		if strings.Count(s, e.old) != 1 {
			w.t.Fatalf("the world's config no longer holds %q once:\n%s", e.old, s)
		}
		s = strings.Replace(s, e.old, e.new, 1)
	}
	s += "audit:\n  schedule: \"@every 2s\"\n  repair: true\n  restore_drift: false\n"
	if err := os.WriteFile(w.config, []byte(s), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// person breaks mirrors in CoreData as people do: deletes files, removes
// a tag (adding one of their own).
type person struct {
	w               *world
	rng             *rand.Rand
	tagged          map[int64]string // Nexudus Id -> CoreData file whose nexudus-file tag they removed
	deletes, untags int
}

// breakMirrors deletes n CoreData files and untags one more, picked among
// the mirrors that are as syncd left them (one tagged file, mapped and
// mirrored in the state file), so that every break is the audit's to
// repair. While more than auditMaxPending mirrors are still broken from
// earlier rounds (kills keep interrupting their repair), it deletes one.
func (p *person) breakMirrors(entries map[int64]auditEntry, n int) (deleted, untagged []int64) {
	digests, _, err := p.w.expected()
	if err != nil {
		p.w.t.Fatal(err)
	}
	byID, _ := mirrors(p.w.cd.Files())
	var fine []int64
	for id, fs := range byID {
		if e, ok := entries[id]; ok && len(fs) == 1 && e.Status == "mirrored" && e.CoreDataID == fs[0].ID {
			fine = append(fine, id)
		}
	}
	if len(digests)-len(fine) > auditMaxPending {
		n = 1
	}
	sort.Slice(fine, func(i, j int) bool { return fine[i] < fine[j] })
	p.rng.Shuffle(len(fine), func(i, j int) { fine[i], fine[j] = fine[j], fine[i] })
	for _, id := range fine {
		f := byID[id][0]
		switch {
		case len(deleted) < n:
			if !p.w.cd.DeleteFile(f.ID) {
				p.w.t.Fatalf("DeleteFile %s failed", f.ID)
			}
			delete(p.tagged, id) // the retagged file is gone with it
			deleted = append(deleted, id)
			p.deletes++
		case len(untagged) < 1:
			var tags []string
			for _, tag := range f.Tags {
				if tag != "nexudus-file-"+itoa(id) && tag != personTag {
					tags = append(tags, tag)
				}
			}
			if !p.w.cd.SetTags(f.ID, append(tags, personTag)) {
				p.w.t.Fatalf("SetTags %s failed", f.ID)
			}
			p.tagged[id] = f.ID
			untagged = append(untagged, id)
			p.untags++
		}
	}
	return deleted, untagged
}

// untaggedByPerson says whether the person removed the tag of this file.
func (p *person) untaggedByPerson(cdID string) bool {
	for _, id := range p.tagged {
		if id == cdID {
			return true
		}
	}
	return false
}

// auditEntry is one line of `syncd state ls -json` with its audit field.
type auditEntry struct {
	NexudusID  int64  `json:"nexudus_id"`
	CoreDataID string `json:"coredata_id"`
	MD5        string `json:"md5"`
	Status     string `json:"status"`
	Audit      *struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
		Repair string `json:"repair"`
	} `json:"audit"`
}

// mustStateLsAudit runs `syncd state ls -json`; a failure (exit 3: a kill
// left the lock held) is fatal.
func mustStateLsAudit(st seeded, bin, config, what string, args ...any) map[int64]auditEntry {
	st.t.Helper()
	r := runSyncd(bin, "state", "-config", config, "ls", "-json")
	if r.code != 0 {
		st.Fatalf("%s: exit %d\n%s", fmt.Sprintf(what, args...), r.code, r.output())
	}
	lines, err := jsonLines[auditEntry](r.stdout)
	if err != nil {
		st.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
	out := map[int64]auditEntry{}
	for _, e := range lines {
		out[e.NexudusID] = e
	}
	return out
}
