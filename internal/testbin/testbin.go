// Package testbin builds the syncd binary for tests and benchmarks that
// drive the real process (kill -9 tests, peak RSS).
package testbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// ErrNoGo means no go command was found to build with.
var ErrNoGo = errors.New("testbin: go command not found: cannot build the syncd binary")

// goTool finds the go command: the one on PATH, else the one of the
// toolchain that built the test (a test binary runs where it was built).
func goTool() (string, bool) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, true
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p, true
	}
	return "", false
}

// Build builds cmd/syncd into a temp dir and returns its path. Without a
// go command it skips, unless SYNCD_REQUIRE_TOOLS=1 (CI).
func Build(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := BuildIn(ctx, tb.TempDir())
	if errors.Is(err, ErrNoGo) {
		if os.Getenv("SYNCD_REQUIRE_TOOLS") == "1" {
			tb.Fatal("go command not found and SYNCD_REQUIRE_TOOLS=1")
		}
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// BuildIn builds cmd/syncd into dir, as an operator does (a plain build:
// -race on `go test` instruments only the test process), and returns the
// binary's path. It is Build for programs that are not tests (the
// benchmark harness).
func BuildIn(ctx context.Context, dir string) (string, error) {
	gobin, ok := goTool()
	if !ok {
		return "", ErrNoGo
	}
	bin := filepath.Join(dir, "syncd")
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/coworkdocs/syncd/cmd/syncd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testbin: go build syncd: %w\n%s", err, out)
	}
	return bin, nil
}
