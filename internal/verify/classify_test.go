package verify

import (
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/state"
)

func TestClassify(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	rec := func(updated time.Time) nexudus.File {
		return nexudus.File{ID: 7, BusinessID: 1, Signed: true, UpdatedOn: nexudus.Time{Time: updated}}
	}
	cd := func(id, digest string) coredata.File {
		return coredata.File{ID: id, Digest: digest, Tags: []string{"nexudus-file-7"}}
	}
	mapping := func(id, md5 string, updated time.Time) *state.Mapping {
		return &state.Mapping{NexudusID: 7, CoreDataID: id, MD5: md5, UpdatedOn: updated}
	}
	tests := []struct {
		name   string
		in     Input
		status Status
		id     string
		reason string // a part of the reason; "" for none
	}{
		{"nothing tagged: missing", Input{Record: rec(t0)}, StatusMissing, "", "tagged nexudus-file-7"},
		{"mapped file gone: missing, naming it", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0)}, StatusMissing, "", "file a, which the state file maps, no longer exists"},
		{"two tagged: duplicate", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "m1"), cd("b", "m1")}}, StatusDuplicate, "", "2 CoreData files are tagged nexudus-file-7: a, b"},
		{"all as recorded: ok", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "m1")}}, StatusOK, "a", ""},
		{"digest case does not matter", Input{Record: rec(t0), Mapping: mapping("a", "ABC", t0), Tagged: []coredata.File{cd("a", "abc")}}, StatusOK, "a", ""},
		{"older Nexudus time than the mapping: ok", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0.Add(time.Hour)), Tagged: []coredata.File{cd("a", "m1")}}, StatusOK, "a", "the next poll compares the bytes"},
		{"newer Nexudus time: stale", Input{Record: rec(t0.Add(time.Minute)), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "m1")}}, StatusStale, "a", "after the version syncd mirrored"},
		{"other digest in CoreData: drift", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "m2")}}, StatusDrift, "a", "digest m2 is not the one syncd recorded (m1)"},
		{"drift wins over stale and says both", Input{Record: rec(t0.Add(time.Minute)), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "m2")}}, StatusDrift, "a", "also updated since"},
		{"no digest in CoreData: drift", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "")}}, StatusDrift, "a", "digest none"},
		{"mapping names another file: drift", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("b", "m1")}}, StatusDrift, "b", "maps it to a, but the CoreData file tagged for it is b"},
		{"rebuilt mapping without a time: ok, says so", Input{Record: rec(t0), Mapping: mapping("a", "m1", time.Time{}), Tagged: []coredata.File{cd("a", "m1")}}, StatusOK, "a", "state rebuild"},
		{"record without a time: ok", Input{Record: rec(time.Time{}), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "m1")}}, StatusOK, "a", "the next poll compares the bytes"},
		{"no mapping, one tagged: ok found by tag", Input{Record: rec(t0), Tagged: []coredata.File{cd("a", "m1")}}, StatusOK, "a", "not in the state file; found by tag"},
		{"no mapping, -deep same bytes: ok", Input{Record: rec(t0), Tagged: []coredata.File{cd("a", "m1")}, DeepMD5: "m1"}, StatusOK, "a", "holds the Nexudus bytes"},
		{"no mapping, -deep other bytes: stale", Input{Record: rec(t0), Tagged: []coredata.File{cd("a", "m1")}, DeepMD5: "m2"}, StatusStale, "a", "Nexudus holds other bytes (md5 m2)"},
		{"-deep same bytes: ok even with a newer time", Input{Record: rec(t0.Add(time.Minute)), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "m1")}, DeepMD5: "m1"}, StatusOK, "a", ""},
		{"-deep new bytes, CoreData as recorded: stale", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "m1")}, DeepMD5: "m2"}, StatusStale, "a", "newer bytes (md5 m2)"},
		{"-deep, CoreData changed: drift", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("a", "m3")}, DeepMD5: "m1"}, StatusDrift, "a", "neither the one syncd recorded (m1) nor the Nexudus bytes' (m1)"},
		{"-deep, CoreData holds Nexudus bytes the state file does not know: ok", Input{Record: rec(t0), Mapping: mapping("a", "m0", t0), Tagged: []coredata.File{cd("a", "m1")}, DeepMD5: "m1"}, StatusOK, "a", "records md5 m0"},
		{"re-filed elsewhere, still tagged: ok, followed", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Mapped: &coredata.File{ID: "a", Parent: "elsewhere", Digest: "m1", Tags: []string{"nexudus-file-7"}}}, StatusOK, "a", "re-filed from none to elsewhere; the daemon's audit follows it"},
		{"renamed and a person's version: drift, says both", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{{ID: "a", Title: "theirs", Digest: "m2", Tags: []string{"nexudus-file-7"}}}}, StatusDrift, "a", "renamed; the daemon's audit follows it there; CoreData's digest m2"},
		{"tag removed: missing, names the file", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Mapped: &coredata.File{ID: "a", Digest: "m1", Tags: []string{"nexudus"}}}, StatusMissing, "a", "lost its tag nexudus-file-7; a lookup or `state rebuild` cannot find it"},
		{"tag removed and another tagged: duplicate", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Mapped: &coredata.File{ID: "a", Digest: "m1"}, Tagged: []coredata.File{cd("b", "m1")}}, StatusDuplicate, "", "CoreData files b are tagged nexudus-file-7"},
		{"-deep does not hide a mapping to another file", Input{Record: rec(t0), Mapping: mapping("a", "m1", t0), Tagged: []coredata.File{cd("b", "m1")}, DeepMD5: "m1"}, StatusDrift, "b", "maps it to a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Classify(tt.in)
			if v.Status != tt.status || v.CoreDataID != tt.id {
				t.Fatalf("got %s on %q (%s), want %s on %q", v.Status, v.CoreDataID, v.Reason, tt.status, tt.id)
			}
			if tt.reason != "" && !strings.Contains(v.Reason, tt.reason) {
				t.Fatalf("reason %q does not say %q", v.Reason, tt.reason)
			}
			if tt.reason == "" && tt.status == StatusOK && v.Reason != "" {
				t.Fatalf("plain ok has a reason: %q", v.Reason)
			}
		})
	}
}

func TestOnlyOKAndOrphanAreNotProblems(t *testing.T) {
	for _, s := range Statuses {
		want := s != StatusOK && s != StatusOrphan
		if s.Problem() != want {
			t.Errorf("%s: Problem() = %v", s, s.Problem())
		}
	}
}
