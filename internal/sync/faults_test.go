package sync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

func TestThrottlingStormsAreWaitedOut(t *testing.T) {
	for _, status := range []int{409, 429} {
		t.Run(itoa(int64(status)), func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{ThrottleStatus: status})
			h.addSigned(1, "A", "a")
			h.addSigned(2, "B", "b")
			h.nx.ThrottleNext(2, time.Second)
			h.cd.ThrottleNext(coredatatest.RouteCreate, "1", 1)
			rep := h.poll()
			if rep.Created != 2 || len(rep.Failed) != 0 {
				t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
			}
			if h.nx.Throttled() != 2 || h.nx.EarlyRetries() != 0 {
				t.Fatalf("throttled %d, requests before their Retry-After %d", h.nx.Throttled(), h.nx.EarlyRetries())
			}
			if n := h.cd.Count(coredatatest.RouteCreate); n != 3 {
				t.Fatalf("creates %d: a 429 create is retried once, as it was not processed", n)
			}
			h.assertMirrored()
		})
	}
}

func TestServerErrorBurstsAreRetried(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.addSigned(1, "A", "a")
	h.nx.FailNext(nexudustest.RouteList, 2, nexudustest.Fault{Status: 503})
	h.nx.FailNext(nexudustest.RouteSignedDownload, 1, nexudustest.Fault{Status: 500})
	h.cd.FailNext(coredatatest.RouteBlob, 500, 2)
	h.cd.FailNext(coredatatest.RouteGet, 502, 1)
	rep := h.poll()
	if rep.Created != 1 || len(rep.Failed) != 0 {
		t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
	}
	h.assertMirrored()
}

func TestBrokenDownloadsAreNeverRecordedAsMirrored(t *testing.T) {
	for _, f := range []struct {
		name  string
		fault nexudustest.Fault
	}{
		{"content-length mismatch", nexudustest.Fault{Truncate: true}},
		{"connection reset", nexudustest.Fault{Reset: true}},
	} {
		t.Run(f.name, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			id := h.addSigned(1, "A", strings.Repeat("contract ", 500))
			h.nx.FailNext(nexudustest.RouteSignedDownload, 3, f.fault)
			rep := h.poll()
			if len(rep.Failed) != 1 || rep.Failed[0].NexudusID != id {
				t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
			}
			if _, ok, _ := h.store.Mapping(id); ok || len(h.cd.Files()) != 0 || h.writes() != 0 {
				t.Fatalf("a broken download reached CoreData or the state")
			}
			if !strings.Contains(rep.Failed[0].Err, "unexpected EOF") && !strings.Contains(rep.Failed[0].Err, "connection") {
				t.Fatalf("error does not say what broke: %s", rep.Failed[0].Err)
			}
			h.nx.ClearFaults()
			h.now = h.now.Add(time.Hour) // past the backoff
			rep = h.poll()
			if rep.Created != 1 {
				t.Fatalf("retry: %s %v", rep.Summary(), ids(rep.Failed))
			}
			h.assertMirrored()
		})
	}
}

// revokingSource makes every token invalid right after the first listing,
// as if it expired in the middle of a run.
type revokingSource struct {
	syncer.Source
	nx   *nexudustest.Server
	done bool
}

func (s *revokingSource) ListPage(ctx context.Context, q nexudus.ListQuery, page int) (*nexudus.Page, error) {
	p, err := s.Source.ListPage(ctx, q, page)
	if !s.done {
		s.done = true
		s.nx.RevokeTokens()
	}
	return p, err
}

func TestTokenExpiringMidRunLogsInAgain(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	for i := 0; i < 5; i++ {
		h.addSigned(1, "C"+itoa(int64(i)), "c"+itoa(int64(i)))
	}
	e, err := syncer.New(&revokingSource{Source: h.src, nx: h.nx}, h.sink, h.store, h.opt)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.Poll(context.Background())
	if err != nil || rep.Created != 5 {
		t.Fatalf("poll: %v %s %v", err, rep.Summary(), ids(rep.Failed))
	}
	if n := h.nx.Grants("password"); n != 2 {
		t.Fatalf("password grants %d, want 2 (one login, one after the revoke)", n)
	}
	h.assertMirrored()
}

func TestFullDiskRecordsNothingHalfAndLosesNothing(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	for i := 0; i < 60; i++ {
		h.addSigned(1+int64(i%2), "Contract "+itoa(int64(i))+" "+strings.Repeat("long title ", 20), "body "+itoa(int64(i)))
	}
	h.store.Close()
	small, err := state.Open(h.path, state.Options{NoSync: true, MaxSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	h.store = small
	rep, err := h.engine().Poll(context.Background())
	// A full disk is nobody's file's fault: the poll stops early and says
	// why, and no file is counted as failing.
	if !errors.Is(err, syncer.ErrOutage) || !strings.Contains(err.Error(), "local") {
		t.Fatalf("poll error %v, want an outage of the local disk", err)
	}
	if len(rep.Failed) == 0 {
		t.Fatalf("the state file never filled up: %s", rep.Summary())
	}
	for _, f := range rep.Failed {
		if !strings.Contains(f.Err, "state:") {
			t.Fatalf("failure does not say it was the state file: %s", f.Err)
		}
	}
	// Space again: the next run finishes the job with no duplicate.
	h.reopen()
	h.now = h.now.Add(time.Hour)
	rep = h.poll()
	if len(rep.Failed) != 0 {
		t.Fatalf("after freeing space: %s %v", rep.Summary(), ids(rep.Failed))
	}
	h.assertMirrored()
}

func TestErrorPagesAndMalformedJSONGiveClearErrors(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	h.addSigned(1, "A", "a")
	h.nx.FailNext(nexudustest.RouteList, 10, nexudustest.Fault{Status: 502, HTML: true})
	_, err := h.engine().Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "502") || strings.Contains(err.Error(), "<") {
		t.Fatalf("HTML page from Nexudus: %v", err)
	}
	h.nx.ClearFaults()
	h.nx.FailNext(nexudustest.RouteList, 10, nexudustest.Fault{MalformedJSON: true})
	_, err = h.engine().Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Fatalf("malformed JSON from Nexudus: %v", err)
	}
	h.nx.ClearFaults()
	h.cd.InjectFault(coredatatest.Fault{Route: coredatatest.RouteBlob, Status: 200, HTML: true, Times: 10})
	rep := h.poll()
	if len(rep.Failed) != 1 || !strings.Contains(rep.Failed[0].Err, "not JSON") {
		t.Fatalf("HTML page from CoreData: %v", ids(rep.Failed))
	}
	h.cd.ClearFaults()
	h.now = h.now.Add(time.Hour)
	if rep = h.poll(); rep.Created != 1 {
		t.Fatalf("after the faults: %s %v", rep.Summary(), ids(rep.Failed))
	}
	h.assertMirrored()
}

func TestOddTimesAreHandled(t *testing.T) {
	tests := []struct {
		name string
		opts nexudustest.Options
	}{
		{"fractional seconds", nexudustest.Options{FractionalSeconds: true}},
		{"local time with a literal Z", nexudustest.Options{LocalTimeWithZ: true, TenantZone: time.FixedZone("UTC-5", -5*3600)}},
		{"local time ahead with a literal Z", nexudustest.Options{LocalTimeWithZ: true, TenantZone: time.FixedZone("UTC+9", 9*3600)}},
		{"no zone at all", nexudustest.Options{FormatTime: func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.999") }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts)
			id := h.addSigned(1, "A", "a")
			h.addSigned(2, "B", "b")
			rep := h.poll()
			if rep.Created != 2 {
				t.Fatalf("poll: %s %v", rep.Summary(), ids(rep.Failed))
			}
			downloads := h.downloads()
			h.poll()
			if h.downloads() != downloads {
				t.Fatal("second poll downloaded again: UpdatedOn did not round-trip")
			}
			h.nx.Advance(2 * time.Minute)
			h.nx.SetSignedData(id, "A-signed.pdf", []byte("a2"))
			if rep = h.poll(); rep.Updated != 1 {
				t.Fatalf("update: %s", rep.Summary())
			}
			h.assertMirrored()
		})
	}
}

func TestUnreadableRecordIsNamedAndHoldsNothingBack(t *testing.T) {
	marker := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, nexudustest.Options{FormatTime: func(t time.Time) string {
		if t.Equal(marker) {
			return "sometime last week"
		}
		return t.UTC().Format(time.RFC3339)
	}})
	good := h.addSigned(1, "Good", "good")
	bad := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "Bad", FileName: "bad.pdf", Data: []byte("bad"), Signed: true, CreatedOn: marker, UpdatedOn: h.nx.Now()})
	rep := h.poll(func(o *syncer.Options) { o.MaxAttempts = 2 })
	if rep.Created != 1 || len(rep.Failed) != 1 || rep.Failed[0].NexudusID != bad || !strings.Contains(rep.Failed[0].Err, "sometime last week") {
		t.Fatalf("poll: %s %+v", rep.Summary(), rep.Failed)
	}
	if _, ok, _ := h.store.Mapping(good); !ok {
		t.Fatal("the good record was held back")
	}
	e, err := h.store.Entry(bad)
	if err != nil || e.Status != "failed" {
		t.Fatalf("bad record entry %+v %v", e, err)
	}
}

func TestSignedWithoutSignedCopyMirrorsTheOriginalAndSaysSo(t *testing.T) {
	h := newHarness(t, nexudustest.Options{})
	core, logs := observer.New(zapcore.InfoLevel)
	id := h.nx.AddFile(nexudustest.FileSpec{BusinessID: 1, Name: "Paper", FileName: "../../etc/passwd", Data: []byte("scan"), Signed: true})
	rep := h.poll(func(o *syncer.Options) { o.Logger = zap.New(core) })
	if rep.Created != 1 {
		t.Fatalf("poll: %s", rep.Summary())
	}
	if logs.FilterMessageSnippet("no signed copy").FilterField(zap.Int64("nexudus_id", id)).Len() != 1 {
		t.Fatalf("no log line saying the original was mirrored: %v", logs.All())
	}
	m, _, _ := h.store.Mapping(id)
	f, _ := h.cd.File(m.CoreDataID)
	if f.Filename != "_.._etc_passwd" || f.Digest != md5hex([]byte("scan")) {
		t.Fatalf("CoreData file %q digest %s", f.Filename, f.Digest)
	}
}
