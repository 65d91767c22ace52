package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"

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
type outage struct {
	after  int
	log    *zap.Logger
	m      *Metrics
	stop   context.CancelFunc // stops handing out work
	mu     gosync.Mutex
	streak int
	cause  string
	last   error
}

func newOutage(after int, stop context.CancelFunc, log *zap.Logger, m *Metrics) *outage {
	return &outage{after: after, stop: stop, log: log, m: m}
}

// ok notes a file that got through: the world is up.
func (o *outage) ok() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cause == "" {
		o.streak = 0
	}
}

// failed notes a failure of the world; at once, when the failure is a
// listing that the client has already retried, else after a few in a row.
func (o *outage) failed(err error, atOnce bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cause != "" {
		return
	}
	o.streak++
	if !atOnce && o.streak < o.after {
		return
	}
	o.cause, o.last = causeOf(err), err
	o.log.Error("stopping this poll early: "+o.cause+" is unavailable; nothing is counted against any file, the next poll tries again",
		zap.String("cause", o.cause), zap.Int("failures_in_a_row", o.streak), zap.Error(err))
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
	return fmt.Errorf("%w: %s (after %d failures in a row; last: %w)", ErrOutage, o.cause, o.streak, o.last)
}

// end records the run's outage state in the gauges: a run without an
// outage clears them.
func (o *outage) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m.setOutage(o.cause)
}
