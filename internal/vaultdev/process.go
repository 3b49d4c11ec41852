package vaultdev

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// StopTimeout bounds the wait for a process to exit after a signal;
// generous because two cores may run a race-instrumented test binary next
// to several Vault servers.
const StopTimeout = 20 * time.Second

// Process is a long-running child (a Vault server or agent) started in its
// own process group, so that whatever it spawns (plugins) dies with it.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped
	swept   bool          // the group has been killed after the exit
}

// StartProcess starts bin with its output appended to logPath.
func StartProcess(name, logPath, bin string, args, env []string) (*Process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // its exit is what matters, not its status
		close(p.exited)
	}()
	return p, nil
}

// PID is the process's ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM and reports whether the process exited within
// timeout; either way it then kills the group's leftovers.
func (p *Process) Stop(timeout time.Duration) bool {
	defer p.KillGroup()
	_ = p.cmd.Process.Signal(syscall.SIGTERM) // it may have exited already
	return p.WaitExit(timeout)
}

// Kill stops the process whatever state it is in: SIGTERM, then SIGKILL.
func (p *Process) Kill() {
	if p.swept {
		return
	}
	if !p.Stop(StopTimeout) {
		_ = p.cmd.Process.Kill() // best effort: WaitExit says whether it worked
		p.WaitExit(StopTimeout)
	}
}

// ExitCode is the exit status of a process that has exited, or -1.
func (p *Process) ExitCode() int {
	if p.Running() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// WaitExit reports whether the process exited within timeout.
func (p *Process) WaitExit(timeout time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(timeout):
		return false
	}
}

// KillGroup kills what the process left in its group; after a clean exit
// nothing is left and the error (ESRCH) is expected. Once the leader has
// exited it runs only once, so that a later call cannot hit a reused ID.
func (p *Process) KillGroup() {
	if p.swept {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // ESRCH after a clean exit
	p.swept = !p.Running()
}

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// LogTail returns the last n lines of the process's log, minus the lines in
// which a dev server prints its unseal key and root token.
func (p *Process) LogTail(n int) string {
	data, err := os.ReadFile(p.LogPath)
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
