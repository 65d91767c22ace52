package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPutMappingsWritesEachAsPutMapping(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, mapping(10000, "cd-taken"))
	if err := s.PutIntent(Intent{NexudusID: 3, Title: "t", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordFailure(4, t0, "boom", t0, 1, nil); err != nil {
		t.Fatal(err)
	}
	moved := mapping(5, "cd-5-old")
	mustPut(t, s, moved)

	var ms []Mapping
	for id := int64(1); id <= 2500; id++ {
		ms = append(ms, mapping(id, fmt.Sprint("cd-", id)))
	}
	ms[1].CoreDataID = "cd-taken" // id 2: owned by 10000
	ms[5].CoreDataID = ""         // id 6: invalid
	ms[6].CoreDataID = "cd-1"     // id 7: owned by 1, claimed earlier in this batch
	ms = append(ms, mapping(8, "cd-8-again"))

	refused, err := s.PutMappings(ms)
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != len(ms) {
		t.Fatalf("%d errors for %d mappings", len(refused), len(ms))
	}
	for i, err := range refused {
		id := ms[i].NexudusID
		switch id {
		case 2, 7:
			if !errors.Is(err, ErrOwned) || !strings.Contains(err.Error(), fmt.Sprintf("put mapping %d:", id)) {
				t.Errorf("mapping %d: err = %v, want ErrOwned naming it", id, err)
			}
		case 6:
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("mapping 6: err = %v, want ErrInvalid", err)
			}
		default:
			if err != nil {
				t.Errorf("mapping %d: %v", id, err)
			}
		}
	}
	for _, id := range []int64{2, 6, 7} {
		if _, ok, _ := s.Mapping(id); ok {
			t.Errorf("refused mapping %d was written", id)
		}
	}
	if owner, _, _ := s.Owner("cd-taken"); owner != 10000 {
		t.Errorf("cd-taken owned by %d, want 10000", owner)
	}
	for _, id := range []int64{1, 3, 4, 5, 2500} {
		m, ok, err := s.Mapping(id)
		if err != nil || !ok || m.CoreDataID != fmt.Sprint("cd-", id) {
			t.Errorf("Mapping(%d) = %+v, %v, %v", id, m, ok, err)
		}
		if owner, ok, _ := s.Owner(m.CoreDataID); !ok || owner != id {
			t.Errorf("Owner(%s) = %d, %v", m.CoreDataID, owner, ok)
		}
	}
	if m, _, _ := s.Mapping(8); m.CoreDataID != "cd-8-again" {
		t.Errorf("the later mapping of 8 did not win: %s", m.CoreDataID)
	}
	if _, ok, _ := s.Owner("cd-8"); ok {
		t.Error("cd-8 still owned after 8 moved to cd-8-again")
	}
	if _, ok, _ := s.Owner("cd-5-old"); ok {
		t.Error("cd-5-old still owned after 5 moved")
	}
	if _, ok, _ := s.Intent(3); ok {
		t.Error("intent of 3 survived")
	}
	if _, ok, _ := s.Failure(4); ok {
		t.Error("parked failure of 4 survived")
	}
	mapped, _, _, _, err := s.Counts()
	if want := 2500 - 3 + 1; err != nil || mapped != want { // 10000 is mapped too
		t.Errorf("Counts() mapped = %d, %v; want %d", mapped, err, want)
	}

	if refused, err := s.PutMappings(nil); err != nil || refused != nil {
		t.Errorf("PutMappings(nil) = %v, %v", refused, err)
	}
}

// A failing transaction (a full disk) writes nothing of the batch.
func TestPutMappingsAllOrNothingOnAFailedCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := openTest(t, path, Options{})
	mustPut(t, s, mapping(1, "cd-1"))
	s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, Options{MaxSize: int(fi.Size())})
	var ms []Mapping
	for id := int64(2); id < 3000; id++ {
		m := mapping(id, fmt.Sprint("cd-", id))
		m.Title = strings.Repeat("t", 500)
		ms = append(ms, m)
	}
	if _, err := s.PutMappings(ms); err == nil {
		t.Fatal("PutMappings past MaxSize succeeded")
	}
	if mapped, _, _, _, err := s.Counts(); err != nil || mapped != 1 {
		t.Errorf("mapped = %d, %v after a failed batch; want 1", mapped, err)
	}
}
