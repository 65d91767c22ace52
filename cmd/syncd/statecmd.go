package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/coworkdocs/syncd/internal/config"
	"github.com/coworkdocs/syncd/internal/state"
	syncer "github.com/coworkdocs/syncd/internal/sync"
)

const stateUsage = "state [-config FILE] ls [-json] | show ID | retry ID...|-parked|-all | forget ID|-backfill | backup FILE | rebuild"

// stateCommand is `syncd state`: it inspects and repairs the state file. Read-only commands
// (ls, show, backup) work while a daemon runs (between its polls); the
// others need the daemon stopped and exit 3 otherwise.
type stateCommand struct{ stdout, stderr io.Writer }

func (c *stateCommand) Run(ctx context.Context, args []string) error {
	stdout, stderr := c.stdout, c.stderr
	fs := flag.NewFlagSet("syncd state", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return &ExitError{Code: exitUsage, Err: errors.New("")}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError("usage: syncd %s", stateUsage)
	}
	path := config.ResolvePath(*configPath)
	cfg, err := loadStateConfig(path, rest[0])
	if err != nil {
		return &ExitError{Code: exitUsage, Err: err}
	}
	sub, subArgs := rest[0], rest[1:]
	switch sub {
	case "ls":
		sfs := flag.NewFlagSet("syncd state ls", flag.ContinueOnError)
		sfs.SetOutput(stderr)
		asJSON := sfs.Bool("json", false, "one JSON object per line")
		if err := sfs.Parse(subArgs); err != nil {
			return &ExitError{Code: exitUsage, Err: errors.New("")}
		}
		return withReadOnly(cfg, func(st *state.Store) error {
			// The notice goes to stderr under -json: every stdout line
			// there is one file's object.
			notice := stdout
			if *asJSON {
				notice = stderr
			}
			if err := backfillNotice(st, notice); err != nil {
				return err
			}
			return stateLs(st, *asJSON, stdout)
		})
	case "show":
		id, err := oneID(sub, subArgs)
		if err != nil {
			return err
		}
		return withReadOnly(cfg, func(st *state.Store) error {
			e, err := st.Entry(id)
			if err != nil {
				return notFound(id, err)
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(e)
		})
	case "backup":
		if len(subArgs) != 1 {
			return usageError("state backup: give the file to write")
		}
		return withReadOnly(cfg, func(st *state.Store) error {
			if err := st.BackupFile(ctx, subArgs[0]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "backup of %s written to %s\n", cfg.State.Path, subArgs[0])
			return nil
		})
	case "retry":
		return stateRetry(cfg, subArgs, stdout)
	case "forget":
		if len(subArgs) == 1 && subArgs[0] == "-backfill" {
			return withWritable(cfg, func(st *state.Store) error { return forgetBackfill(st, stdout) })
		}
		id, err := oneID(sub, subArgs)
		if err != nil {
			return err
		}
		return withWritable(cfg, func(st *state.Store) error {
			if err := st.Forget(id); err != nil {
				return notFound(id, err)
			}
			fmt.Fprintf(stdout, "file %d forgotten (nothing was deleted in CoreData)\n", id)
			return nil
		})
	case "rebuild":
		if len(subArgs) != 0 {
			return usageError("state rebuild: unexpected argument %q", subArgs[0])
		}
		return stateRebuild(ctx, cfg, stdout, stderr)
	default:
		return usageError("unknown state command %q; usage: syncd %s", sub, stateUsage)
	}
}

// stateRetry is `state retry ID...|-parked|-all`: each file's backoff and
// parking are cleared so that the next poll tries it again. The Ids are
// checked before anything is written, and all are retried in one go.
func stateRetry(cfg *config.Config, args []string, stdout io.Writer) error {
	const usage = "state retry: give Nexudus file Ids, -parked or -all"
	if len(args) == 0 {
		return usageError(usage)
	}
	if args[0] == "-parked" || args[0] == "-all" || args[0] == "--parked" || args[0] == "--all" {
		if len(args) != 1 {
			return usageError("state retry %s takes no Id", args[0])
		}
		parkedOnly := strings.TrimLeft(args[0], "-") == "parked"
		return withWritable(cfg, func(st *state.Store) error {
			n, err := st.RetryAllNow(time.Now(), parkedOnly)
			if err != nil {
				return err
			}
			what := "failing"
			if parkedOnly {
				what = "parked"
			}
			fmt.Fprintf(stdout, "%d %s file(s): backoff and parking cleared; the next poll tries them again\n", n, what)
			return nil
		})
	}
	ids := make([]int64, 0, len(args))
	for _, a := range args {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return usageError("state retry: %q is not a Nexudus file Id (%s)", a, usage)
		}
		ids = append(ids, id)
	}
	return withWritable(cfg, func(st *state.Store) error {
		var missing []string
		for _, id := range ids {
			if err := st.RetryNow(id, time.Now()); err != nil {
				if errors.Is(err, state.ErrNotFound) {
					missing = append(missing, strconv.FormatInt(id, 10))
					continue
				}
				return err
			}
			fmt.Fprintf(stdout, "file %d: backoff and parking cleared; the next poll tries it again\n", id)
		}
		if len(missing) > 0 {
			return &ExitError{Code: exitFailed, Err: fmt.Errorf("not failing, nothing to retry: %s", strings.Join(missing, ", "))}
		}
		return nil
	})
}

func oneID(sub string, args []string) (int64, error) {
	if len(args) != 1 {
		return 0, usageError("state %s: give one Nexudus file Id", sub)
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError("state %s: %q is not a Nexudus file Id", sub, args[0])
	}
	return id, nil
}

func notFound(id int64, err error) error {
	if errors.Is(err, state.ErrNotFound) {
		return &ExitError{Code: exitFailed, Err: fmt.Errorf("file %d is not in the state file", id)}
	}
	return err
}

// readOnlyWait is how long ls, show and backup wait for a poll of a
// running daemon to release the state file: polls take seconds, and a
// failed backup at 3 a.m. is worse than a slow one.
const readOnlyWait = 60 * time.Second

func withReadOnly(cfg *config.Config, fn func(*state.Store) error) error {
	if _, err := os.Stat(cfg.State.Path); err != nil {
		return &ExitError{Code: exitFailed, Err: fmt.Errorf("state file %s: %w (has syncd run yet?)", cfg.State.Path, err)}
	}
	st, err := state.Open(cfg.State.Path, state.Options{ReadOnly: true, Timeout: readOnlyWait})
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return &ExitError{Code: exitLocked, Err: fmt.Errorf("%w: a poll is writing it; try again in a moment", err)}
		}
		return stateOpenError(err)
	}
	defer st.Close()
	return fn(st)
}

func withWritable(cfg *config.Config, fn func(*state.Store) error) error {
	lock, err := state.Lock(cfg.State.Path)
	if err != nil {
		if errors.Is(err, state.ErrLocked) {
			return &ExitError{Code: exitLocked, Err: fmt.Errorf("%w: stop the running syncd first", err)}
		}
		return stateOpenError(err)
	}
	defer lock.Unlock()
	st, err := state.Open(cfg.State.Path, state.Options{Timeout: 10 * time.Second})
	if err != nil {
		return stateOpenError(err)
	}
	defer st.Close()
	return fn(st)
}

func stateLs(st *state.Store, asJSON bool, w io.Writer) error {
	legalEntries, err := st.LegalEntries()
	if err != nil {
		return err
	}
	if asJSON {
		// Contracts first, one object per line; then texts and
		// registers, told apart by their "kind".
		enc := json.NewEncoder(w)
		if err := st.EachEntry(func(e state.Entry) error { return enc.Encode(e) }); err != nil {
			return err
		}
		for _, e := range legalEntries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	defer legalTable(w, legalEntries)
	// The table is aligned a block of lsBlock lines at a time: a
	// tabwriter holds every line until it is flushed, and 100,000 of them
	// would be most of the command's memory.
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NEXUDUS_ID\tSTATUS\tCOREDATA_ID\tMD5\tATTEMPTS\tNEXT_ATTEMPT\tLAST_ERROR")
	n := 0
	err = st.EachEntry(func(e state.Entry) error {
		next := "-"
		if e.NextAttempt != nil {
			next = e.NextAttempt.UTC().Format(time.RFC3339)
		}
		lastErr := e.LastError
		if len(lastErr) > 80 {
			lastErr = lastErr[:77] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.NexudusID, e.Status, dash(e.CoreDataID), dash(e.MD5), e.Attempts, next, dash(lastErr))
		if n++; n%lsBlock == 0 {
			return tw.Flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

const lsBlock = 1000

// legalTable lists texts and registers below the contracts, when any.
func legalTable(w io.Writer, entries []state.LegalEntry) {
	if len(entries) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tTAG\tSTATUS\tCOREDATA_ID\tMD5")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Kind, e.Tag, e.Status, dash(e.CoreDataID), dash(e.MD5))
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func stateRebuild(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg.Log, stderr)
	defer log.Sync()
	cl, err := newClients(cfg, nil, log)
	if err != nil {
		return &ExitError{Code: exitUsage, Err: err}
	}
	return withWritable(cfg, func(st *state.Store) error {
		// Every file the API user can see, not only the configured
		// parents: a person may have re-filed a mirrored file elsewhere.
		rep, err := syncer.Rebuild(ctx, cl.coredata, st, []string{syncer.WholeTenant}, log)
		if rep != nil {
			fmt.Fprintf(stdout, "rebuild: %d CoreData file(s) seen, %d mapping(s) restored, %d already right\n",
				rep.Files, rep.Restored, rep.Kept)
			for _, id := range rep.Ambiguous {
				fmt.Fprintf(stdout, "ambiguous nexudus_id=%d: more than one CoreData file is tagged %s; kept the oldest\n", id, syncer.FileTag(id))
			}
		}
		return err
	})
}

// backfillNotice names an unfinished backfill: until it is run to its end
// or abandoned, the history before its mark is not all mirrored, and the
// daemon never goes back for it.
func backfillNotice(st *state.Store, w io.Writer) error {
	mark, ok, err := st.Backfill()
	if err != nil || !ok {
		return err
	}
	fmt.Fprintln(w, unfinishedBackfillText(mark))
	return nil
}

func unfinishedBackfillText(mark state.BackfillMark) string {
	from := mark.From.UTC().Format("2006-01-02T15:04")
	return fmt.Sprintf("backfill unfinished: from %s, done up to %s (last progress %s); files updated after that are not all mirrored. Resume with `syncd run -backfill-from %s`, or abandon it with `syncd state forget -backfill`.",
		from, mark.Done.UTC().Format(time.RFC3339), mark.UpdatedAt.UTC().Format(time.RFC3339), from)
}

// forgetBackfill abandons an unfinished backfill, deliberately.
func forgetBackfill(st *state.Store, w io.Writer) error {
	mark, ok, err := st.Backfill()
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(w, "no unfinished backfill")
		return nil
	}
	if err := st.ClearBackfill(); err != nil {
		return err
	}
	fmt.Fprintf(w, "backfill from %s abandoned (it was done up to %s; nothing was deleted anywhere)\n",
		mark.From.UTC().Format("2006-01-02T15:04"), mark.Done.UTC().Format(time.RFC3339))
	return nil
}
