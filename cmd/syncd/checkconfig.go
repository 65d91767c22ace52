package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/coworkdocs/syncd/internal/config"
)

// checkConfigCommand is `syncd check-config`: it loads and validates a
// configuration without contacting anything, and says what it would
// mirror where.
type checkConfigCommand struct{ stdout, stderr io.Writer }

func (c *checkConfigCommand) Run(_ context.Context, args []string) error {
	stdout, stderr := c.stdout, c.stderr
	fs := flag.NewFlagSet("syncd check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return &ExitError{Code: exitUsage, Err: errors.New("")}
	}
	if fs.NArg() > 0 {
		return usageError("check-config: unexpected argument %q", fs.Arg(0))
	}
	path := config.ResolvePath(*configPath)
	cfg, err := config.Load(path)
	if err != nil {
		return &ExitError{Code: exitUsage, Err: err}
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(stderr, "syncd: warning:", w)
	}
	fmt.Fprintf(stdout, "config %s: ok\n", path)
	fmt.Fprintf(stdout, "  nexudus  %s (auth %s), locations: %s\n", cfg.Nexudus.BaseURL, cfg.Nexudus.Auth, locationsText(cfg.Nexudus.Businesses))
	fmt.Fprintf(stdout, "  coredata %s, default parent: %s\n", cfg.CoreData.BaseURL, orNone(cfg.CoreData.DefaultParent))
	ids := make([]int64, 0, len(cfg.CoreData.Parents))
	for id := range cfg.CoreData.Parents {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		fmt.Fprintf(stdout, "    location %d -> %s\n", id, cfg.CoreData.Parents[id])
	}
	fmt.Fprintf(stdout, "  state    %s\n", cfg.State.Path)
	fmt.Fprintf(stdout, "  schedule %q, lookback %s, concurrency %d\n", cfg.Sync.Schedule, cfg.Sync.Lookback, cfg.Sync.Concurrency)
	fmt.Fprintf(stdout, "  audit    %s\n", auditText(cfg.Audit))
	fmt.Fprintf(stdout, "  legal    %s\n", legalText(cfg.Legal))
	return nil
}

// auditText says what the daemon's audit will do.
func auditText(a config.Audit) string {
	if a.Schedule == "" {
		return "off (audit.schedule is empty)"
	}
	repair := "repairs deletions and removed tags"
	if !a.Repair {
		repair = "reports only (audit.repair: false)"
	}
	drift := "reports drift"
	if a.RestoreDrift {
		drift = "restores drift"
	}
	return fmt.Sprintf("%q, %s, %s", a.Schedule, repair, drift)
}

// legalText says whether terms acceptances are mirrored.
func legalText(l config.Legal) string {
	if !l.Enabled {
		return "off (legal.enabled: false)"
	}
	return fmt.Sprintf("terms acceptances on: texts titled %q, registers titled %q", l.TextTitle, l.RegisterTitle)
}

func locationsText(ids []int64) string {
	if len(ids) == 0 {
		return "all"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(none: locations without a parent are skipped)"
	}
	return s
}
