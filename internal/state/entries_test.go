package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// fillEntries puts one file in each combination of buckets that the status
// precedence (parked > failed > intent > mirrored) has to resolve.
func fillEntries(t *testing.T, s *Store) {
	t.Helper()
	fail := func(id int64, max int) {
		t.Helper()
		if _, err := s.RecordFailure(id, t0.Add(time.Duration(id)*time.Hour), "coredata: verify: md5 mismatch", t0, max, doubling); err != nil {
			t.Fatal(err)
		}
	}
	intent := func(id int64) {
		t.Helper()
		in := Intent{NexudusID: id, Parent: "parent-i", Title: "Intent title", Filename: "intent.pdf", MD5: "md5-new", Size: 99, UpdatedOn: t0.Add(2 * time.Hour), StartedAt: t0}
		if err := s.PutIntent(in); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, s, mapping(1, "cd-1")) // mirrored
	intent(2)                         // intent only
	mustPut(t, s, mapping(3, "cd-3")) // mapped, update failing
	fail(3, 5)
	fail(4, 1)                        // parked, never mapped
	mustPut(t, s, mapping(5, "cd-5")) // mapped + intent
	intent(5)
	intent(6) // intent + failing
	fail(6, 5)
	mustPut(t, s, mapping(7, "cd-7")) // mapped + parked
	fail(7, 2)
	fail(7, 2)
	fail(8, 5) // failing only: updated_on comes from the failure
}

func TestEntriesGolden(t *testing.T) {
	s := newStore(t)
	fillEntries(t, s)
	entries, err := s.Entries()
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]Status{1: StatusMirrored, 2: StatusIntent, 3: StatusFailed, 4: StatusParked, 5: StatusIntent, 6: StatusFailed, 7: StatusParked, 8: StatusFailed}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for i, e := range entries {
		if e.NexudusID != int64(i+1) || e.Status != want[e.NexudusID] {
			t.Errorf("entries[%d] = id %d %s; want id %d %s", i, e.NexudusID, e.Status, i+1, want[int64(i+1)])
		}
		one, err := s.Entry(e.NexudusID)
		if err != nil || !equalJSON(t, one, e) {
			t.Errorf("Entry(%d) = %+v, %v; want the Entries() element %+v", e.NexudusID, one, err, e)
		}
	}
	if e := entries[2]; e.CoreDataID != "cd-3" || e.MD5 != "md5-cd-3" || e.Attempts != 1 || e.NextAttempt == nil {
		t.Errorf("failing update lost its mapping: %+v", e)
	}
	if e := entries[3]; e.NextAttempt != nil {
		t.Errorf("parked entry has next_attempt %v", e.NextAttempt)
	}

	got, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "entries.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantJSON, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, wantJSON) {
		t.Errorf("entries JSON differs from %s (go test -update after checking):\n%s", golden, got)
	}

	// The `state ls -json` contract: these names, always present.
	var objs []map[string]any
	if err := json.Unmarshal(got, &objs); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"nexudus_id", "coredata_id", "md5", "status", "attempts", "next_attempt", "last_error",
		"title", "parent", "filename", "size", "updated_on", "synced_at", "snapshot_id", "audit"} {
		if _, ok := objs[0][k]; !ok {
			t.Errorf("JSON field %q missing", k)
		}
	}
	if len(objs[0]) != 15 {
		t.Errorf("entry has %d JSON fields, want 15: %v", len(objs[0]), objs[0])
	}

	mapped, parked, failing, intents, err := s.Counts()
	if err != nil || mapped != 4 || parked != 2 || failing != 3 || intents != 3 {
		t.Errorf("Counts() = %d %d %d %d %v; want 4 2 3 3", mapped, parked, failing, intents, err)
	}
	if _, err := s.Entry(99); !errors.Is(err, ErrNotFound) {
		t.Errorf("Entry(99) = %v, want ErrNotFound", err)
	}
}

func TestEntriesEmpty(t *testing.T) {
	s := newStore(t)
	entries, err := s.Entries()
	if err != nil || len(entries) != 0 {
		t.Errorf("Entries() = %v, %v", entries, err)
	}
	if ms, err := s.Mappings(); len(ms) != 0 || err != nil {
		t.Errorf("Mappings() = %v, %v", ms, err)
	}
}

// Concurrent engine workers and a reader; -race checks the store itself.
func TestConcurrentUse(t *testing.T) {
	s := newStore(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				id := int64(w*100 + i + 1)
				if err := s.PutIntent(Intent{NexudusID: id}); err != nil {
					t.Error(err)
					return
				}
				if err := s.PutMapping(mapping(id, "cd-"+string(rune('a'+w))+"-"+string(rune('a'+i)))); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Entries(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	mapped, _, _, intents, err := s.Counts()
	if err != nil || mapped != 100 || intents != 0 {
		t.Errorf("Counts() = %d mapped, %d intents, %v; want 100, 0", mapped, intents, err)
	}
}
