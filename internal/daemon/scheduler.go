// Package daemon runs polls on a schedule and serves the operator
// endpoints (/metrics, /healthz, /readyz); it knows nothing of Nexudus or
// CoreData beyond a Poll function.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// PollFunc runs one poll. stop is cancelled when the daemon is asked to
// stop (finish what is in flight, start nothing new); abort is cancelled
// when the shutdown timeout has passed (abandon what is in flight).
type PollFunc func(stop, abort context.Context) error

// Scheduler polls once at start and then on a cron schedule, never two
// polls at once.
type Scheduler struct {
	Schedule        string
	Parser          cron.Parser
	ShutdownTimeout time.Duration
	Poll            PollFunc
	Logger          *zap.Logger
	// Health is told the start and the result of every poll.
	Health *Health
	// StuckAfter bounds a poll's run and the gap between polls before
	// Health calls the scheduler stuck; 0: DefaultStuckAfter(Schedule).
	StuckAfter time.Duration
	// Notify, when set, is sent STATUS= with Health's status at the start
	// and the end of every poll (systemctl status shows it).
	Notify NotifyFunc
	// Now is the clock used for the default stuck bound; nil: time.Now.
	Now func() time.Time
}

// Run blocks until ctx is done, then stops within ShutdownTimeout: the
// poll in flight is asked to stop, then abandoned if it is still running.
func (s *Scheduler) Run(ctx context.Context) error {
	sched, err := s.Parser.Parse(s.Schedule)
	if err != nil {
		return fmt.Errorf("daemon: schedule %q: %w", s.Schedule, err)
	}
	log := s.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if s.Health != nil {
		bound := s.StuckAfter
		if bound <= 0 {
			now := time.Now
			if s.Now != nil {
				now = s.Now
			}
			bound = DefaultStuckAfter(sched, now())
		}
		s.Health.setStuckAfter(bound)
	}
	status := func() {
		if s.Notify != nil && s.Health != nil {
			if err := s.Notify("STATUS=" + s.Health.Status()); err != nil {
				log.Debug("status", zap.Error(err))
			}
		}
	}
	abortCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()

	var (
		mu               sync.Mutex
		running, stopped bool
		wg               sync.WaitGroup
	)
	// begin claims the single poll slot; wg is raised under mu so that
	// Wait, which runs after stopped is set, sees every poll that began.
	begin := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if stopped || running {
			return false
		}
		running = true
		wg.Add(1)
		return true
	}
	poll := func() {
		defer func() {
			mu.Lock()
			running = false
			mu.Unlock()
			wg.Done()
		}()
		var err error
		defer func() {
			// A panic in a poll must not take the daemon down with the
			// state file open: it is logged and counted as a failed poll.
			if r := recover(); r != nil {
				err = fmt.Errorf("daemon: poll panicked: %v", r)
				log.Error("poll panicked", zap.Any("panic", r), zap.Stack("stack"))
			}
			if s.Health != nil {
				s.Health.observe(err)
			}
			status()
		}()
		if s.Health != nil {
			s.Health.begin()
		}
		status()
		err = s.Poll(ctx, abortCtx)
	}
	scheduled := func() {
		if !begin() {
			log.Warn("previous poll still running; skipping this run")
			return
		}
		poll()
	}

	c := cron.New(cron.WithParser(s.Parser), cron.WithChain(cron.Recover(cronLogger{log}), cron.SkipIfStillRunning(cronLogger{log})))
	c.Schedule(sched, cron.FuncJob(scheduled))
	if begin() {
		go poll() // the poll at start
	}
	c.Start()

	<-ctx.Done()
	log.Info("stopping: finishing the poll in flight", zap.Duration("shutdown_timeout", s.ShutdownTimeout))
	c.Stop()
	mu.Lock()
	stopped = true
	mu.Unlock()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(s.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
		// SPEC: finish or abandon in-flight work within the timeout, then
		// exit 0. Abandoned creates are found again through their intents.
		log.Warn("shutdown timeout passed: abandoning the files in flight (open intents are reconciled on the next start)")
		abort()
		// Abandoned work returns quickly once its context is done; wait a
		// little so the state file is not closed under it.
		select {
		case <-done:
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("daemon: a poll did not return 5s after it was abandoned")
		}
	}
}

type cronLogger struct{ log *zap.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug(msg, zap.Any("cron", kv)) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error(msg, zap.Error(err), zap.Any("cron", kv))
}
