//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// daemonRun is one `syncd run` process (the daemon) whose log the test
// reads while it runs.
type daemonRun struct {
	cmd         *exec.Cmd
	out, errOut *lockedBuffer
	done        chan struct{}
}

func startDaemon(st seeded, bin, config string) *daemonRun {
	st.t.Helper()
	d := &daemonRun{out: &lockedBuffer{}, errOut: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, "run", "-config", config)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.errOut
	if err := d.cmd.Start(); err != nil {
		st.Fatalf("start the daemon: %v", err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.done)
	}()
	// A test that fails half-way leaves no daemon behind.
	st.t.Cleanup(func() {
		if !d.exited() {
			_ = d.cmd.Process.Signal(syscall.SIGKILL)
			<-d.done
		}
	})
	return d
}

func (d *daemonRun) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends sig and reaps the process; a process that does not exit
// within 20 s is killed (and reported as not ended by sig).
func (d *daemonRun) stop(sig syscall.Signal) result {
	_ = d.cmd.Process.Signal(sig) // fails only when it already exited
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		d.errOut.Write([]byte("\n(test) the daemon did not exit within 20s of " + sig.String() + "; killed\n"))
	}
	ps := d.cmd.ProcessState
	r := result{code: ps.ExitCode(), stdout: d.out.String(), stderr: d.errOut.String()}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		r.killed = sig == syscall.SIGKILL
	}
	return r
}

// logLines returns the daemon's JSON log lines with message msg.
func (d *daemonRun) logLines(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(d.errOut.String(), "\n") {
		if !strings.Contains(line, `"msg":"`+msg+`"`) {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func (d *daemonRun) has(msg string) bool {
	return strings.Contains(d.errOut.String(), `"msg":"`+msg+`"`)
}

// allOK says whether an audit of this daemon checked every one of n
// mapped files and found each ok.
func (d *daemonRun) allOK(n int) bool {
	for _, l := range d.logLines("audit done") {
		if l["complete"] != true || l["ok"] != float64(n) {
			continue
		}
		clean := true
		for _, s := range []string{"missing", "moved", "untagged", "drift", "duplicate"} {
			clean = clean && l[s] == float64(0)
		}
		if clean {
			return true
		}
	}
	return false
}

// repairs sums the successful recreates and retags of the daemon's audits.
func (d *daemonRun) repairs() (recreated, retagged int) {
	for _, l := range d.logLines("audit done") {
		if v, ok := l["repair_recreated_success"].(float64); ok {
			recreated += int(v)
		}
		if v, ok := l["repair_retagged_success"].(float64); ok {
			retagged += int(v)
		}
	}
	return recreated, retagged
}

// lockedBuffer is a bytes.Buffer safe for the writer (the process's
// output copier) and a reader (the test) at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitUntil polls cond every tick until it holds (true) or timeout has
// passed (false).
func waitUntil(timeout, tick time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(tick)
	}
}
