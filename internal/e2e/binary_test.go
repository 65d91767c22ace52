//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// goTool finds the go command that builds the binary under test: the one on
// PATH, else the one of the toolchain running the test.
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

// buildSyncd builds the real command into a temp dir and returns its path.
// Without a go command it skips, unless SYNCD_REQUIRE_TOOLS=1 (CI).
func buildSyncd(t *testing.T) string {
	t.Helper()
	gobin, ok := goTool()
	if !ok {
		if os.Getenv("SYNCD_REQUIRE_TOOLS") == "1" {
			t.Fatal("go command not found and SYNCD_REQUIRE_TOOLS=1")
		}
		t.Skip("go command not found: cannot build the syncd binary")
	}
	bin := filepath.Join(t.TempDir(), "syncd")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/coworkdocs/syncd/cmd/syncd")
	// The binary is what an operator runs: never the race-instrumented
	// flavour the test itself may be built with.
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build syncd: %v\n%s", err, out)
	}
	return bin
}

// result is one finished syncd process.
type result struct {
	code           int  // exit code; -1 when killed by a signal
	killed         bool // ended by our SIGKILL
	stdout, stderr string
}

func (r result) output() string {
	return "stdout:\n" + tail(r.stdout, 4000) + "\nstderr:\n" + tail(r.stderr, 4000)
}

// runSyncd runs the binary to completion, within a generous deadline.
func runSyncd(bin string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{code: 0, stdout: out.String(), stderr: errOut.String()}
	if err != nil {
		r.code = -1
		if cmd.ProcessState != nil {
			r.code = cmd.ProcessState.ExitCode()
		}
		if r.code == -1 {
			r.stderr += "\n(test) " + err.Error()
		}
	}
	return r
}

// entry is one line of `syncd state ls -json`, the fields the test reads.
type entry struct {
	NexudusID  int64  `json:"nexudus_id"`
	CoreDataID string `json:"coredata_id"`
	MD5        string `json:"md5"`
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	LastError  string `json:"last_error"`
}

// stateLs runs `syncd state ls -json` and decodes its lines.
func stateLs(bin, config string) (map[int64]entry, result, error) {
	r := runSyncd(bin, "state", "-config", config, "ls", "-json")
	if r.code != 0 {
		return nil, r, errExit(r.code)
	}
	out := map[int64]entry{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var e entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return nil, r, err
		}
		out[e.NexudusID] = e
	}
	return out, r, sc.Err()
}

type errExit int

func (e errExit) Error() string { return "exit code " + itoa(int64(e)) }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
