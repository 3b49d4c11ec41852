package e2e

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// process is a long-running child (a Vault server or agent) started in its
// own process group, so that whatever it spawns (plugins) dies with it.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped
	swept   bool          // the group has been killed after the exit
}

// startProcess starts bin with its output appended to logPath.
func startProcess(t *testing.T, name, logPath, bin string, args, env []string) *process {
	t.Helper()
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // its exit is what matters, not its status
		close(p.exited)
	}()
	return p
}

// stop sends SIGTERM and reports whether the process exited within
// timeout; either way it then kills the group's leftovers.
func (p *process) stop(timeout time.Duration) bool {
	defer p.killGroup()
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // it may have exited already
	return p.waitExit(timeout)
}

// kill stops the process whatever state a test left it in.
func (p *process) kill() {
	if p.swept {
		return
	}
	if !p.stop(stopTimeout) {
		_ = p.cmd.Process.Kill() // best effort: waitExit says whether it worked
		p.waitExit(stopTimeout)
	}
}

func (p *process) waitExit(timeout time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// killGroup kills what the process left in its group; after a clean exit
// nothing is left and the error (ESRCH) is expected. Once the leader has
// exited it runs only once, so that a later call cannot hit a reused ID.
func (p *process) killGroup() {
	if p.swept {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // ESRCH after a clean exit
	p.swept = !p.running()
}

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// logTail returns the last n lines of the process's log, minus the lines in
// which a dev server prints its unseal key and root token.
func (p *process) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	var kept []string
	for _, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if !strings.Contains(line, "Unseal Key") && !strings.Contains(line, "Root Token") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept[max(len(kept)-n, 0):], "\n")
}

// reportOnFailure logs the tail of the process's log if the test failed.
func (p *process) reportOnFailure(t *testing.T) {
	if t.Failed() {
		t.Logf("%s log (last lines of %s):\n%s", p.name, p.logPath, p.logTail(60))
	}
}
