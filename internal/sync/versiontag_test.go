package sync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

func TestVersionTagRoundTrip(t *testing.T) {
	const sum = "0cc175b9c0f1b6a831c399e269772661"
	at := time.Date(2026, 12, 7, 4, 45, 28, 123456789, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		name string
		tag  string
		ok   bool
		want time.Time
	}{
		{"as written", syncer.VersionTag(at, sum), true, at},
		{"upper-cased by CoreData", strings.ToUpper(syncer.VersionTag(at, sum)), true, at},
		{"seconds only", syncer.VersionTag(at.Truncate(time.Second), sum), true, at.Truncate(time.Second)},
		{"another prefix", "nexudus-file-1001", false, time.Time{}},
		{"no md5", "nexudus-version-1796618942000000000", false, time.Time{}},
		{"short md5", "nexudus-version-1796618942000000000-0cc175b9", false, time.Time{}},
		{"not hex", "nexudus-version-1796618942000000000-0cc175b9c0f1b6a831c399e26977266z", false, time.Time{}},
		{"signed time", "nexudus-version-+1796618942000000000-" + sum, false, time.Time{}},
		{"negative time", "nexudus-version--1-" + sum, false, time.Time{}},
		{"zero time", "nexudus-version-0-" + sum, false, time.Time{}},
		{"overflow", "nexudus-version-99999999999999999999-" + sum, false, time.Time{}},
		{"year 2262, never written (found by FuzzParseVersionTag)", "nexudus-version-9217000000000000000-" + sum, false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, gotSum, ok := syncer.ParseVersionTag(tc.tag)
			if ok != tc.ok || !got.Equal(tc.want) || (ok && gotSum != sum) {
				t.Fatalf("ParseVersionTag(%q) = %v %q %v; want %v %v", tc.tag, got, gotSum, ok, tc.want, tc.ok)
			}
		})
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		sum  string
	}{
		{"no time", time.Time{}, sum},
		{"before 1970", time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), sum},
		{"after 2261", time.Date(2262, 6, 1, 0, 0, 0, 0, time.UTC), sum},
		{"no digest", at, ""},
		{"not a digest", at, "not-an-md5"},
	} {
		t.Run("nothing to say: "+tc.name, func(t *testing.T) {
			if tag := syncer.VersionTag(tc.at, tc.sum); tag != "" {
				t.Fatalf("VersionTag = %q, want none", tag)
			}
		})
	}
}

func FuzzParseVersionTag(f *testing.F) {
	f.Add(syncer.VersionTag(time.Unix(1796618942, 5), "0cc175b9c0f1b6a831c399e269772661"))
	f.Add("nexudus-version--0-")
	f.Fuzz(func(t *testing.T, tag string) {
		at, sum, ok := syncer.ParseVersionTag(tag)
		if !ok {
			return
		}
		again, sum2, ok2 := syncer.ParseVersionTag(syncer.VersionTag(at, sum))
		if !ok2 || !again.Equal(at) || sum2 != sum {
			t.Fatalf("%q read as %v %s, which writes back as %v %s %v", tag, at, sum, again, sum2, ok2)
		}
	})
}

// SPEC "Performance budget": a lost state file costs no download for a
// record that did not change since it was mirrored. Each case is an
// ordinary operator event after three records were mirrored; the first
// poll after it must download nothing and write nothing to CoreData, and
// a record that did change meanwhile is still mirrored.
func TestAdoptionAfterALostMappingDownloadsNothing(t *testing.T) {
	const elsewhere = "9a0e7c10-0000-4000-8000-00000000e15e"
	rebuild := func(h *harness) {
		if _, err := syncer.Rebuild(context.Background(), h.sink, h.store, []string{syncer.WholeTenant}, nil); err != nil {
			h.t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		lose func(h *harness, ids []int64)
	}{
		{"state forget", func(h *harness, ids []int64) {
			for _, id := range ids {
				if err := h.store.Forget(id); err != nil {
					h.t.Fatal(err)
				}
			}
		}},
		{"lost state file", func(h *harness, _ []int64) { h.loseState() }},
		{"lost state file, then state rebuild", func(h *harness, _ []int64) { h.loseState(); rebuild(h) }},
		{"state rebuild over the state file", func(h *harness, _ []int64) { rebuild(h) }},
		{"a followed file, then a lost state file", func(h *harness, ids []int64) {
			h.cd.Move(h.coreDataFileOf(ids[0]).ID, elsewhere)
			if rep := h.audit(repairs); rep.Counts[syncer.AuditMoved] != 1 {
				h.t.Fatalf("audit: %v", rep.Counts)
			}
			h.loseState()
		}},
		{"a followed file, then state forget", func(h *harness, ids []int64) {
			h.cd.Move(h.coreDataFileOf(ids[0]).ID, elsewhere)
			if rep := h.audit(repairs); rep.Counts[syncer.AuditMoved] != 1 {
				h.t.Fatalf("audit: %v", rep.Counts)
			}
			if err := h.store.Forget(ids[0]); err != nil {
				h.t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			ids := []int64{h.addSigned(1, "A", "a"), h.addSigned(1, "B", "b"), h.addSigned(1, "C", "c")}
			h.poll(configuredParents)
			before := map[int64]time.Time{}
			for _, id := range ids {
				m, _, _ := h.store.Mapping(id)
				before[id] = m.UpdatedOn
			}
			tc.lose(h, ids)
			h.now = h.now.Add(time.Minute)
			downloads, writes := h.downloads(), h.writes()
			rep := h.poll(configuredParents)
			if n := h.downloads() - downloads; n != 0 || h.writes() != writes || len(rep.Failed) != 0 {
				t.Fatalf("first poll after: %d downloads, %d CoreData writes (%s); want none", n, h.writes()-writes, rep.Summary())
			}
			for _, id := range ids {
				if m, ok, _ := h.store.Mapping(id); !ok || !m.UpdatedOn.Equal(before[id]) {
					t.Fatalf("mapping of %d: %+v %v; want UpdatedOn %v", id, m, ok, before[id])
				}
			}
			if rep := h.audit(repairs); rep.Counts[syncer.AuditOK] != 3 || len(rep.Problems) != 0 {
				t.Fatalf("audit after: %v %+v", rep.Counts, rep.Problems)
			}

			// What changed is still seen: new bytes, one download, one
			// new version on the same file.
			h.nx.Advance(time.Minute)
			h.now = h.now.Add(time.Minute)
			h.nx.SetSignedData(ids[0], "A-v2.pdf", []byte("a v2"))
			downloads, creates := h.downloads(), h.creates()
			if rep := h.poll(configuredParents); rep.Updated != 1 || h.downloads()-downloads != 1 || h.creates() != creates {
				t.Fatalf("poll after new bytes: %s, %d downloads, %d creates", rep.Summary(), h.downloads()-downloads, h.creates()-creates)
			}
			h.assertMirrored()
		})
	}
}

// What a version tag cannot prove costs one download, as before it
// existed, and never an upload of bytes CoreData holds: each case leaves
// a file whose tag does not vouch for its current version, then loses the
// state file. After that download the tag is right, and the next loss
// costs nothing.
func TestUnprovenVersionCostsOneDownload(t *testing.T) {
	for _, tc := range []struct {
		name string
		// leave runs after A was mirrored; it returns the uploads the
		// poll after the loss should make (a person's version on top is
		// answered by the signed bytes on top again, as before).
		leave func(h *harness, id int64) int
	}{
		{"mirrored before syncd wrote version tags", func(h *harness, id int64) int {
			f := h.coreDataFileOf(id)
			var old []string
			for _, t := range f.Tags {
				if _, _, ok := syncer.ParseVersionTag(t); !ok {
					old = append(old, t)
				}
			}
			h.cd.SetTags(f.ID, old)
			return 0
		}},
		{"a person's version on top", func(h *harness, id int64) int {
			h.cd.UploadVersion(h.coreDataFileOf(id).ID, []byte("a person's edit"), "application/pdf")
			return 1
		}},
		{"the tag's write failed after a content update", func(h *harness, id int64) int {
			h.nx.Advance(time.Minute)
			h.now = h.now.Add(time.Minute)
			h.nx.SetSignedData(id, "A-v2.pdf", []byte("a v2"))
			h.cd.FailNext(coredatatest.RouteUpdateMetadata, 503, 10)
			if rep := h.poll(configuredParents); rep.Updated != 1 || len(rep.Failed) != 0 {
				h.t.Fatalf("update whose tag write fails: %s; want updated, not failed", rep.Summary())
			}
			h.cd.ClearFaults()
			return 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			id := h.addSigned(1, "A", "a")
			h.poll(configuredParents)
			wantUploads := tc.leave(h, id)
			h.loseState()
			h.now = h.now.Add(time.Minute)
			downloads, puts, creates := h.downloads(), h.cd.Count(coredatatest.RouteStorage), h.creates()
			rep := h.poll(configuredParents)
			if n := h.downloads() - downloads; n != 1 || h.creates() != creates || len(rep.Failed) != 0 {
				t.Fatalf("poll after the loss: %d downloads, %d creates (%s); want 1 and none", n, h.creates()-creates, rep.Summary())
			}
			if n := h.cd.Count(coredatatest.RouteStorage) - puts; n != wantUploads {
				t.Fatalf("%d uploads, want %d", n, wantUploads)
			}
			h.assertMirrored()
			h.loseState()
			h.now = h.now.Add(time.Minute)
			downloads = h.downloads()
			h.poll(configuredParents)
			if n := h.downloads() - downloads; n != 0 {
				t.Fatalf("second loss: %d downloads, want none: the first one's download should have written the tag", n)
			}
		})
	}
}

// The version tag rides on the create (no request more) and costs one
// metadata write on a content update, which keeps the tags and the
// folder a person gave the file.
func TestVersionTagCost(t *testing.T) {
	const elsewhere = "9a0e7c10-0000-4000-8000-00000000e15e"
	h := newHarness(t, nexudustest.Options{})
	id := h.addSigned(1, "A", "a")
	before := cdTotal(h)
	h.poll(configuredParents)
	if n := cdTotal(h) - before; n != 5 {
		t.Fatalf("a new file cost %d CoreData requests, want 5", n)
	}
	f := h.coreDataFileOf(id)
	m, _, _ := h.store.Mapping(id)
	if want := syncer.VersionTag(m.UpdatedOn, m.MD5); !contains(f.Tags, want) {
		t.Fatalf("created with tags %v, want %s among them", f.Tags, want)
	}
	h.cd.SetTags(f.ID, append(f.Tags, "legal-hold"))
	h.cd.Move(f.ID, elsewhere)

	h.nx.Advance(time.Minute)
	h.now = h.now.Add(time.Minute)
	h.nx.SetSignedData(id, "A-v2.pdf", []byte("a v2"))
	before, meta := cdTotal(h), h.cd.Count(coredatatest.RouteUpdateMetadata)
	if rep := h.poll(configuredParents); rep.Updated != 1 {
		t.Fatalf("update: %s", rep.Summary())
	}
	if n, meta := cdTotal(h)-before, h.cd.Count(coredatatest.RouteUpdateMetadata)-meta; n != 5 || meta != 1 {
		t.Fatalf("an updated file cost %d CoreData requests (%d metadata writes), want 5 (get, blob, PUT, content update, metadata)", n, meta)
	}
	f = h.coreDataFileOf(id)
	m, _, _ = h.store.Mapping(id)
	var versionTags int
	for _, tag := range f.Tags {
		if _, _, ok := syncer.ParseVersionTag(tag); ok {
			versionTags++
		}
	}
	if want := syncer.VersionTag(m.UpdatedOn, m.MD5); !contains(f.Tags, want) || versionTags != 1 || !contains(f.Tags, "legal-hold") || f.Parent != elsewhere || f.Filename != "A-v2.pdf" {
		t.Fatalf("after the update: tags %v, parent %s, filename %s; want only %s beside the person's tag, the person's folder, the new filename", f.Tags, f.Parent, f.Filename, want)
	}
}

func cdTotal(h *harness) int {
	n := 0
	for _, c := range h.cd.Counts() {
		n += c
	}
	return n
}
