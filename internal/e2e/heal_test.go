//go:build unix

package e2e

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
)

// The built daemon, polling hourly and auditing every 2 s, mirrors again a
// file a person deleted in CoreData within 10 s, with no change in
// Nexudus, and follows a file a person re-filed outside every configured
// parent: it stays there, the record's one file, and the daemon exits 0 on
// SIGTERM.
func TestBuiltDaemonHealsADeletionWithin10sAndFollowsAMove(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping a test that builds the binary and runs the daemon")
	}
	seed := crashSeed(t)
	st := seeded{t: t, seed: seed}
	bin := buildSyncd(t)
	w := newWorld(t, rand.New(rand.NewPCG(seed, 0x4ea1)))
	w.seed(4)
	w.withAuditDaemon()
	if r := runSyncd(bin, "run", "-once", "-config", w.config); r.code != 0 {
		st.Fatalf("first run exit %d\n%s", r.code, r.output())
	}
	checkExactlyOne(st, w, bin)
	files := w.cd.Files()
	mirrors := len(files)
	victim, moved := files[0], files[1]
	victimID, movedID := taggedID(victim), taggedID(moved)
	if victimID == 0 || movedID == 0 {
		st.Fatalf("mirrored files without their tag: %+v %+v", victim, moved)
	}

	d := startDaemon(st, bin, w.config)
	if !waitUntil(20*time.Second, 10*time.Millisecond, func() bool { return d.has("audit done") || d.exited() }) || d.exited() {
		res := d.stop(syscall.SIGKILL)
		st.Fatalf("no audit within 20 s (or the daemon exited %d)\n%s", res.code, res.output())
	}
	w.cd.DeleteFile(victim.ID)
	deleted := time.Now()
	healed := waitUntil(10*time.Second, 20*time.Millisecond, func() bool {
		got := filesTagged(w.cd, victimID)
		return len(got) == 1 && got[0].ID != victim.ID && got[0].Digest == victim.Digest && got[0].Parent == victim.Parent
	})
	took := time.Since(deleted)
	if !healed {
		res := d.stop(syscall.SIGKILL)
		st.Fatalf("the deleted file of %d was not mirrored again within 10 s\n%s", victimID, res.output())
	}
	t.Logf("healed in %s (audit.schedule @every 2s)", took.Round(10*time.Millisecond))

	const elsewhere = "0c2f9a3e-0000-4000-8000-00000000f01d"
	w.cd.Move(moved.ID, elsewhere)
	followed := waitUntil(10*time.Second, 20*time.Millisecond, func() bool {
		for _, l := range d.logLines("audit: moved") {
			if l["nexudus_id"] == float64(movedID) && strings.Contains(l["repair"].(string), "followed") {
				return true
			}
		}
		return false
	})
	// One more whole audit after the follow: the moved file is then ok
	// where it is, and nothing made a second file for it.
	audits := len(d.logLines("audit done"))
	waitUntil(10*time.Second, 20*time.Millisecond, func() bool { return len(d.logLines("audit done")) > audits+1 })
	res := d.stop(syscall.SIGTERM)
	if !followed {
		st.Fatalf("no audit followed the moved file of %d within 10 s\n%s", movedID, res.output())
	}
	if res.code != 0 {
		st.Fatalf("SIGTERM: exit %d\n%s", res.code, res.output())
	}
	if got := filesTagged(w.cd, movedID); len(got) != 1 || got[0].ID != moved.ID || got[0].Parent != elsewhere {
		st.Fatalf("the moved file: %+v, want %s left under %s", got, moved.ID, elsewhere)
	}
	if n := len(w.cd.Files()); n != mirrors {
		st.Fatalf("CoreData holds %d files, want %d (one per signed contract)", n, mirrors)
	}
	if n := w.cd.Count(coredatatest.RouteDelete); n != 0 {
		st.Fatalf("%d deletes sent to CoreData", n)
	}
}

// taggedID is the Nexudus Id a CoreData file is tagged for; 0: none.
func taggedID(f coredatatest.FileInfo) int64 {
	for _, t := range f.Tags {
		if s, ok := strings.CutPrefix(t, "nexudus-file-"); ok {
			if id, err := strconv.ParseInt(s, 10, 64); err == nil {
				return id
			}
		}
	}
	return 0
}

func filesTagged(cd *coredatatest.Server, id int64) []coredatatest.FileInfo {
	var out []coredatatest.FileInfo
	for _, f := range cd.Files() {
		if taggedID(f) == id {
			out = append(out, f)
		}
	}
	return out
}
