package sync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// Guarantee 5: an API that is down for half an hour parks nothing. Each
// poll during the outage stops early after a few failures in a row, says
// so once, and the first poll after it mirrors everything.
func TestOutageParksNothingAndStopsThePollEarly(t *testing.T) {
	for _, side := range []string{"coredata", "nexudus"} {
		t.Run(side, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			for i := 0; i < 20; i++ {
				h.addSigned(1, "Contract "+itoa(int64(i)), "body "+itoa(int64(i)))
			}
			down := func() {
				if side == "coredata" {
					h.cd.InjectFault(coredatatest.Fault{Route: coredatatest.RouteAny, Status: 503, Times: 1 << 20})
				} else {
					h.nx.FailWhen(func(r nexudustest.Route, _ nexudustest.Request) bool {
						return r == nexudustest.RouteSignedDownload
					}, 1<<20, nexudustest.Fault{Status: 502})
				}
			}
			down()
			reg := prometheus.NewPedanticRegistry()
			m := syncer.NewMetrics(reg)
			core, logs := observer.New(zapcore.InfoLevel)
			opt := func(o *syncer.Options) {
				o.MaxAttempts = 2
				o.Concurrency = 1
				o.Metrics = m
				o.Logger = zap.New(core)
			}
			// Thirty minutes of polls every five minutes: with max_attempts
			// 2, any count of these failures would park.
			for i := 0; i < 6; i++ {
				rep, err := h.engine(opt).Poll(context.Background())
				if !errors.Is(err, syncer.ErrOutage) || !strings.Contains(err.Error(), side) {
					t.Fatalf("poll %d: err %v, want an outage of %s", i, err, side)
				}
				if rep.Parked != 0 || len(rep.Failed) > syncer.DefaultOutageAfter {
					t.Fatalf("poll %d: %s, %d failed: want the poll to stop after %d", i, rep.Summary(), len(rep.Failed), syncer.DefaultOutageAfter)
				}
				h.now = h.now.Add(5 * time.Minute)
			}
			entries, _ := h.store.Entries()
			for _, e := range entries {
				if e.Status == "parked" || e.Attempts != 0 {
					t.Fatalf("an outage counted against file %d: %+v", e.NexudusID, e)
				}
			}
			if n := logs.FilterMessageSnippet("stopping this poll early").Len(); n != 6 {
				t.Fatalf("%d outage log lines for 6 polls, want one each", n)
			}
			if v := testutil.ToFloat64(m.OutageActiveForTest(side)); v != 1 {
				t.Fatalf("syncd_outage_active{cause=%q} = %v during the outage", side, v)
			}
			// The outage ends: the next polls mirror everything, nothing
			// needs a state retry.
			h.cd.ClearFaults()
			h.nx.ClearFaults()
			h.now = h.now.Add(30 * time.Minute)
			rep, err := h.engine(opt).Poll(context.Background())
			if err != nil || len(rep.Failed) != 0 {
				t.Fatalf("after the outage: %v %s %v", err, rep.Summary(), ids(rep.Failed))
			}
			h.assertMirrored()
			if v := testutil.ToFloat64(m.OutageActiveForTest(side)); v != 0 {
				t.Fatalf("syncd_outage_active{cause=%q} = %v after the outage", side, v)
			}
		})
	}
}

// Only the file's own failures count: a 4xx on its download does, a
// throttle storm or a 5xx does not.
func TestOnlyTheFilesOwnFailuresCount(t *testing.T) {
	tests := []struct {
		name      string
		fault     nexudustest.Fault
		wantCount bool
	}{
		{"403 on its download", nexudustest.Fault{Status: 403}, true},
		{"404 on its download", nexudustest.Fault{Status: 404}, true},
		{"500 on its download", nexudustest.Fault{Status: 500}, false},
		{"429 storm", nexudustest.Fault{Status: 429, RetryAfter: "0"}, false},
		{"connection reset", nexudustest.Fault{Reset: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			bad := h.addSigned(1, "Bad", "bad")
			h.addSigned(1, "Good", "good")
			h.nx.FailWhen(func(r nexudustest.Route, req nexudustest.Request) bool {
				return r == nexudustest.RouteSignedDownload && strings.HasSuffix(req.Path, "/"+itoa(bad))
			}, 1000, tt.fault)
			rep := h.poll()
			if rep.Created != 1 || len(rep.Failed) != 1 {
				t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
			}
			e, _ := h.store.Entry(bad)
			if counted := e.Attempts == 1; counted != tt.wantCount {
				t.Fatalf("entry %+v: counted=%v, want %v", e, counted, tt.wantCount)
			}
			if e.Status != "failed" || e.NextAttempt == nil {
				t.Fatalf("entry %+v: want failed with a next attempt", e)
			}
		})
	}
}

// A shutdown during the retry of a failed file outside the poll window is
// not counted against it.
func TestShutdownDuringRetryIsNotCounted(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	bad := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "Bad", FileName: "bad.pdf", Data: []byte("bad"),
		Signed: true, UpdatedOn: h.now.Add(-2 * time.Hour)})
	h.addSigned(1, "Good", "good") // moves the cursor past Bad
	h.nx.FailNext(nexudustest.RouteDownload, 1, nexudustest.Fault{Status: 403})
	h.poll()
	before, _ := h.store.Entry(bad)
	if before.Attempts != 1 {
		t.Fatalf("entry %+v", before)
	}
	// Days later, out of the window: the retry fetches it by Id, and the
	// process is stopped while it does.
	h.now = h.now.Add(72 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	h.nx.FailWhen(func(r nexudustest.Route, _ nexudustest.Request) bool {
		if r == nexudustest.RouteGet {
			cancel()
			return true
		}
		return false
	}, 1, nexudustest.Fault{Status: 503})
	_, _ = h.engine(func(o *syncer.Options) { o.Lookback = time.Minute }).Poll(ctx)
	after, _ := h.store.Entry(bad)
	if h.nx.Count(nexudustest.RouteGet) == 0 {
		t.Fatal("the failed file was not fetched for its retry")
	}
	if after.Attempts != before.Attempts || after.Status != "failed" {
		t.Fatalf("a shutdown counted as a failure: %+v", after)
	}
}
