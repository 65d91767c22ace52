//go:build unix

package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
)

// Locations 1 and 2 have CoreData parents; location 3 has none, so its
// signed files are skipped and must never reach CoreData.
const (
	parentA          = "313ae0be-71cf-11ee-b1e9-ebd554949e29"
	parentB          = "07dcc00c-897e-11e6-b174-db079186c95c"
	noParentBusiness = 3
)

var parents = map[int64]string{1: parentA, 2: parentB}

// world is both simulators, the config file pointing at them, and what
// the test wrote into Nexudus (the newest bytes of every file).
type world struct {
	t      *testing.T
	nx     *nexudustest.Server
	cd     *coredatatest.Server
	config string
	spool  string
	rng    *rand.Rand
	ids    []int64          // every Nexudus file, in creation order
	newest map[int64][]byte // what a mirror of each file must hold
	// version counts the bytes written per file, so every write differs.
	version map[int64]int
	add     func(business int64, i int, signed, signedCopy bool)
	next    int // index of the next file addSigned adds
}

// newWorld starts both simulators and writes a config for them.
func newWorld(t *testing.T, rng *rand.Rand) *world {
	t.Helper()
	nx := nexudustest.New(nexudustest.Options{})
	t.Cleanup(nx.Close)
	cd := coredatatest.New(coredatatest.Options{})
	t.Cleanup(cd.Close)
	dir := t.TempDir()
	w := &world{
		t: t, nx: nx, cd: cd, rng: rng,
		config:  filepath.Join(dir, "syncd.yaml"),
		spool:   filepath.Join(dir, "spool"),
		newest:  map[int64][]byte{},
		version: map[int64]int{},
	}
	if err := os.Mkdir(w.spool, 0o700); err != nil {
		t.Fatal(err)
	}
	pw, key := filepath.Join(dir, "nexudus_password"), filepath.Join(dir, "coredata_api_key")
	if err := os.WriteFile(pw, []byte(nx.Password()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte(cd.APIKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// max_attempts is large: a crash is not the file's fault and must never
	// park it. requests_per_* 0 lifts the client-side budget (loopback only).
	cfg := fmt.Sprintf(`nexudus:
  base_url: %s
  username: %s
  password_file: %s
  requests_per_minute: 0
  requests_per_hour: 0
coredata:
  base_url: %s
  api_user: %s
  api_key_file: %s
  parents:
    1: %s
    2: %s
state:
  path: %s
sync:
  lookback: 24h
  concurrency: 4
  max_attempts: 1000
  shutdown_timeout: 5s
  temp_dir: %s
http:
  listen: ""
log:
  level: warn
`, nx.URL, nx.Username(), pw, cd.URL(), cd.APIUser(), key, parentA, parentB,
		filepath.Join(dir, "state", "state.db"), w.spool)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// content makes distinct bytes for a file's next version: a readable
// header (so a wrong digest can be traced) and a few KB of seeded noise.
func (w *world) content(id int64, what string) []byte {
	w.version[id]++
	n := 2048 + w.rng.IntN(6*1024)
	b := make([]byte, 0, n+64)
	b = fmt.Appendf(b, "%%PDF-1.7 nexudus=%d %s v%d\n", id, what, w.version[id])
	for len(b) < n {
		b = strconv.AppendUint(b, w.rng.Uint64(), 36)
	}
	return b
}

// seed adds n files per location with a parent, some signed without a
// signed copy, some unsigned, some sharing a title, and a few signed files
// in the location without a parent.
func (w *world) seed(n int) {
	add := func(business int64, i int, signed, signedCopy bool) {
		who := i
		if i%25 == 1 {
			// Same coworker, same name as the file before: the same
			// CoreData title, which crash recovery must not confuse.
			who = i - 1
		}
		spec := nexudustest.FileSpec{
			BusinessID: business, CoworkerID: 100 + int64(who),
			Name:             fmt.Sprintf("Membership agreement %03d", who),
			CoworkerFullName: fmt.Sprintf("Coworker %d-%03d", business, who),
			FileName:         fmt.Sprintf("agreement-%d-%03d.pdf", business, i),
			Signed:           signed,
		}
		id := w.nx.AddFile(spec)
		data := w.content(id, "original")
		var signedData []byte
		if signedCopy {
			signedData = w.content(id, "signed")
		}
		w.nx.UpdateFile(id, func(f *nexudustest.FileSpec) {
			f.Data = data
			if signedCopy {
				f.SignedFileName = strings.TrimSuffix(f.FileName, ".pdf") + "-signed.pdf"
				f.SignedData = signedData
			}
		})
		w.ids = append(w.ids, id)
		w.newest[id] = data
		if signedCopy {
			w.newest[id] = signedData
		}
	}
	for _, business := range []int64{1, 2} {
		for i := 0; i < n; i++ {
			switch {
			case i%20 == 7: // unsigned: not mirrored until someone signs it
				add(business, i, false, false)
			case i%20 == 13: // flagged Signed without a signed copy
				add(business, i, true, false)
			default:
				add(business, i, true, true)
			}
		}
	}
	for i := 0; i < 5; i++ {
		add(noParentBusiness, i, true, true)
	}
	w.add = add
	w.next = n
}

// addSigned adds k newly signed files to the locations with a parent, so
// that creates (not only content updates) are in flight in every round.
func (w *world) addSigned(k int) {
	for range k {
		w.add(1+int64(w.rng.IntN(2)), w.next, true, w.rng.IntN(10) > 0)
		w.next++
	}
}

// resign gives k random files of the locations with a parent new signed
// bytes, as a customer signing again does (an unsigned file becomes
// signed). The sim clock moves a minute first: UpdatedOn has a resolution
// of a second on the wire, and a change must show as a change.
func (w *world) resign(k int) []int64 {
	w.nx.Advance(time.Minute)
	var picked []int64
	for len(picked) < k {
		id := w.ids[w.rng.IntN(len(w.ids))]
		f, _ := w.nx.File(id)
		if _, ok := parents[f.BusinessID]; !ok {
			continue
		}
		data := w.content(id, "re-signed")
		name := strings.TrimSuffix(f.FileName, ".pdf") + "-signed.pdf"
		if !w.nx.SetSignedData(id, name, data) {
			w.t.Fatalf("SetSignedData %d failed", id)
		}
		w.newest[id] = data
		picked = append(picked, id)
	}
	return picked
}

// expected is every Nexudus file that must have exactly one CoreData
// file: signed, in a location with a parent. It cross-checks the bytes
// the test remembers against the simulator's records.
func (w *world) expected() (map[int64]string, map[int64]string, error) {
	digests, parentOf := map[int64]string{}, map[int64]string{}
	for _, f := range w.nx.Files() {
		parent, ok := parents[f.BusinessID]
		if !f.Signed || !ok {
			continue
		}
		data := f.Data
		if f.SignedFileName != "" {
			data = f.SignedData
		}
		if string(data) != string(w.newest[f.ID]) {
			return nil, nil, fmt.Errorf("simulator holds other bytes for %d than the test wrote", f.ID)
		}
		digests[f.ID] = md5hex(data)
		parentOf[f.ID] = parent
	}
	return digests, parentOf, nil
}

// mirrors groups the CoreData files by the Nexudus Id of their
// nexudus-file-<Id> tag; untagged lists files carrying no such tag.
func mirrors(files []coredatatest.FileInfo) (byID map[int64][]coredatatest.FileInfo, untagged []coredatatest.FileInfo) {
	byID = map[int64][]coredatatest.FileInfo{}
	for _, f := range files {
		found := false
		for _, tag := range f.Tags {
			if s, ok := strings.CutPrefix(tag, "nexudus-file-"); ok {
				if id, err := strconv.ParseInt(s, 10, 64); err == nil {
					byID[id] = append(byID[id], f)
					found = true
				}
			}
		}
		if !found {
			untagged = append(untagged, f)
		}
	}
	return byID, untagged
}

// duplicates lists the Nexudus Ids mirrored by more than one CoreData file.
func duplicates(byID map[int64][]coredatatest.FileInfo) []int64 {
	var out []int64
	for id, fs := range byID {
		if len(fs) > 1 {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
