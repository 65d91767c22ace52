package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/coworkdocs/syncd/internal/config"
)

// command is one subcommand of syncd: a small type that parses its own
// flags and runs. Errors carry their exit code (ExitError).
type command interface {
	Run(ctx context.Context, args []string) error
}

// commands are the subcommands by name, each made with the process's
// standard output and standard error.
var commands = map[string]func(stdout, stderr io.Writer) command{
	"run":          func(o, e io.Writer) command { return &runCommand{stdout: o, stderr: e} },
	"check-config": func(o, e io.Writer) command { return &checkConfigCommand{stdout: o, stderr: e} },
	"state":        func(o, e io.Writer) command { return &stateCommand{stdout: o, stderr: e} },
	"verify":       func(o, e io.Writer) command { return &verifyCommand{stdout: o, stderr: e} },
	"demo":         func(o, e io.Writer) command { return &demoCommand{stdout: o, stderr: e} },
	"version":      func(o, e io.Writer) command { return &versionCommand{stdout: o} },
}

// configFlag registers the -config flag that every command reading the
// configuration shares; resolve it with config.ResolvePath.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "configuration file (default $SYNCD_CONFIG, else "+config.DefaultPath+")")
}

// runCommand is `syncd run`: Main, parsed, run and closed.
type runCommand struct{ stdout, stderr io.Writer }

func (c *runCommand) Run(ctx context.Context, args []string) error {
	m := NewMain(c.stdout, c.stderr)
	if err := m.ParseFlags(ctx, args); err != nil {
		return err
	}
	defer m.Close()
	return m.Run(ctx)
}

// versionCommand is `syncd version`.
type versionCommand struct{ stdout io.Writer }

func (c *versionCommand) Run(_ context.Context, args []string) error {
	if len(args) > 0 {
		return usageError("version: unexpected argument %q", args[0])
	}
	fmt.Fprintln(c.stdout, readBuildInfo())
	return nil
}
