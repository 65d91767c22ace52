package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// ErrOutage is a poll that stopped early because an API (or the local
// disk) kept failing: nobody's file's fault, tried again on the next poll.
var ErrOutage = errors.New("stopped early: unavailable")

// DefaultOutageAfter is how many failures of the world in a row (with no
// success between them) make a poll stop early.
const DefaultOutageAfter = 3

// outage watches one run (poll or backfill) for failures of the world in a
// row. Once it trips, it stops new work from being handed out and says so
// once: one log line, one metric change, one error for the run.
//
// Each side keeps its own streak, and only an answer from that side ends
// it (see answers): a record skipped as unchanged, a file backing off, or
// a file that got through without asking CoreData says nothing about
// CoreData, and must not hide its outage.
type outage struct {
	after   int
	log     *zap.Logger
	m       *Metrics
	answers *answers
	stop    context.CancelFunc // stops handing out work
	mu      gosync.Mutex
	streak  map[string]int    // failures in a row, per cause
	seen    map[string]uint64 // answers of each side at its last failure
	cause   string
	last    error
}

func newOutage(after int, stop context.CancelFunc, log *zap.Logger, m *Metrics, a *answers) *outage {
	o := &outage{after: after, stop: stop, log: log, m: m, answers: a,
		streak: map[string]int{}, seen: map[string]uint64{}}
	for _, c := range []string{causeNexudus, causeCoreData} {
		o.seen[c] = a.count(c)
	}
	return o
}

// ok notes a file that got through: the local side (spool, state file)
// works. The APIs' streaks end only on their own answers.
func (o *outage) ok() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cause == "" {
		o.streak[causeLocal] = 0
	}
}

// answers counts the answers each API gave (a success, or a refusal about
// the request itself), for the whole engine; the outage of a run compares
// counts to tell whether a side answered between two of its failures.
type answers struct {
	nexudus, coredata atomic.Uint64
}

func (a *answers) note(cause string) {
	switch cause {
	case causeNexudus:
		a.nexudus.Add(1)
	case causeCoreData:
		a.coredata.Add(1)
	}
}

func (a *answers) count(cause string) uint64 {
	switch cause {
	case causeNexudus:
		return a.nexudus.Load()
	case causeCoreData:
		return a.coredata.Load()
	}
	return 0
}

// failed notes a failure of the world; at once, when the failure is a
// listing that the client has already retried, else after a few in a row.
func (o *outage) failed(err error, atOnce bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cause != "" {
		return
	}
	c := causeOf(err)
	if c != causeLocal {
		if n := o.answers.count(c); n != o.seen[c] {
			o.streak[c], o.seen[c] = 0, n // it answered since its last failure
		}
	}
	o.streak[c]++
	if !atOnce && o.streak[c] < o.after {
		return
	}
	o.cause, o.last = c, err
	o.log.Error("stopping this poll early: "+o.cause+" is unavailable; nothing is counted against any file, the next poll tries again",
		zap.String("cause", o.cause), zap.Int("failures_in_a_row", o.streak[c]), zap.Error(err))
	o.m.outage(o.cause)
	o.stop()
}

// tripped reports whether the run stopped for an outage.
func (o *outage) tripped() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cause != ""
}

// err is the run's error for an outage, nil without one.
func (o *outage) err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cause == "" {
		return nil
	}
	return fmt.Errorf("%w: %s (after %d failures in a row; last: %w)", ErrOutage, o.cause, o.streak[o.cause], o.last)
}

// end records the run's outage state in the gauges: a run without an
// outage clears them.
func (o *outage) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m.setOutage(o.cause)
}
