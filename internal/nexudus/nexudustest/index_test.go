package nexudustest

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"testing"
	"time"
)

// TestUpdatedOnIndexAnswersAsSorting: the UpdatedOn listing, served from
// the kept index, pages exactly as sorting every file would, with a
// from-bound, a to-bound and the Signed filter, and follows every change.
func TestUpdatedOnIndexAnswersAsSorting(t *testing.T) {
	s := newSim(t, Options{})
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		// Few distinct minutes, so that ties are broken by Id.
		s.AddFile(FileSpec{Name: "f", Signed: r.IntN(5) != 0, UpdatedOn: t0.Add(time.Duration(r.IntN(40)) * time.Minute)})
	}
	tok := login(t, s)
	want := func(from, to time.Time) []float64 {
		var fs []FileSpec
		for _, f := range s.Files() {
			if f.Signed && !f.UpdatedOn.Before(from) && (to.IsZero() || f.UpdatedOn.Before(to.Add(time.Minute))) {
				fs = append(fs, f)
			}
		}
		sort.SliceStable(fs, func(i, j int) bool {
			if c := fs[i].UpdatedOn.Compare(fs[j].UpdatedOn); c != 0 {
				return c < 0
			}
			return fs[i].ID < fs[j].ID
		})
		var ids []float64
		for _, f := range fs {
			ids = append(ids, float64(f.ID))
		}
		return ids
	}
	check := func(name string) {
		t.Helper()
		for _, tc := range []struct{ from, to time.Time }{
			{t0.Add(-time.Hour), t0.Add(time.Hour)},
			{t0.Add(10 * time.Minute), t0.Add(20 * time.Minute)},
			{t0.Add(39 * time.Minute), t0.Add(39 * time.Minute)},
			{t0.Add(-time.Hour), time.Time{}}, // syncd's query: signed, from a minute on
			{t0.Add(25 * time.Minute), time.Time{}},
		} {
			var got []float64
			for page := 1; page < 100; page++ {
				q := url.Values{
					"orderBy": {"UpdatedOn"}, "dir": {"1"}, "size": {"7"}, "page": {itoa(int64(page))},
					"CoworkerDataFile_Signed":         {"true"},
					"from_CoworkerDataFile_UpdatedOn": {tc.from.Format("2006-01-02T15:04")},
				}
				if !tc.to.IsZero() {
					q.Set("to_CoworkerDataFile_UpdatedOn", tc.to.Format("2006-01-02T15:04"))
				}
				var env envelope
				decode(t, get(t, s, "/api/spaces/coworkerdatafiles?"+q.Encode(), tok), 200, &env)
				if w := len(want(tc.from, tc.to)); env.TotalItems != w {
					t.Fatalf("%s: TotalItems %d, want %d", name, env.TotalItems, w)
				}
				ids := listIDs(t, s, tok, q)
				if len(ids) == 0 {
					break
				}
				got = append(got, ids...)
			}
			if w := want(tc.from, tc.to); !slices.Equal(got, w) {
				t.Fatalf("%s: from %s to %s: listed %v, want %v", name, tc.from, tc.to, got, w)
			}
		}
	}
	check("as added")
	ids := s.Files()
	s.SetNow(t0.Add(15 * time.Minute))
	s.SetSignedData(ids[0].ID, "s.pdf", []byte("x")) // moves to 10:45
	check("after an update")
	s.SetSigned(ids[1].ID, false)
	check("after unsigning")
	s.Delete(ids[2].ID)
	check("after a delete")
	s.AddFile(FileSpec{Name: "new", Signed: true, UpdatedOn: t0.Add(12 * time.Minute)})
	check("after an add")
}

// TestRequestLogLimit keeps the newest entries and exact counters.
func TestRequestLogLimit(t *testing.T) {
	s := newSim(t, Options{RequestLogLimit: 3})
	tok := login(t, s)
	for i := 0; i < 5; i++ {
		listIDs(t, s, tok, url.Values{"page": {itoa(int64(i + 1))}})
	}
	log := s.Requests()
	if len(log) != 3 || log[2].Query.Get("page") != "5" || log[0].Query.Get("page") != "3" {
		t.Fatalf("log %+v", log)
	}
	if n := s.Count(RouteList); n != 5 {
		t.Fatalf("%d list requests counted, want 5", n)
	}
}
