package state

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

func corruptRecord(t *testing.T, s *Store, bucket []byte, id int64, value string) {
	t.Helper()
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put(idKey(id), []byte(value))
	}); err != nil {
		t.Fatal(err)
	}
}

func doubling(attempts int) time.Duration { return time.Minute << (attempts - 1) }

func TestRecordFailure(t *testing.T) {
	s := newStore(t)
	v1, v2 := t0, t0.Add(time.Hour)
	const max = 3
	steps := []struct {
		name       string
		updatedOn  time.Time
		now        time.Time
		wantAtt    int
		wantParked bool
		wantFirst  time.Time
		wantNext   time.Time
	}{
		{"first failure", v1, t0, 1, false, t0, t0.Add(time.Minute)},
		{"second, same version", v1, t0.Add(time.Minute), 2, false, t0, t0.Add(3 * time.Minute)},
		{"max attempts parks", v1, t0.Add(3 * time.Minute), 3, true, t0, t0.Add(7 * time.Minute)},
		{"still parked", v1, t0.Add(10 * time.Minute), 4, true, t0, t0.Add(18 * time.Minute)},
		{"new version restarts and un-parks", v2, t0.Add(20 * time.Minute), 1, false, t0.Add(20 * time.Minute), t0.Add(21 * time.Minute)},
		{"new version counts on", v2, t0.Add(30 * time.Minute), 2, false, t0.Add(20 * time.Minute), t0.Add(32 * time.Minute)},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f, err := s.RecordFailure(7, st.updatedOn, "upload: 503", st.now, max, doubling)
			if err != nil {
				t.Fatal(err)
			}
			if f.Attempts != st.wantAtt || f.Parked != st.wantParked || !f.FirstFailed.Equal(st.wantFirst) || !f.NextAttempt.Equal(st.wantNext) {
				t.Errorf("got attempts=%d parked=%v first=%v next=%v; want %d %v %v %v",
					f.Attempts, f.Parked, f.FirstFailed, f.NextAttempt, st.wantAtt, st.wantParked, st.wantFirst, st.wantNext)
			}
			stored, ok, err := s.Failure(7)
			if err != nil || !ok || !equalJSON(t, stored, f) {
				t.Errorf("Failure(7) = %+v, %v, %v; want %+v", stored, ok, err, f)
			}
			if stored.NextAttempt.Location() != time.UTC {
				t.Errorf("NextAttempt not UTC: %v", stored.NextAttempt)
			}
			_, parked, failing, _, _ := s.Counts()
			if want := map[bool][2]int{true: {1, 0}, false: {0, 1}}[st.wantParked]; parked != want[0] || failing != want[1] {
				t.Errorf("parked, failing = %d, %d; want %v (one bucket only)", parked, failing, want)
			}
		})
	}
}

func TestRecordFailureMessageAndDefaults(t *testing.T) {
	s := newStore(t)
	long := strings.Repeat("é", MaxErrorBytes) // 2 bytes a rune: the cut falls mid-rune
	f, err := s.RecordFailure(1, t0, long, t0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.LastError) > MaxErrorBytes || len(f.LastError) < MaxErrorBytes-3 || !utf8.ValidString(f.LastError) {
		t.Errorf("LastError: %d bytes, valid UTF-8 %v", len(f.LastError), utf8.ValidString(f.LastError))
	}
	if f.Parked || !f.NextAttempt.Equal(t0) {
		t.Errorf("maxAttempts 0 and nil backoff: parked=%v next=%v; want never parked, due now", f.Parked, f.NextAttempt)
	}
	if _, err := s.RecordFailure(-1, t0, "x", t0, 3, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("RecordFailure(-1) = %v, want ErrInvalid", err)
	}
}

func TestClearFailureAndFailures(t *testing.T) {
	s := newStore(t)
	for _, c := range []struct {
		id  int64
		max int
	}{{3, 1}, {1, 5}, {2, 1}} {
		if _, err := s.RecordFailure(c.id, t0, "x", t0, c.max, nil); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := s.Failures()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, map[bool]string{true: "P", false: "F"}[f.Parked]+string(rune('0'+f.NexudusID)))
	}
	if strings.Join(got, ",") != "F1,P2,P3" {
		t.Errorf("Failures() = %v, want F1,P2,P3", got)
	}
	cases := []struct {
		id      int64
		wantErr error
	}{{1, nil}, {2, nil}, {2, ErrNotFound}, {99, ErrNotFound}}
	for _, c := range cases {
		err := s.ClearFailure(c.id)
		if !errors.Is(err, c.wantErr) {
			t.Errorf("ClearFailure(%d) = %v, want %v", c.id, err, c.wantErr)
		}
		if _, ok, _ := s.Failure(c.id); ok {
			t.Errorf("Failure(%d) still present", c.id)
		}
	}
	// Cleared: the next failure starts from one again.
	f, err := s.RecordFailure(2, t0, "x", t0, 1, nil)
	if err != nil || f.Attempts != 1 {
		t.Errorf("after ClearFailure: attempts %d, %v", f.Attempts, err)
	}
}

func TestIntents(t *testing.T) {
	s := newStore(t)
	for _, id := range []int64{300, 2, 1 << 40} {
		if err := s.PutIntent(Intent{NexudusID: id, Parent: "p", Title: "t", MD5: "m", Size: id, UpdatedOn: t0, StartedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.Intents()
	if err != nil || len(list) != 3 || list[0].NexudusID != 2 || list[1].NexudusID != 300 || list[2].NexudusID != 1<<40 {
		t.Fatalf("Intents() = %+v, %v; want sorted 2, 300, 2^40", list, err)
	}
	in, ok, err := s.Intent(300)
	if err != nil || !ok || in.Size != 300 || in.StartedAt.Location() != time.UTC || !in.StartedAt.Equal(t0) {
		t.Errorf("Intent(300) = %+v, %v, %v", in, ok, err)
	}
	for _, id := range []int64{300, 300} { // idempotent
		if err := s.DeleteIntent(id); err != nil {
			t.Errorf("DeleteIntent(%d) = %v", id, err)
		}
	}
	if _, ok, _ := s.Intent(300); ok {
		t.Error("intent 300 survived DeleteIntent")
	}
	if err := s.PutIntent(Intent{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutIntent(id 0) = %v, want ErrInvalid", err)
	}
}

func TestCursors(t *testing.T) {
	s := newStore(t)
	if _, ok, err := s.Cursor("all"); ok || err != nil {
		t.Fatalf("Cursor before any poll = %v, %v", ok, err)
	}
	set := map[string]time.Time{"all": t0, "business-12": t0.Add(time.Hour)}
	for k, v := range set {
		if err := s.SetCursor(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetCursor("all", t0.Add(2*time.Hour)); err != nil { // moves forward
		t.Fatal(err)
	}
	set["all"] = t0.Add(2 * time.Hour)
	for k, want := range set {
		got, ok, err := s.Cursor(k)
		if err != nil || !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Cursor(%s) = %v, %v, %v; want %v in UTC", k, got, ok, err, want)
		}
	}
	all, err := s.Cursors()
	if err != nil || len(all) != 2 || !all["business-12"].Equal(set["business-12"]) {
		t.Errorf("Cursors() = %v, %v", all, err)
	}
	if err := s.SetCursor("", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetCursor(\"\") = %v, want ErrInvalid", err)
	}
	// Cursors live beside the schema version without disturbing it.
	if v, err := s.SchemaVersion(); v != CurrentSchemaVersion() || err != nil {
		t.Errorf("SchemaVersion() = %d, %v", v, err)
	}
}

func TestCorruptRecordsNameTheID(t *testing.T) {
	s := newStore(t)
	mustPut(t, s, mapping(1, "cd-1"))
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketIntents).Put(idKey(11), []byte("[")); err != nil {
			return err
		}
		if err := tx.Bucket(bucketFailures).Put(idKey(12), []byte(`{"nexudus_id":13}`)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOwners).Put([]byte("cd-x"), []byte(`"x"`)); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put([]byte(cursorPrefix+"all"), []byte("{"))
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, want string
		call       func() error
	}{
		{"Intent", "intent 11", func() error { _, _, err := s.Intent(11); return err }},
		{"Intents", "intent 11", func() error { _, err := s.Intents(); return err }},
		{"Failure", "failure 12", func() error { _, _, err := s.Failure(12); return err }},
		{"Failures", "failure 12", func() error { _, err := s.Failures(); return err }},
		{"RecordFailure", "failure 12", func() error { _, err := s.RecordFailure(12, t0, "", t0, 3, nil); return err }},
		{"Entry", "intent 11", func() error { _, err := s.Entry(11); return err }},
		{"Entries", "state: decode", func() error { _, err := s.Entries(); return err }},
		{"Owner", "owner cd-x", func() error { _, _, err := s.Owner("cd-x"); return err }},
		{"PutMapping onto corrupt owner", "owner cd-x", func() error { return s.PutMapping(mapping(2, "cd-x")) }},
		{"Cursor", "cursor all", func() error { _, _, err := s.Cursor("all"); return err }},
		{"Cursors", "cursor all", func() error { _, err := s.Cursors(); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrCorrupt naming %q", err, c.want)
			}
		})
	}
	// Corrupt records of one file do not hide the others.
	if _, ok, err := s.Mapping(1); !ok || err != nil {
		t.Errorf("Mapping(1) = %v, %v", ok, err)
	}
	// And forgetting them is how an operator repairs the file.
	for _, id := range []int64{11, 12} {
		if err := s.Forget(id); err != nil {
			t.Errorf("Forget(%d) = %v", id, err)
		}
	}
}

func TestRetryNowKeepsTheRecordDue(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	up := now.Add(-time.Hour)
	for i := 0; i < 3; i++ {
		if _, err := s.RecordFailure(7, up, "boom", now, 3, func(int) time.Duration { return time.Hour }); err != nil {
			t.Fatal(err)
		}
	}
	if f, _, _ := s.Failure(7); !f.Parked {
		t.Fatalf("not parked: %+v", f)
	}
	later := now.Add(time.Minute)
	if err := s.RetryNow(7, later); err != nil {
		t.Fatal(err)
	}
	f, ok, err := s.Failure(7)
	if err != nil || !ok || f.Parked || f.Attempts != 0 || !f.NextAttempt.Equal(later) || !f.UpdatedOn.Equal(up) || f.LastError != "boom" {
		t.Fatalf("after RetryNow: %+v %v %v", f, ok, err)
	}
	fs, _ := s.Failures()
	if len(fs) != 1 || fs[0].Parked {
		t.Fatalf("Failures() = %+v: the engine finds due files through it", fs)
	}
	if err := s.RetryNow(8, later); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RetryNow of an unknown id: %v", err)
	}
}

func TestPutMappingWithFailureKeepsCounting(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	up := now.Add(-time.Hour)
	if err := s.PutIntent(Intent{NexudusID: 9, Parent: "p", Title: "t", MD5: "a"}); err != nil {
		t.Fatal(err)
	}
	var f Failure
	for i := 1; i <= 2; i++ {
		var err error
		f, err = s.PutMappingWithFailure(Mapping{NexudusID: 9, CoreDataID: "cd-9", MD5: "theirs"}, up, "digest mismatch", now, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.Attempts != i {
			t.Fatalf("attempt %d counted as %d", i, f.Attempts)
		}
	}
	if !f.Parked {
		t.Fatalf("a lasting mismatch must park: %+v", f)
	}
	if m, ok, _ := s.Mapping(9); !ok || m.MD5 != "theirs" {
		t.Fatalf("mapping %+v", m)
	}
	if _, ok, _ := s.Intent(9); ok {
		t.Fatal("intent left beside the mapping")
	}
	if owner, ok, _ := s.Owner("cd-9"); !ok || owner != 9 {
		t.Fatal("owner not claimed")
	}
	if e, _ := s.Entry(9); e.Status != StatusParked {
		t.Fatalf("entry %+v", e)
	}
	if _, err := s.PutMappingWithFailure(Mapping{NexudusID: 9}, up, "x", now, 2, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty CoreData id: %v", err)
	}
}
