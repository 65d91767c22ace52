package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"

	"github.com/coworkdocs/syncd/internal/config"
	syncd "github.com/coworkdocs/syncd/internal/daemon"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

// Main is `syncd run`: ParseFlags, then Run, then Close. Tests drive the
// real wiring through it.
type Main struct {
	Stdout, Stderr io.Writer

	ConfigPath   string
	Once         bool
	DryRun       bool
	BackfillFrom time.Time

	Config  *config.Config
	Logger  *zap.Logger
	metrics *metrics
	clients *clients
	lock    *state.ProcessLock
	// backfillWarned: the unfinished-backfill warning was given (once per start).
	backfillWarned bool
	// status is what the status page shows; nil outside the daemon.
	status *syncd.StatusBook
	spool  string // where downloads are spooled; see prepareSpool

	// OnListen, when set, is told the address the HTTP server bound
	// (tests listen on port 0).
	OnListen func(addr string)
	// Now is the clock; tests may set it.
	Now func() time.Time
	// onReport, when set, receives the report of a one-shot run.
	onReport func(*syncer.Report)
	// onAudit, when set, receives the report of each of the daemon's
	// audits.
	onAudit func(*syncer.AuditReport)
}

// NewMain returns a Main writing to stdout and stderr.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{Stdout: stdout, Stderr: stderr, Now: time.Now}
}

// ParseFlags reads the flags of `syncd run` and loads the configuration.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("syncd run", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	configPath := configFlag(fs)
	fs.BoolVar(&m.Once, "once", false, "poll once, then exit")
	fs.BoolVar(&m.DryRun, "dry-run", false, "list what would be created or updated; write nothing anywhere")
	backfill := fs.String("backfill-from", "", "mirror every signed file updated since this time (2021-01-01T00:00 or RFC 3339), then exit")
	if err := fs.Parse(args); err != nil {
		return &ExitError{Code: exitUsage, Err: errors.New("")}
	}
	if fs.NArg() > 0 {
		return usageError("run: unexpected argument %q", fs.Arg(0))
	}
	if *backfill != "" {
		t, err := pastTimeFlag("run", "backfill-from", *backfill, m.Now())
		if err != nil {
			return err
		}
		m.BackfillFrom = t
	}
	m.ConfigPath = config.ResolvePath(*configPath)
	cfg, err := config.Load(m.ConfigPath)
	if err != nil {
		return &ExitError{Code: exitUsage, Err: err}
	}
	m.Config = cfg
	return nil
}

// parseBackfillFrom accepts the minute format of the Nexudus range filter
// and the usual longer forms; times without a zone are UTC.
func parseBackfillFrom(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02", time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time such as 2021-01-01T00:00", s)
}

// pastTimeFlag parses the value of a flag that names a time in the past
// (-backfill-from, -from); its error is a usage error naming the flag.
func pastTimeFlag(cmd, flag, value string, now time.Time) (time.Time, error) {
	t, err := parseBackfillFrom(value)
	if err != nil {
		return time.Time{}, usageError("%s: -%s: %v", cmd, flag, err)
	}
	if !t.Before(now) {
		return time.Time{}, usageError("%s: -%s: %s is not in the past", cmd, flag, t.Format(time.RFC3339))
	}
	return t, nil
}

// Run runs the configured mode: a daemon, or one poll, one backfill, or
// a dry run.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	if m.Logger == nil {
		m.Logger = newLogger(cfg.Log, m.Stderr)
	}
	log := m.Logger
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w.String())
	}
	m.metrics = newMetrics()
	cl, err := newClients(cfg, m.metrics.api, log)
	if err != nil {
		return &ExitError{Code: exitUsage, Err: err}
	}
	m.clients = cl
	if !m.DryRun {
		lock, err := state.Lock(cfg.State.Path)
		if err != nil {
			return stateOpenError(err)
		}
		m.lock = lock
	}
	if err := m.prepareSpool(); err != nil {
		return &ExitError{Code: exitFailed, Err: err}
	}
	if m.Once || m.DryRun || !m.BackfillFrom.IsZero() {
		return m.runOnce(ctx)
	}
	return m.runDaemon(ctx)
}

// Close removes the download spool and releases the state lock.
func (m *Main) Close() error {
	if m.Logger != nil {
		_ = m.Logger.Sync()
	}
	if m.spool != "" {
		_ = os.RemoveAll(m.spool)
	}
	return m.lock.Unlock()
}

// prepareSpool makes the directory downloads are spooled to: the state
// file's own (cleared of a killed run's leftovers, since the process lock
// is held), or a fresh one for a dry run, which holds no lock.
func (m *Main) prepareSpool() error {
	if m.DryRun {
		dir, err := syncer.DryRunSpoolDir(m.Config.Sync.TempDir)
		if err != nil {
			return fmt.Errorf("sync.temp_dir: %w", err)
		}
		m.spool = dir
		return nil
	}
	dir, left, err := syncer.SpoolDir(m.Config.Sync.TempDir, m.Config.State.Path)
	if err != nil {
		return fmt.Errorf("sync.temp_dir: %w", err)
	}
	if left > 0 {
		m.Logger.Info("removed downloads left by an interrupted run", zap.String("dir", dir), zap.Int("files", left))
	}
	m.spool = dir
	return nil
}

// stateOpenError maps a locked state file to exit code 3.
func stateOpenError(err error) error {
	if errors.Is(err, state.ErrLocked) {
		return &ExitError{Code: exitLocked, Err: err}
	}
	return &ExitError{Code: exitFailed, Err: err}
}

// openStore opens the state file for one poll; a dry run's never writes.
func (m *Main) openStore() (*state.Store, func(), error) {
	if m.DryRun {
		st, closeStore, err := state.OpenDryRun(m.Config.State.Path)
		if err != nil {
			return nil, nil, stateOpenError(err)
		}
		return st, closeStore, nil
	}
	// Read-only commands may hold the file for a moment; wait longer than
	// they take rather than fail the poll.
	st, err := state.Open(m.Config.State.Path, state.Options{Timeout: 30 * time.Second})
	if err != nil {
		return nil, nil, stateOpenError(err)
	}
	return st, func() { st.Close() }, nil
}

// engine is the engine of one poll or audit on the open state file.
func (m *Main) engine(st *state.Store, abort context.Context) (*syncer.Engine, error) {
	opt, err := engineOptions(m.Config, m.clients.nexudus, m.metrics.engine, m.Logger)
	if err != nil {
		return nil, &ExitError{Code: exitUsage, Err: err}
	}
	opt.DryRun = m.DryRun
	opt.AbortContext = abort
	opt.Now = m.Now
	opt.TempDir = m.spool
	return syncer.New(m.clients.nexudus, m.clients.coredata, st, opt)
}

// audit opens the state, runs the daemon's audit and closes the state.
func (m *Main) audit(stop, abort context.Context) (*syncer.AuditReport, error) {
	st, closeStore, err := m.openStore()
	if err != nil {
		return nil, err
	}
	defer closeStore()
	eng, err := m.engine(st, abort)
	if err != nil {
		return nil, err
	}
	if m.status != nil {
		defer m.recordStateStatus(st)
	}
	a := m.Config.Audit
	return eng.Audit(stop, syncer.AuditOptions{Repair: a.Repair, RestoreDrift: a.RestoreDrift})
}

// poll opens the state, runs one poll (or backfill) and closes the state.
func (m *Main) poll(stop, abort context.Context) (*syncer.Report, error) {
	st, closeStore, err := m.openStore()
	if err != nil {
		return nil, err
	}
	defer closeStore()
	eng, err := m.engine(st, abort)
	if err != nil {
		return nil, err
	}
	if !m.BackfillFrom.IsZero() {
		return eng.Backfill(stop, m.BackfillFrom, m.Config.Sync.BackfillWindow, m.progress())
	}
	if m.status != nil {
		defer m.recordStateStatus(st)
	}
	if !m.backfillWarned {
		// Once per process start: the daemon never finishes a backfill
		// on its own, so an unfinished one is named where it is seen.
		m.backfillWarned = true
		if mark, ok, err := st.Backfill(); err == nil && ok {
			m.Logger.Warn(unfinishedBackfillText(mark), zap.Time("backfill_from", mark.From), zap.Time("backfill_done", mark.Done))
		}
	}
	return eng.Poll(stop)
}

// runOnce is -once, -backfill-from and -dry-run: one run, a report, and
// the exit code the README documents.
func (m *Main) runOnce(ctx context.Context) error {
	// A signal stops new work at once; files in flight get the shutdown
	// timeout to finish.
	abort, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopAbort := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(m.Config.Sync.ShutdownTimeout, cancel)
		_ = t
	})
	defer stopAbort()

	if !m.BackfillFrom.IsZero() && !m.DryRun {
		// A backfill runs for long: serve its progress metrics.
		stopServer, err := m.serve(syncd.NewHealth())
		if err != nil {
			return err
		}
		defer stopServer()
	}
	rep, err := m.poll(ctx, abort)
	if rep != nil {
		m.printReport(rep)
		if m.onReport != nil {
			m.onReport(rep)
		}
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	if err != nil {
		return &ExitError{Code: exitFailed, Err: fmt.Errorf("poll failed: %w", err)}
	}
	if len(rep.Failed) > 0 {
		ids := make([]string, len(rep.Failed))
		for i, f := range rep.Failed {
			ids[i] = fmt.Sprint(f.NexudusID)
		}
		return &ExitError{Code: exitFailed, Err: fmt.Errorf("%d file(s) failed: Nexudus Id %s", len(rep.Failed), strings.Join(ids, ", "))}
	}
	return nil
}

func (m *Main) printReport(rep *syncer.Report) {
	w := m.Stdout
	if m.DryRun {
		fmt.Fprintf(w, "dry run: nothing was written\n")
		for _, a := range rep.Planned {
			fmt.Fprintf(w, "would %-7s nexudus_id=%d parent=%s title=%q filename=%q\n", a.Action, a.NexudusID, a.Parent, a.Title, a.Filename)
		}
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(w, "failed  nexudus_id=%d error=%q\n", f.NexudusID, f.Err)
	}
	fmt.Fprintln(w, rep.Summary())
}

// serve starts /metrics, /healthz and /readyz on http.listen (if set) and
// returns the function that stops them.
func (m *Main) serve(health *syncd.Health) (stop func(), err error) {
	if m.Config.HTTP.Listen == "" {
		return func() {}, nil
	}
	log := m.Logger
	srv, err := syncd.Listen(m.Config.HTTP.Listen, m.metrics.registry, health, m.status)
	if err != nil {
		return nil, &ExitError{Code: exitUsage, Err: fmt.Errorf("http.listen: %w", err)}
	}
	if m.OnListen != nil {
		m.OnListen(srv.Addr())
	}
	go func() {
		if err := srv.Serve(); err != nil {
			log.Error("http server", zap.Error(err))
		}
	}()
	if m.status != nil {
		log.Info("serving /metrics, /healthz, /readyz", zap.String("addr", srv.Addr()), zap.String("status_page", "http://"+srv.Addr()+"/"))
	} else {
		log.Info("serving /metrics, /healthz, /readyz", zap.String("addr", srv.Addr()))
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// runDaemon serves the operator endpoints and polls on the schedule until
// SIGINT or SIGTERM.
func (m *Main) runDaemon(ctx context.Context) error {
	log := m.Logger
	health := syncd.NewHealth()
	m.status = syncd.NewStatusBook(version(), m.now())
	m.status.SetAuditSchedule(m.Config.Audit.Schedule)
	stopServer, err := m.serve(health)
	if err != nil {
		return err
	}
	defer stopServer()
	// The watchdog is pinged only while the scheduler makes progress.
	stopWatchdog := syncd.StartWatchdog(ctx, health, log)
	defer stopWatchdog()
	_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)
	log.Info("syncd started", zap.String("version", version()), zap.String("schedule", m.Config.Sync.Schedule), zap.String("audit_schedule", m.Config.Audit.Schedule), zap.String("state", m.Config.State.Path))

	s := &syncd.Scheduler{
		Schedule:        m.Config.Sync.Schedule,
		Parser:          config.CronParser,
		ShutdownTimeout: m.Config.Sync.ShutdownTimeout,
		Logger:          log,
		Health:          health,
		StuckAfter:      m.Config.Sync.StuckAfter,
		Notify:          syncd.SdNotify,
		Poll: func(stop, abort context.Context) error {
			start := m.now()
			rep, err := m.poll(stop, abort)
			m.status.RecordPoll(pollStatus(start, m.now(), rep, err, stop.Err() != nil))
			if rep != nil {
				health.SetDetail(rep.Summary())
				fields := []zap.Field{zap.Int("created", rep.Created), zap.Int("updated", rep.Updated),
					zap.Int("unchanged", rep.Unchanged), zap.Int("skipped", rep.Skipped),
					zap.Int("failed", len(rep.Failed)), zap.Int("parked", rep.Parked), zap.Int64("bytes_uploaded", rep.BytesUploaded)}
				for _, f := range rep.Failed {
					log.Warn("file failed", zap.Int64("nexudus_id", f.NexudusID), zap.String("error", f.Err))
				}
				log.Info("poll done", fields...)
			}
			switch {
			case err != nil && stop.Err() != nil:
				log.Info("poll stopped for shutdown; the next start reads from the same cursor", zap.Error(err))
			case err != nil:
				log.Error("poll failed", zap.Error(err))
			}
			return err
		},
	}
	if m.Config.Audit.Schedule != "" {
		s.AuditSchedule = m.Config.Audit.Schedule
		s.Audit = func(stop, abort context.Context) error {
			rep, err := m.audit(stop, abort)
			if rep != nil {
				log.Info("audit done", auditFields(rep)...)
				if m.onAudit != nil {
					m.onAudit(rep)
				}
			}
			switch {
			case err != nil && stop.Err() != nil:
				log.Info("audit stopped for shutdown; the next audit checks everything again", zap.Error(err))
			case err != nil:
				log.Error("audit failed; the next audit tries again", zap.Error(err))
			}
			return err
		}
	}
	err = s.Run(ctx)
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	log.Info("syncd stopped")
	if err != nil {
		return &ExitError{Code: exitFailed, Err: err}
	}
	return nil
}
