//go:build unix

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coworkdocs/syncd/internal/testbin"
)

// buildSyncd builds the real command into a temp dir and returns its path.
func buildSyncd(t *testing.T) string { return testbin.Build(t) }

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
	lines, err := jsonLines[entry](r.stdout)
	if err != nil {
		return nil, r, err
	}
	out := map[int64]entry{}
	for _, e := range lines {
		out[e.NexudusID] = e
	}
	return out, r, nil
}

// jsonLines decodes output of one JSON object per line (`-json`).
func jsonLines[T any](s string) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			return nil, fmt.Errorf("%w in %q", err, line)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

type errExit int

func (e errExit) Error() string { return "exit code " + itoa(int64(e)) }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
