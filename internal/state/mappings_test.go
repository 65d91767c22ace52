package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

func TestPutMappingRoundTripInUTC(t *testing.T) {
	s := newStore(t)
	in := mapping(42, "cd-42")
	mustPut(t, s, in)
	got, ok, err := s.Mapping(42)
	if err != nil || !ok {
		t.Fatalf("Mapping(42) = %v, %v", ok, err)
	}
	if got.UpdatedOn.Location() != time.UTC || got.SyncedAt.Location() != time.UTC {
		t.Errorf("times not in UTC: %v, %v", got.UpdatedOn, got.SyncedAt)
	}
	if !got.UpdatedOn.Equal(in.UpdatedOn) || !got.SyncedAt.Equal(in.SyncedAt) {
		t.Errorf("times changed: %v, %v", got.UpdatedOn, got.SyncedAt)
	}
	in.UpdatedOn, in.SyncedAt = got.UpdatedOn, got.SyncedAt
	if got != in {
		t.Errorf("Mapping(42) = %+v, want %+v", got, in)
	}
	if _, ok, err := s.Mapping(43); ok || err != nil {
		t.Errorf("Mapping(43) = %v, %v; want absent", ok, err)
	}
}

func TestPutMappingEndsIntentAndFailure(t *testing.T) {
	cases := []struct {
		name        string
		maxAttempts int // 1 parks at once
	}{
		{"failing", 5},
		{"parked", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			if err := s.PutIntent(Intent{NexudusID: 5, Title: "t", StartedAt: t0}); err != nil {
				t.Fatal(err)
			}
			f, err := s.RecordFailure(5, t0, "verify failed", t0, c.maxAttempts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if f.Parked != (c.maxAttempts == 1) {
				t.Fatalf("Parked = %v", f.Parked)
			}
			mustPut(t, s, mapping(5, "cd-5"))
			if _, ok, _ := s.Intent(5); ok {
				t.Error("intent survived PutMapping")
			}
			if _, ok, _ := s.Failure(5); ok {
				t.Error("failure survived PutMapping")
			}
			e, err := s.Entry(5)
			if err != nil || e.Status != StatusMirrored {
				t.Errorf("Entry(5) = %+v, %v; want mirrored", e, err)
			}
			mapped, parked, failing, intents, err := s.Counts()
			if err != nil || mapped != 1 || parked != 0 || failing != 0 || intents != 0 {
				t.Errorf("Counts() = %d %d %d %d %v; want 1 0 0 0", mapped, parked, failing, intents, err)
			}
		})
	}
}

func TestOwners(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, mapping(1, "cd-a"))

	cases := []struct {
		name    string
		m       Mapping
		wantErr error
		owners  map[string]int64 // expected afterwards; 0 means none
	}{
		{"same owner rewrites", mapping(1, "cd-a"), nil, map[string]int64{"cd-a": 1}},
		{"second nexudus file refused", mapping(2, "cd-a"), ErrOwned, map[string]int64{"cd-a": 1, "cd-b": 0}},
		{"mapping moves, stale owner released", mapping(1, "cd-b"), nil, map[string]int64{"cd-a": 0, "cd-b": 1}},
		{"released id can be claimed", mapping(2, "cd-a"), nil, map[string]int64{"cd-a": 2, "cd-b": 1}},
		{"claimed again refused", mapping(1, "cd-a"), ErrOwned, map[string]int64{"cd-a": 2, "cd-b": 1}},
		{"non-positive id", mapping(0, "cd-z"), ErrInvalid, map[string]int64{"cd-z": 0}},
		{"empty coredata id", mapping(9, ""), ErrInvalid, map[string]int64{"cd-a": 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.PutMapping(c.m)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("PutMapping = %v, want %v", err, c.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "state: put mapping ") {
				t.Errorf("err = %q, want the op and id", err)
			}
			for cd, want := range c.owners {
				got, ok, err := s.Owner(cd)
				if err != nil || ok != (want != 0) || got != want {
					t.Errorf("Owner(%s) = %d, %v, %v; want %d", cd, got, ok, err, want)
				}
			}
		})
	}
	// A refused PutMapping must not have touched the loser's other records.
	m, ok, _ := s.Mapping(1)
	if !ok || m.CoreDataID != "cd-b" {
		t.Errorf("Mapping(1) = %+v after refusals", m)
	}
	ms, err := s.Mappings()
	if err != nil || len(ms) != 2 || ms[0].NexudusID != 1 || ms[1].NexudusID != 2 {
		t.Errorf("Mappings() = %+v, %v", ms, err)
	}
}

func TestForget(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, mapping(1, "cd-1"))
	if err := s.PutIntent(Intent{NexudusID: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordFailure(1, t0, "x", t0, 5, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordFailure(2, t0, "x", t0, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutIntent(Intent{NexudusID: 3}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		id      int64
		wantErr error
	}{
		{1, nil}, {1, ErrNotFound}, {2, nil}, {3, nil}, {4, ErrNotFound},
	}
	for _, c := range cases {
		err := s.Forget(c.id)
		if !errors.Is(err, c.wantErr) {
			t.Errorf("Forget(%d) = %v, want %v", c.id, err, c.wantErr)
		}
		if _, err := s.Entry(c.id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Entry(%d) after Forget = %v, want ErrNotFound", c.id, err)
		}
	}
	if _, ok, _ := s.Owner("cd-1"); ok {
		t.Error("owner entry survived Forget")
	}
	// The CoreData file is free for the file that now claims it.
	mustPut(t, s, mapping(9, "cd-1"))
}

func TestForgetCorruptMapping(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, mapping(1, "cd-1"))
	corruptRecord(t, s, bucketFiles, 1, "{broken")
	if _, _, err := s.Mapping(1); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "mapping 1") {
		t.Fatalf("Mapping(1) = %v, want ErrCorrupt naming the id", err)
	}
	if err := s.Forget(1); err != nil {
		t.Fatalf("Forget of a corrupt mapping: %v", err)
	}
	if _, ok, _ := s.Owner("cd-1"); ok {
		t.Error("owner of a corrupt mapping survived Forget")
	}
}

func TestPutMappingOverCorruptMapping(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, mapping(1, "cd-old"))
	mustPut(t, s, mapping(2, "cd-other"))
	corruptRecord(t, s, bucketFiles, 1, `{"nexudus_id":1}`)
	mustPut(t, s, mapping(1, "cd-new"))
	for cd, want := range map[string]int64{"cd-old": 0, "cd-new": 1, "cd-other": 2} {
		got, ok, err := s.Owner(cd)
		if err != nil || ok != (want != 0) || got != want {
			t.Errorf("Owner(%s) = %d, %v, %v; want %d", cd, got, ok, err, want)
		}
	}
}

func TestMappingsForReadsSeveralInOneGo(t *testing.T) {
	s := newStore(t)
	for _, id := range []int64{3, 5} {
		if err := s.PutMapping(Mapping{NexudusID: id, CoreDataID: fmt.Sprint("cd-", id), MD5: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.MappingsFor([]int64{3, 4, 5})
	if err != nil || len(got) != 2 || got[3].CoreDataID != "cd-3" || got[5].CoreDataID != "cd-5" {
		t.Fatalf("MappingsFor = %+v, %v", got, err)
	}
	if _, ok := got[4]; ok {
		t.Fatal("a file without a mapping is in the map")
	}
}

// Mappings allocates its slice once: verify holds every mapping, and a
// slice doubling its way up cost as much again in garbage at its peak.
func TestMappingsAllocatesTheSliceOnce(t *testing.T) {
	s := newStore(t)
	const n = 5000
	ms := make([]Mapping, n)
	for i := range ms {
		ms[i] = realisticMapping(i, true)
	}
	if _, err := s.PutMappings(ms); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := s.Mappings()
	runtime.ReadMemStats(&after)
	if err != nil || len(got) != n {
		t.Fatalf("Mappings() = %d, %v", len(got), err)
	}
	// The slice, each mapping's one string (about 200 bytes) and a
	// little for bbolt's transaction.
	bound := uint64(n) * (uint64(unsafe.Sizeof(Mapping{})) + 256 + 64)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > bound {
		t.Errorf("Mappings() of %d allocated %d bytes, want at most %d", n, alloc, bound)
	}
	if empty, err := newStore(t).Mappings(); err != nil || empty != nil {
		t.Errorf("Mappings() of an empty file = %#v, %v; want nil", empty, err)
	}
}
