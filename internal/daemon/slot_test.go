package daemon

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// jobRecorder runs jobs that block until released, and records the order
// in which they started.
type jobRecorder struct {
	mu      sync.Mutex
	started []jobKind
	running int
	overlap bool
	release chan struct{}
	began   chan jobKind
}

func newJobRecorder() *jobRecorder {
	return &jobRecorder{release: make(chan struct{}), began: make(chan jobKind, 16)}
}

func (r *jobRecorder) run(k jobKind) {
	r.mu.Lock()
	r.started = append(r.started, k)
	r.running++
	r.overlap = r.overlap || r.running > 1
	r.mu.Unlock()
	r.began <- k
	<-r.release
	r.mu.Lock()
	r.running--
	r.mu.Unlock()
}

func (r *jobRecorder) next(t *testing.T) jobKind {
	t.Helper()
	select {
	case k := <-r.began:
		return k
	case <-time.After(5 * time.Second):
		t.Fatal("no job started")
		return 0
	}
}

func (r *jobRecorder) idle(t *testing.T) {
	t.Helper()
	select {
	case k := <-r.began:
		t.Fatalf("a %s started; want none", k)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestSlotQueuesTheOtherKindAndSkipsItsOwn(t *testing.T) {
	r := newJobRecorder()
	s := &slot{run: r.run, log: zap.NewNop()}

	s.request(jobPoll)
	if k := r.next(t); k != jobPoll {
		t.Fatalf("first job %s", k)
	}
	s.request(jobAudit) // its turn came while the poll ran: it waits
	s.request(jobAudit) // and waits once
	s.request(jobPoll)  // skipped: a poll runs
	r.idle(t)

	r.release <- struct{}{}
	if k := r.next(t); k != jobAudit {
		t.Fatalf("after the poll: %s, want the audit that waited", k)
	}
	s.request(jobPoll) // the poll's next turn: queued behind the audit
	s.request(jobPoll) // skipped: one poll already waits
	r.idle(t)
	r.release <- struct{}{}
	if k := r.next(t); k != jobPoll {
		t.Fatalf("after the audit: %s, want the poll that waited", k)
	}
	r.release <- struct{}{}
	r.idle(t)
	s.wait()
	if r.overlap {
		t.Fatal("two jobs ran at once")
	}
	if got := len(r.started); got != 3 {
		t.Fatalf("%d jobs ran (%v), want poll, audit, poll", got, r.started)
	}
}

func TestSlotStopDropsWaitingJobs(t *testing.T) {
	r := newJobRecorder()
	s := &slot{run: r.run, log: zap.NewNop()}
	s.request(jobAudit)
	r.next(t)
	s.request(jobPoll)
	s.stop()
	s.request(jobAudit)
	r.release <- struct{}{}
	s.wait()
	r.idle(t)
	if len(r.started) != 1 {
		t.Fatalf("jobs after stop: %v", r.started)
	}
}
