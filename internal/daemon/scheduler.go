// Package daemon runs polls and audits on their schedules and serves the
// operator endpoints (/metrics, /healthz, /readyz, the status page); it
// knows nothing of Nexudus or CoreData beyond a Poll and an Audit function.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// PollFunc runs one poll (or one audit). stop is cancelled when the daemon
// is asked to stop (finish what is in flight, start nothing new); abort is
// cancelled when the shutdown timeout has passed (abandon what is in
// flight).
type PollFunc func(stop, abort context.Context) error

// Scheduler polls once at start and then on a cron schedule, and audits
// on a second one, never two jobs at once (see slot).
type Scheduler struct {
	Schedule        string
	Parser          cron.Parser
	ShutdownTimeout time.Duration
	Poll            PollFunc
	// AuditSchedule and Audit, when both are set, run the audit on its
	// own cron spec. The first audit waits for the first run of its
	// schedule: the poll at start comes first.
	AuditSchedule string
	Audit         PollFunc
	Logger        *zap.Logger
	// Health is told the start and the result of every poll and audit.
	Health *Health
	// StuckAfter bounds a poll's run and the gap between polls before
	// Health calls the scheduler stuck; 0: DefaultStuckAfter(Schedule).
	StuckAfter time.Duration
	// Notify, when set, is sent STATUS= with Health's status at the start
	// and the end of every job (systemctl status shows it).
	Notify NotifyFunc
	// Now is the clock used for the default stuck bound; nil: time.Now.
	Now func() time.Time
}

// Run blocks until ctx is done, then stops within ShutdownTimeout: the
// job in flight is asked to stop, then abandoned if it is still running.
func (s *Scheduler) Run(ctx context.Context) error {
	sched, err := s.Parser.Parse(s.Schedule)
	if err != nil {
		return fmt.Errorf("daemon: schedule %q: %w", s.Schedule, err)
	}
	var auditSched cron.Schedule
	if s.Audit != nil && s.AuditSchedule != "" {
		if auditSched, err = s.Parser.Parse(s.AuditSchedule); err != nil {
			return fmt.Errorf("daemon: audit schedule %q: %w", s.AuditSchedule, err)
		}
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
	abortCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()

	jobs := &slot{log: log, run: func(k jobKind) { s.runJob(ctx, abortCtx, k, log) }}
	c := cron.New(cron.WithParser(s.Parser), cron.WithChain(cron.Recover(cronLogger{log})))
	c.Schedule(sched, cron.FuncJob(func() { jobs.request(jobPoll) }))
	if auditSched != nil {
		c.Schedule(auditSched, cron.FuncJob(func() { jobs.request(jobAudit) }))
	}
	jobs.request(jobPoll) // the poll at start
	c.Start()

	<-ctx.Done()
	log.Info("stopping: finishing the job in flight", zap.Duration("shutdown_timeout", s.ShutdownTimeout))
	c.Stop()
	jobs.stop()
	done := make(chan struct{})
	go func() { jobs.wait(); close(done) }()
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
			return errors.New("daemon: a job did not return 5s after it was abandoned")
		}
	}
}

// runJob runs one poll or audit, telling Health and systemd.
func (s *Scheduler) runJob(stop, abort context.Context, k jobKind, log *zap.Logger) {
	fn := s.Poll
	if k == jobAudit {
		fn = s.Audit
	}
	var err error
	defer func() {
		// A panic in a job must not take the daemon down with the state
		// file open: it is logged and counted as a failed job.
		if r := recover(); r != nil {
			err = fmt.Errorf("daemon: %s panicked: %v", k, r)
			log.Error(k.String()+" panicked", zap.Any("panic", r), zap.Stack("stack"))
		}
		if s.Health != nil {
			s.Health.end(k, err)
		}
		s.status(log)
	}()
	if s.Health != nil {
		s.Health.start(k)
	}
	s.status(log)
	err = fn(stop, abort)
}

func (s *Scheduler) status(log *zap.Logger) {
	if s.Notify != nil && s.Health != nil {
		if err := s.Notify("STATUS=" + s.Health.Status()); err != nil {
			log.Debug("status", zap.Error(err))
		}
	}
}

type cronLogger struct{ log *zap.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug(msg, zap.Any("cron", kv)) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error(msg, zap.Error(err), zap.Any("cron", kv))
}
