package state

import (
	"errors"
	"testing"
	"time"
)

func TestEachMappingVisitsEveryMappingInIDOrderAcrossBatches(t *testing.T) {
	s := newStore(t)
	for id := int64(1); id <= 7; id++ {
		if err := s.PutMapping(Mapping{NexudusID: id * 10, CoreDataID: "cd-" + string(rune('a'+id))}); err != nil {
			t.Fatal(err)
		}
	}
	var got []int64
	if err := s.EachMapping(3, func(m Mapping) error { got = append(got, m.NexudusID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 || got[0] != 10 || got[6] != 70 {
		t.Fatalf("visited %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("not in id order: %v", got)
		}
	}
}

func TestFollowSurvivesForgetAndRecreateDropsIt(t *testing.T) {
	s := newStore(t)
	m := Mapping{NexudusID: 5, CoreDataID: "cd-5", Parent: "p", Title: "t"}
	if err := s.PutMapping(m); err != nil {
		t.Fatal(err)
	}
	m.Parent, m.Title = "elsewhere", "by a person"
	if err := s.Follow(m, Followed{Parent: "elsewhere", Title: "by a person", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(5); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.IsFollowed(5); err != nil || !ok {
		t.Fatalf("after forget: followed %v, %v", ok, err)
	}
	if ps, err := s.FollowedParents(); err != nil || len(ps) != 1 || ps[0] != "elsewhere" {
		t.Fatalf("followed parents %v, %v", ps, err)
	}
	if err := s.PutMapping(Mapping{NexudusID: 5, CoreDataID: "cd-5"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecreateIntent(Intent{NexudusID: 5, Parent: "p"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Mapping(5); ok {
		t.Fatal("the mapping survived RecreateIntent")
	}
	if owner, owned, _ := s.Owner("cd-5"); owned {
		t.Fatalf("cd-5 is still owned by %d", owner)
	}
	in, ok, err := s.Intent(5)
	if err != nil || !ok || !in.Unsent {
		t.Fatalf("intent %+v, %v, %v", in, ok, err)
	}
	if ok, _ := s.IsFollowed(5); ok {
		t.Fatal("a recreated file is still followed")
	}
}

func TestPartialAuditKeepsTheFindingsOfFilesItDidNotReach(t *testing.T) {
	s := newStore(t)
	for _, id := range []int64{1, 2} {
		if err := s.PutMapping(Mapping{NexudusID: id, CoreDataID: "cd-" + string(rune('0'+id))}); err != nil {
			t.Fatal(err)
		}
	}
	all := map[int64]AuditFinding{1: {Status: "drift"}, 2: {Status: "untagged"}}
	if err := s.PutAuditResult(AuditSummary{Complete: true}, all, nil); err != nil {
		t.Fatal(err)
	}
	// The next audit reached file 1 only (an outage), and found it ok.
	if err := s.PutAuditResult(AuditSummary{}, nil, func(id int64) bool { return id == 1 }); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuditFindings()
	if err != nil || len(got) != 1 || got[2].Status != "untagged" {
		t.Fatalf("findings %v, %v", got, err)
	}
	e, err := s.Entry(2)
	if err != nil || e.Audit == nil || e.Audit.Status != "untagged" {
		t.Fatalf("entry 2 audit %+v, %v", e.Audit, err)
	}
	if e, _ := s.Entry(1); e.Audit != nil {
		t.Fatalf("entry 1 after an incomplete audit: %+v (no whole audit vouches for it)", e.Audit)
	}
	if err := s.PutAuditResult(AuditSummary{Complete: true, Started: time.Now().Add(time.Hour)}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Entry(1); e.Audit == nil || e.Audit.Status != "ok" {
		t.Fatalf("entry 1 after a whole audit: %+v", e.Audit)
	}
	if err := s.PutAuditResult(AuditSummary{}, map[int64]AuditFinding{-1: {}}, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a finding for id -1: %v, want ErrInvalid", err)
	}
}
