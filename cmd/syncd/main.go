// Command syncd mirrors signed contracts from Nexudus into CoreData.
//
// This package only wires things: configuration, clients, the state file,
// the engine and the daemon come from internal packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes, as the README documents them.
const (
	exitOK     = 0
	exitFailed = 1 // the poll failed or some files failed
	exitUsage  = 2 // usage or configuration error
	exitLocked = 3 // the state file is locked by another process
)

// ExitError carries an exit code out of a subcommand.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func usageError(format string, args ...any) error {
	return &ExitError{Code: exitUsage, Err: fmt.Errorf(format, args...)}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Run dispatches a command line and returns the exit code; it is main
// without the process, for tests.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	if err == nil {
		return exitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil && ee.Err.Error() != "" {
			fmt.Fprintln(stderr, "syncd:", ee.Err)
		}
		if ee.Code == exitUsage && errors.Is(err, errShowUsage) {
			fmt.Fprint(stderr, usage)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "syncd:", err)
	return exitFailed
}

var errShowUsage = errors.New("")

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &ExitError{Code: exitUsage, Err: fmt.Errorf("a command is required%w", errShowUsage)}
	}
	if cmd := args[0]; cmd != "help" && wantsHelp(args[1:]) {
		// A command's -h needs no configuration and exits 0.
		return printHelp(stdout, cmd)
	}
	name := args[0]
	if name == "--version" || name == "-version" {
		name = "version"
	}
	if newCmd, ok := commands[name]; ok {
		return newCmd(stdout, stderr).Run(ctx, args[1:])
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 2 {
			return usageError("help: give at most one command")
		}
		if len(args) == 2 && wantsHelp(args[1:]) {
			return printHelp(stdout, "help")
		}
		if len(args) == 2 {
			return printHelp(stdout, args[1])
		}
		return printHelp(stdout, "")
	default:
		return &ExitError{Code: exitUsage, Err: fmt.Errorf("unknown command %q%w", args[0], errShowUsage)}
	}
}
