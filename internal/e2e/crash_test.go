//go:build unix

package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
)

// The crash test's shape. Kills land 20-600 ms after the start; the first
// full sync of the seeded files takes several seconds with slow storage,
// and between two rounds in three new files are signed and others signed
// again, so every round has creates and content updates in flight (each
// run mirrors ~30-60 files in 600 ms).
const (
	filesPerLocation = 200 // 2 locations: ~370 signed files, ~20 unsigned; ~250 more added
	minKills         = 30
	maxRounds        = 90
	minMidWork       = 10 // kills that must land while files were in flight
	minKillDelay     = 20 * time.Millisecond
	maxKillDelay     = 600 * time.Millisecond
	roundsBudget     = 60 * time.Second
	minResign        = 5 // files signed again before a round (2 rounds in 3)
	maxResign        = 50
	minNew           = 5 // files newly signed before a round (2 rounds in 3)
	maxNew           = 20
	maxErrors        = 25 // end-state problems reported one by one
)

// TestKill9AtRandomMomentsLeavesExactlyOneFilePerSignedFile is guarantee
// 1 (docs/design.md#guarantee-1) at the process level: the real binary, killed with SIGKILL
// at random instants while it creates and updates files, then run to
// completion, leaves exactly one CoreData file per signed Nexudus file,
// holding the newest signed bytes, and no intent open.
//
// The randomness (file bytes, kill instants, storage latency, which files
// are added or signed again) is seeded: SYNCD_CRASH_SEED=<n> replays a seed, up to
// the timing of the machine.
func TestKill9AtRandomMomentsLeavesExactlyOneFilePerSignedFile(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the kill -9 crash test (builds the binary and kills it 30 times)")
	}
	seed := crashSeed(t)
	st := seeded{t: t, seed: seed}
	t.Logf("seed %d (replay with SYNCD_CRASH_SEED=%d)", seed, seed)
	bin := buildSyncd(t)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	w := newWorld(t, rng)
	w.seed(filesPerLocation)
	// Answers of the API routes come 5 ms after the simulator applied the
	// request: a kill in that gap leaves a CoreData file the state file
	// does not know, the window intents exist for.
	w.cd.SetAPILatency(5 * time.Millisecond)

	var (
		start                                   = time.Now()
		rounds, kills, midWork, natural, orphan int
		intentsSeen, resigned, updateWindow     int
		created, createWindowKills              int
	)
	// Rounds go on past minKills until a kill has landed in the create
	// window (about a third do), within the round and time budgets.
	for (kills < minKills || createWindowKills == 0) && rounds < maxRounds && time.Since(start) < roundsBudget {
		rounds++
		w.cd.SetStorageLatency(time.Duration(10+rng.IntN(21)) * time.Millisecond)
		if rounds > 1 && rng.IntN(3) > 0 {
			// Enough new files and content updates that kills keep
			// landing mid-work after the first full sync.
			added := minNew + rng.IntN(maxNew-minNew+1)
			w.addSigned(added)
			created += added
			resigned += len(w.resign(minResign + rng.IntN(maxResign-minResign+1)))
		}
		requests := totalRequests(w.cd)
		delay := minKillDelay + time.Duration(rng.Int64N(int64(maxKillDelay-minKillDelay)+1))
		res := runAndKill(st, bin, delay, "run", "-once", "-config", w.config)
		worked := totalRequests(w.cd) > requests
		if res.killed {
			kills++
		} else {
			natural++
			if res.code != 0 {
				st.Errorf("round %d: a run that was not killed exited %d\n%s", rounds, res.code, res.output())
			}
		}

		byID, untagged := mirrors(w.cd.Files())
		if d := duplicates(byID); len(d) > 0 {
			st.Fatalf("round %d (kill after %s): Nexudus files %v have more than one CoreData file\n%s", rounds, delay, d, res.output())
		}
		if len(untagged) > 0 {
			st.Fatalf("round %d: %d CoreData file(s) without a nexudus-file tag, first %+v", rounds, len(untagged), untagged[0])
		}
		entries, lsRes, err := stateLs(bin, w.config)
		if err != nil {
			st.Fatalf("round %d: state ls -json after kill -9: %v\n%s", rounds, err, lsRes.output())
		}
		intents, orphans, unrecordedUpdates := 0, 0, 0
		for _, e := range entries {
			if e.Status == "intent" {
				intents++
			}
		}
		for id, fs := range byID {
			e, ok := entries[id]
			switch {
			case !ok || e.CoreDataID == "":
				orphans++ // created in CoreData, not recorded: what intents are for
			case e.MD5 != fs[0].Digest:
				unrecordedUpdates++ // new version in CoreData, not recorded
			}
		}
		intentsSeen += intents
		orphan += orphans
		if res.killed && orphans > 0 {
			createWindowKills++
		}
		updateWindow += unrecordedUpdates
		digests, _, err := w.expected()
		if err != nil {
			st.Fatalf("round %d: %v", rounds, err)
		}
		done := intents == 0 && complete(digests, byID)
		if res.killed && worked && !done {
			midWork++
		}
		t.Logf("round %2d: delay %3dms killed=%-5v worked=%-5v complete=%-5v coredata=%d/%d intents=%d unrecorded creates=%d updates=%d",
			rounds, delay.Milliseconds(), res.killed, worked, done, len(byID), len(digests), intents, orphans, unrecordedUpdates)
	}
	elapsed := time.Since(start)
	if kills < minKills {
		st.Fatalf("only %d kills landed on a live process in %d rounds (%s); want %d", kills, rounds, elapsed.Round(time.Millisecond), minKills)
	}
	if midWork < minMidWork {
		st.Fatalf("only %d of %d kills landed while the sync was incomplete; want %d: the test killed idle processes", midWork, kills, minMidWork)
	}
	if createWindowKills == 0 {
		st.Fatalf("no kill landed between a CoreData create and its mapping in %d kills: the crash window the intents cover was never tested", kills)
	}

	// Recovery: one run to completion, then the guarantees.
	w.cd.SetStorageLatency(0)
	final := runSyncd(bin, "run", "-once", "-config", w.config)
	if final.code != 0 {
		st.Fatalf("run -once after %d kills exited %d\n%s", kills, final.code, final.output())
	}
	checkExactlyOne(st, w, bin)

	uploads := w.cd.Count(coredatatest.RouteStorage)
	writes := w.cd.Count(coredatatest.RouteCreate) + w.cd.Count(coredatatest.RouteUpdateContent)
	again := runSyncd(bin, "run", "-once", "-config", w.config)
	if again.code != 0 {
		st.Fatalf("second run -once after recovery exited %d\n%s", again.code, again.output())
	}
	if n := w.cd.Count(coredatatest.RouteStorage); n != uploads {
		st.Errorf("a run with nothing new uploaded %d blob(s)\n%s", n-uploads, again.output())
	}
	if n := w.cd.Count(coredatatest.RouteCreate) + w.cd.Count(coredatatest.RouteUpdateContent); n != writes {
		st.Errorf("a run with nothing new made %d CoreData create/update request(s)\n%s", n-writes, again.output())
	}
	if n := leftovers(w.spool); n != 0 {
		st.Errorf("%d spooled download(s) left in temp_dir after clean runs", n)
	}
	digests, _, _ := w.expected()
	t.Logf("%d rounds in %s: %d kills (%d mid-sync), %d natural exits; %d files added and %d signed again between rounds; "+
		"%d intents, %d unrecorded creates (after %d kills) and %d unrecorded content updates seen after kills; CoreData requests: %d creates, %d content updates, %d blob uploads; "+
		"%d signed files mirrored; %d spool file(s) left in temp_dir",
		rounds, elapsed.Round(time.Millisecond), kills, midWork, natural, created, resigned, intentsSeen, orphan, createWindowKills, updateWindow,
		w.cd.Count(coredatatest.RouteCreate), w.cd.Count(coredatatest.RouteUpdateContent), uploads, len(digests), leftovers(w.spool))
}

// checkExactlyOne asserts the end state: per signed Nexudus file with a
// parent one CoreData file, under that parent, with the newest digest;
// nothing else in CoreData; every file mirrored in the state file and no
// intent open.
func checkExactlyOne(st seeded, w *world, bin string) {
	st.t.Helper()
	errs := 0
	errorf := func(format string, args ...any) {
		st.t.Helper()
		if errs++; errs <= maxErrors {
			st.Errorf(format, args...)
		}
	}
	defer func() {
		if errs > maxErrors {
			st.Errorf("... and %d more problems", errs-maxErrors)
		}
	}()
	digests, parentOf, err := w.expected()
	if err != nil {
		st.Fatalf("%v", err)
	}
	files := w.cd.Files()
	byID, untagged := mirrors(files)
	if len(untagged) > 0 {
		errorf("%d CoreData file(s) without a nexudus-file tag, first %+v", len(untagged), untagged[0])
	}
	for id, want := range digests {
		got := byID[id]
		if len(got) != 1 {
			errorf("Nexudus file %d: %d CoreData files, want exactly 1 (%s)", id, len(got), describe(got))
			continue
		}
		if got[0].Digest != want {
			errorf("Nexudus file %d: CoreData %s holds md5 %s, newest signed bytes have %s (%d versions)",
				id, got[0].ID, got[0].Digest, want, len(got[0].Versions))
		}
		if got[0].Parent != parentOf[id] {
			errorf("Nexudus file %d: CoreData %s under parent %s, want %s", id, got[0].ID, got[0].Parent, parentOf[id])
		}
	}
	for id, fs := range byID {
		if _, ok := digests[id]; !ok {
			errorf("CoreData holds %d file(s) for Nexudus file %d, which is not signed or has no parent", len(fs), id)
		}
	}
	if len(files) != len(digests) {
		errorf("CoreData holds %d files for %d signed Nexudus files with a parent", len(files), len(digests))
	}

	entries, res, err := stateLs(bin, w.config)
	if err != nil {
		st.Fatalf("state ls -json: %v\n%s", err, res.output())
	}
	for id, want := range digests {
		e, ok := entries[id]
		switch {
		case !ok:
			errorf("state ls: Nexudus file %d missing", id)
		case e.Status != "mirrored":
			errorf("state ls: Nexudus file %d is %q (attempts %d, last error %q), want mirrored", id, e.Status, e.Attempts, e.LastError)
		case e.MD5 != want:
			errorf("state ls: Nexudus file %d recorded with md5 %s, want %s", id, e.MD5, want)
		case len(byID[id]) == 1 && e.CoreDataID != byID[id][0].ID:
			errorf("state ls: Nexudus file %d maps to %s, CoreData holds it as %s", id, e.CoreDataID, byID[id][0].ID)
		}
	}
	for id, e := range entries {
		if e.Status == "intent" {
			errorf("state ls: an intent is still open for Nexudus file %d", id)
		}
		if _, ok := digests[id]; !ok {
			errorf("state ls: entry for Nexudus file %d, which is not signed or has no parent: %+v", id, e)
		}
	}
}

// runAndKill starts the binary, sends SIGKILL after delay and reaps it. A
// process that finished first is reported as not killed.
func runAndKill(st seeded, bin string, delay time.Duration, args ...string) result {
	st.t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		st.Fatalf("start syncd: %v", err)
	}
	time.Sleep(delay)
	_ = cmd.Process.Signal(syscall.SIGKILL) // fails only when it already exited
	_ = cmd.Wait()
	r := result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		r.killed = true
	}
	return r
}

// complete reports whether CoreData already holds the newest bytes of
// every file once.
func complete(digests map[int64]string, byID map[int64][]coredatatest.FileInfo) bool {
	for id, want := range digests {
		if fs := byID[id]; len(fs) != 1 || fs[0].Digest != want {
			return false
		}
	}
	return true
}

func totalRequests(cd *coredatatest.Server) int {
	n := 0
	for _, c := range cd.Counts() {
		n += c
	}
	return n
}

func describe(fs []coredatatest.FileInfo) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%s md5 %s created %s", f.ID, f.Digest, f.Created.Format(time.RFC3339Nano)))
	}
	return strings.Join(parts, "; ")
}

// leftovers counts the download spool files under dir (killed processes
// leave theirs; the next run removes them).
func leftovers(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// crashSeed is SYNCD_CRASH_SEED when set, else a new seed from the clock.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("SYNCD_CRASH_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SYNCD_CRASH_SEED=%q: %v", v, err)
		}
		return s
	}
	return uint64(time.Now().UnixNano())
}

// seeded prefixes every failure with the seed that reproduces it.
type seeded struct {
	t    *testing.T
	seed uint64
}

func (s seeded) Fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d (SYNCD_CRASH_SEED=%d): %s", s.seed, s.seed, fmt.Sprintf(format, args...))
}

func (s seeded) Errorf(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf("seed %d (SYNCD_CRASH_SEED=%d): %s", s.seed, s.seed, fmt.Sprintf(format, args...))
}
