package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/coredata/coredatatest"
	"github.com/coworkdocs/syncd/internal/nexudus/nexudustest"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// The audit's repairs obey the rest of the contract (SPEC "The daemon's
// audit"): an outage of either API during a repair parks nothing and the
// next audit repairs; Retry-After is waited out within the audit; a proxy
// answering 503 after the create took effect makes no second file; a
// shutdown in the middle records nothing against the file. Each starts
// from a person deleting a mirrored file whose record left the lookback
// long ago (only the audit can bring it back).
func TestAuditRepairObeysTheContract(t *testing.T) {
	tests := []struct {
		name string
		// world breaks the world before the first audit; cancel stops that
		// audit (a shutdown).
		world func(h *harness, cancel context.CancelFunc)
		// repairedAtOnce: the first audit repairs despite the fault.
		repairedAtOnce bool
	}{
		{"Nexudus down while the record is read", func(h *harness, _ context.CancelFunc) {
			h.nx.FailNext(nexudustest.RouteGet, -1, nexudustest.Fault{Status: 503})
		}, false},
		{"Nexudus down while the record is downloaded", func(h *harness, _ context.CancelFunc) {
			h.nx.FailNext(nexudustest.RouteSignedDownload, -1, nexudustest.Fault{Status: 502, HTML: true})
		}, false},
		{"CoreData down at the blob request", func(h *harness, _ context.CancelFunc) {
			h.cd.InjectFault(coredatatest.Fault{Route: coredatatest.RouteBlob, Status: 503, Times: 100})
		}, false},
		{"Nexudus throttles the read with Retry-After", func(h *harness, _ context.CancelFunc) {
			h.nx.FailNext(nexudustest.RouteGet, 1, nexudustest.Fault{Status: 429, RetryAfter: "1"})
		}, true},
		{"a proxy answers 503 after the create took effect", func(h *harness, _ context.CancelFunc) {
			h.cd.InjectFault(coredatatest.Fault{Route: coredatatest.RouteCreate, Status: 503, RetryAfter: "1", AfterApply: true, Times: 1})
		}, true},
		{"shutdown while the record is read", func(h *harness, cancel context.CancelFunc) {
			h.nx.FailWhen(func(route nexudustest.Route, _ nexudustest.Request) bool {
				if route == nexudustest.RouteGet {
					cancel()
				}
				return false
			}, -1, nexudustest.Fault{})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nexudustest.Options{})
			id := h.addSigned(1, "A", "a")
			other := h.addSigned(1, "B", "b")
			h.poll(configuredParents)
			h.now = h.now.Add(30 * 24 * time.Hour)
			h.nx.Advance(30 * 24 * time.Hour)
			before := h.coreDataFileOf(id)
			h.cd.DeleteFile(before.ID)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.world(h, cancel)
			start := time.Now()
			rep, err := h.engine(configuredParents).Audit(ctx, repairs)
			took := time.Since(start)
			h.nx.ClearFaults()
			h.cd.ClearFaults()
			repaired := rep != nil && rep.Repairs[syncer.RepairRecreated+"/success"] == 1
			if repaired != tt.repairedAtOnce {
				t.Fatalf("first audit: repaired %v (err %v, %+v), want %v", repaired, err, rep, tt.repairedAtOnce)
			}
			if tt.repairedAtOnce && (err != nil || !rep.Complete) {
				t.Fatalf("first audit: %v, complete %v", err, rep.Complete)
			}
			if tt.name == "Nexudus throttles the read with Retry-After" && took < time.Second {
				t.Errorf("the audit took %s: Retry-After: 1 was not waited out", took)
			}
			entries, err := h.store.Entries()
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Status == "parked" || e.Attempts != 0 {
					t.Fatalf("the world's fault counted against file %d: %+v", e.NexudusID, e)
				}
			}

			// The world is back. The next audit, once the outage's backoff
			// has passed, finds it, or repairs it (the poll is hourly: only
			// audits run here).
			h.now = h.now.Add(time.Hour)
			h.audit(repairs)
			if rep := h.audit(repairs); rep.Counts[syncer.AuditOK] != 2 || len(rep.Problems) != 0 {
				t.Fatalf("audits after the fault: %v %+v", rep.Counts, rep.Problems)
			}
			after := h.coreDataFileOf(id) // fails on none or two
			if after.ID == before.ID || after.Digest != before.Digest {
				t.Fatalf("after the repair %+v, before %+v", after, before)
			}
			h.coreDataFileOf(other)
			if n := len(h.cd.Files()); n != 2 {
				t.Fatalf("%d CoreData files, want 2", n)
			}
		})
	}
}
