package daemon

import (
	"sync"

	"go.uber.org/zap"
)

// jobKind is what the scheduler runs: a poll or an audit. The two share
// one slot because both write the state file and both spend the same
// rate budgets, and because the audit judges mappings a poll may be
// changing (SPEC: the audit never runs while a poll runs, nor a poll while
// it runs).
type jobKind int

const (
	jobPoll jobKind = iota
	jobAudit
	jobKinds
)

func (k jobKind) String() string {
	if k == jobAudit {
		return "audit"
	}
	return "poll"
}

// slot runs one job at a time. A job whose turn comes while the other kind
// runs waits (pending) and starts when the slot frees: an hourly audit
// must not be lost because a poll happened to run at that minute. A job
// whose turn comes while a job of its own kind runs or waits is skipped:
// one run of a kind does what two stacked ones would.
type slot struct {
	run func(jobKind) // runs one job; called without mu held
	log *zap.Logger

	mu      sync.Mutex
	running jobKind
	busy    bool
	pending [jobKinds]bool
	stopped bool
	wg      sync.WaitGroup // raised under mu, so Wait after stop sees every job
}

// request asks for a job of kind k; it runs now (in its own goroutine),
// later, or not at all, as the slot's rules say.
func (s *slot) request(k jobKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.stopped:
	case !s.busy:
		s.start(k)
	case s.running == k || s.pending[k]:
		s.log.Warn("previous " + k.String() + " still running or waiting; skipping this run")
	default:
		s.pending[k] = true
		s.log.Info(k.String()+" waits for the "+s.running.String()+" in progress", zap.String("job", k.String()))
	}
}

// start runs k; mu is held.
func (s *slot) start(k jobKind) {
	s.busy, s.running = true, k
	s.wg.Add(1)
	go func() {
		defer s.done(k)
		s.run(k)
	}()
}

// done frees the slot and starts a waiting job, the other kind first so
// that neither starves the other.
func (s *slot) done(k jobKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.wg.Done()
	s.busy = false
	if s.stopped {
		return
	}
	for _, next := range []jobKind{1 - k, k} {
		if s.pending[next] {
			s.pending[next] = false
			s.start(next)
			return
		}
	}
}

// stop starts nothing more, pending jobs included; wait then returns once
// the running job has.
func (s *slot) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	s.pending = [jobKinds]bool{}
}

func (s *slot) wait() { s.wg.Wait() }
