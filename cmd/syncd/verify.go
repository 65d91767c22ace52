package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.uber.org/zap"
	"golang.org/x/term"

	"github.com/coworkdocs/syncd/internal/config"
	"github.com/coworkdocs/syncd/internal/state"
	"github.com/coworkdocs/syncd/internal/verify"
)

// verifyCommand is `syncd verify`: a read-only audit of every signed
// Nexudus file against CoreData and the state file. Exit 0 when all is
// ok (orphans alone included), 1 otherwise, 2 on usage or configuration
// errors; never 3: it takes no lock, and waits for a poll to end.
type verifyCommand struct{ stdout, stderr io.Writer }

func (c *verifyCommand) Run(ctx context.Context, args []string) error {
	stdout, stderr := c.stdout, c.stderr
	fs := flag.NewFlagSet("syncd verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := configFlag(fs)
	fromFlag := fs.String("from", "", "only files updated since this time (2021-01-01T00:00 or RFC 3339); orphans are then not looked for")
	deep := fs.Bool("deep", false, "download and hash the Nexudus bytes instead of trusting the digest recorded at mirror time")
	asJSON := fs.Bool("json", false, "one JSON object per line per file")
	if err := fs.Parse(args); err != nil {
		return &ExitError{Code: exitUsage, Err: errors.New("")}
	}
	if fs.NArg() > 0 {
		return usageError("verify: unexpected argument %q", fs.Arg(0))
	}
	var from time.Time
	if *fromFlag != "" {
		t, err := pastTimeFlag("verify", "from", *fromFlag, time.Now())
		if err != nil {
			return err
		}
		from = t
	}
	cfg, err := config.Load(config.ResolvePath(*configPath))
	if err != nil {
		return &ExitError{Code: exitUsage, Err: err}
	}
	log := newLogger(cfg.Log, stderr)
	defer log.Sync()
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: " + w.String())
	}
	flags := verifyFlags{from: from, deep: *deep}
	if *asJSON {
		// Rows are written as they are judged, at the end of the run: a
		// run that fails there has written the rows before the failure.
		flags.row = verify.JSONRows(stdout)
	}
	rep, err := runVerify(ctx, cfg, flags, log, verifyProgress(stderr, log))
	if err != nil {
		return err
	}
	if !*asJSON {
		if err := verify.WriteTable(stdout, rep); err != nil {
			return &ExitError{Code: exitFailed, Err: err}
		}
	}
	log.Info("verify done", zap.Int("listed", rep.Listed), zap.Int("problems", rep.Problems()),
		zap.Int("orphans", rep.Counts[verify.StatusOrphan]), zap.Int("skipped", rep.Skipped))
	if !rep.OK() {
		return &ExitError{Code: exitFailed, Err: fmt.Errorf("verify: %d file(s) not ok", rep.Problems())}
	}
	return nil
}

type verifyFlags struct {
	from time.Time
	deep bool
	row  func(verify.Row) error // every row, in order; nil: only the report
}

// runVerify builds the clients of cfg and runs the audit; the demo calls
// it too.
func runVerify(ctx context.Context, cfg *config.Config, f verifyFlags, log *zap.Logger, progress func(done, total int)) (*verify.Report, error) {
	cl, err := newClients(cfg, nil, log)
	if err != nil {
		return nil, &ExitError{Code: exitUsage, Err: err}
	}
	var lg verify.LegalSource
	if cfg.Legal.Enabled {
		lg = cl.nexudus
	}
	rep, err := verify.Run(ctx, cl.nexudus, cl.coredata, &stateMappings{cfg: cfg, log: log}, verify.Options{
		Legal:        lg,
		ParentFor:    cfg.CoreData.ParentFor,
		Parents:      cfg.CoreData.AllParents(),
		Businesses:   cfg.Nexudus.Businesses,
		From:         f.from,
		Deep:         f.deep,
		MaxFileBytes: cfg.Nexudus.MaxFileBytes,
		Logger:       log,
		Progress:     progress,
		Row:          f.row,
	})
	if err != nil {
		return nil, &ExitError{Code: exitFailed, Err: err}
	}
	return rep, nil
}

// stateMappings reads the mappings with a read-only open for each read, so
// that the state file is held only for a moment: a running daemon opens it
// for each poll, and verify waits for that poll as `state ls` does. A
// state file that does not exist yet is read as empty (every file is then
// judged by its tag alone), and said once.
type stateMappings struct {
	cfg  *config.Config
	log  *zap.Logger
	once sync.Once
}

// EachMapping reads every mapping in one read-only open, a batch per
// read transaction.
func (s *stateMappings) EachMapping(_ context.Context, fn func(state.Mapping) error) error {
	return s.read(func(st *state.Store) error { return st.EachMapping(1000, fn) })
}

// MappingsFor reads the mappings of ids in one read-only open.
func (s *stateMappings) MappingsFor(_ context.Context, ids []int64) (map[int64]state.Mapping, error) {
	var out map[int64]state.Mapping
	err := s.read(func(st *state.Store) error {
		var err error
		out, err = st.MappingsFor(ids)
		return err
	})
	return out, err
}

func (s *stateMappings) read(fn func(*state.Store) error) error {
	if _, err := os.Stat(s.cfg.State.Path); errors.Is(err, os.ErrNotExist) {
		s.once.Do(func() {
			s.log.Warn("state file does not exist: no mappings to compare with; files are judged by their CoreData tags alone",
				zap.String("path", s.cfg.State.Path))
		})
		return nil
	}
	err := withReadOnly(s.cfg, fn)
	var ee *ExitError
	if errors.As(err, &ee) {
		// verify never exits 3: it holds no lock of its own to lose.
		return ee.Err
	}
	return err
}

// verifyProgress shows how many Nexudus files are checked, as a backfill
// shows its windows: a bar on a terminal, else a log line at most every
// ten seconds (and at the end).
func verifyProgress(stderr io.Writer, log *zap.Logger) func(done, total int) {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		return func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total,
					progressbar.OptionSetWriter(f),
					progressbar.OptionSetDescription("verify"),
					progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionOnCompletion(func() { _, _ = f.WriteString("\n") }),
				)
			}
			if int64(total) != bar.GetMax64() {
				bar.ChangeMax(total)
			}
			_ = bar.Set(done)
		}
	}
	var last time.Time
	return func(done, total int) {
		now := time.Now()
		if done < total && now.Sub(last) < 10*time.Second {
			return
		}
		last = now
		log.Info("verify progress", zap.Int("files_done", done), zap.Int("files_total", total))
	}
}
