// Package testbin builds the syncd binary for tests and benchmarks that
// drive the real process (kill -9 tests, peak RSS).
package testbin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

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
	gobin, ok := goTool()
	if !ok {
		if os.Getenv("SYNCD_REQUIRE_TOOLS") == "1" {
			tb.Fatal("go command not found and SYNCD_REQUIRE_TOOLS=1")
		}
		tb.Skip("go command not found: cannot build the syncd binary")
	}
	bin := filepath.Join(tb.TempDir(), "syncd")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// A plain build, as an operator makes: -race on `go test` instruments
	// only the test process.
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/coworkdocs/syncd/cmd/syncd")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build syncd: %v\n%s", err, out)
	}
	return bin
}
