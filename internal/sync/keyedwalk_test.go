package sync

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type rec struct {
	id int64
	at time.Time
}

// pages is a scripted listing: the page for (from, page), or the last
// page when the script has none for it.
type pages struct {
	t      *testing.T
	script func(from time.Time, page int) KeyedPage[rec]
	asked  []string
}

func (p *pages) fetch(_ context.Context, from time.Time, page int) (KeyedPage[rec], error) {
	p.asked = append(p.asked, from.Format("15:04")+"/"+string(rune('0'+page)))
	return p.script(from, page), nil
}

func TestKeyedWalk(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	page := func(more bool, total int, rs ...rec) KeyedPage[rec] {
		return KeyedPage[rec]{Records: rs, TotalItems: total, HasNextPage: more}
	}
	tests := []struct {
		name     string
		script   func(from time.Time, n int) KeyedPage[rec]
		visited  []int64
		asked    string
		held     string // "" none, else the minute held at
		stopped  bool
		errorHas string
	}{
		{"keys on the last minute of each page", func(from time.Time, n int) KeyedPage[rec] {
			if from.Equal(at(0)) {
				return page(true, 4, rec{1, at(1)}, rec{2, at(2)})
			}
			return page(false, 2, rec{2, at(2)}, rec{3, at(3)})
		}, []int64{1, 2, 3}, "10:00/1 10:02/1", "", false, ""},
		{"a record changed while paging is handed again and holds the walk", func(from time.Time, n int) KeyedPage[rec] {
			if from.Equal(at(0)) {
				return page(true, 3, rec{1, at(1)}, rec{2, at(2)})
			}
			return page(false, 2, rec{3, at(3)}, rec{1, at(4)})
		}, []int64{1, 2, 3, 1}, "10:00/1 10:02/1", "10:00", false, ""},
		{"pages are turned inside one minute", func(from time.Time, n int) KeyedPage[rec] {
			switch n {
			case 1:
				return page(true, 4, rec{1, at(0)}, rec{2, at(0)})
			}
			return page(false, 4, rec{3, at(0)}, rec{4, at(0)})
		}, []int64{1, 2, 3, 4}, "10:00/1 10:00/2", "", false, ""},
		{"records leaving the listing while pages turn hold the walk", func(from time.Time, n int) KeyedPage[rec] {
			switch n {
			case 1:
				return page(true, 5, rec{1, at(0)}, rec{2, at(0)})
			}
			return page(false, 3, rec{4, at(0)})
		}, []int64{1, 2, 4}, "10:00/1 10:00/2", "10:00", false, ""},
		{"a turned page repeating the stretch stops and holds", func(from time.Time, n int) KeyedPage[rec] {
			return page(true, 9, rec{1, at(0)}, rec{2, at(0)})
		}, []int64{1, 2}, "10:00/1 10:00/2", "10:00", true, ""},
		{"a page of skipped records only is turned", func(from time.Time, n int) KeyedPage[rec] {
			if n == 1 {
				return KeyedPage[rec]{TotalItems: 3, HasNextPage: true, Skipped: 2}
			}
			return page(false, 3, rec{5, at(1)})
		}, []int64{5}, "10:00/1 10:00/2", "", false, ""},
		{"an empty page that says more stops and holds", func(from time.Time, n int) KeyedPage[rec] {
			return page(true, 7)
		}, nil, "10:00/1", "10:00", true, ""},
		{"a listing that never ends is an error", func(from time.Time, n int) KeyedPage[rec] {
			return page(true, 9, rec{int64(n), at(0)})
		}, nil, "", "", false, "still more pages after 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &pages{t: t, script: tt.script}
			var visited []int64
			res, err := KeyedWalk[rec]{
				From: at(0), Fetch: p.fetch, Key: func(r rec) (int64, time.Time) { return r.id, r.at },
				Visit: func(_ context.Context, fresh []rec) error {
					for _, r := range fresh {
						visited = append(visited, r.id)
					}
					return nil
				},
			}.Run(context.Background())
			if tt.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errorHas) {
					t.Fatalf("err %v, want %q", err, tt.errorHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.asked, " "); got != tt.asked {
				t.Errorf("asked %s, want %s", got, tt.asked)
			}
			if len(visited) != len(tt.visited) {
				t.Fatalf("visited %v, want %v", visited, tt.visited)
			}
			for i := range visited {
				if visited[i] != tt.visited[i] {
					t.Fatalf("visited %v, want %v", visited, tt.visited)
				}
			}
			held := ""
			if res.HeldBack {
				held = res.Held.Format("15:04")
			}
			if held != tt.held || res.Stopped != tt.stopped {
				t.Errorf("held %q stopped %v, want %q %v", held, res.Stopped, tt.held, tt.stopped)
			}
		})
	}
}

// Walks of one run share what they saw: a record a backfill window handed
// out is not handed out again by the next window at the same version, and
// a visit's error stops the walk.
func TestKeyedWalkSharesSeenAndStopsOnVisitError(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	seen := NewWalkSeen()
	one := KeyedPage[rec]{Records: []rec{{1, t0}, {2, t0}}, TotalItems: 2}
	var n int
	w := KeyedWalk[rec]{
		From: t0, Seen: seen,
		Fetch: func(context.Context, time.Time, int) (KeyedPage[rec], error) { return one, nil },
		Key:   func(r rec) (int64, time.Time) { return r.id, r.at },
		Visit: func(_ context.Context, fresh []rec) error { n += len(fresh); return nil },
	}
	for range 2 {
		if _, err := w.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n != 2 || seen.Len() != 2 || !seen.Has(1) {
		t.Fatalf("handed out %d records over two walks (seen %d), want 2", n, seen.Len())
	}
	stop := errors.New("stop")
	w.Seen = nil
	w.Visit = func(context.Context, []rec) error { return stop }
	if _, err := w.Run(context.Background()); !errors.Is(err, stop) {
		t.Fatalf("err %v, want the visit's", err)
	}
}
