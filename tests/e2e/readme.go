package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/readme"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// The README's recipes are run as written: a test takes the block the
// README marks with <!-- block: name --> and runs it with bash, as an
// operator pasting it into a shell would.

// readmeBlock returns the README's block marked name.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	block, err := readme.Block(filepath.Join("..", "..", "README.md"), name)
	if err != nil {
		t.Fatal(err)
	}
	return block
}

// RunReadmeBlock runs the README's shell block name with bash, in dir,
// with the environment of shellEnv. vars replace the block's assignments
// of the same names, which show example values an operator puts their own
// in place of (AUDIT_LOG=/var/log/…).
func (v *Vault) RunReadmeBlock(t *testing.T, token, dir, name string, vars map[string]string) Result {
	t.Helper()
	script := readmeBlock(t, name)
	env := v.shellEnv(t, token, dir)
	for key, value := range vars {
		assignment := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `=.*\n`)
		if !assignment.MatchString(script) {
			t.Fatalf("README block %s sets no %s", name, key)
		}
		script = assignment.ReplaceAllString(script, "")
		env = append(env, key+"="+value)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	return runCommand(t, cmd, "README block "+name)
}

// shellEnv is the environment of a shell an operator of v works in: the
// vault CLI on PATH, VAULT_ADDR and VAULT_TOKEN set, HOME in home.
func (v *Vault) shellEnv(t *testing.T, token, home string) []string {
	t.Helper()
	env := vaultdev.CleanEnv(home, "VAULT_ADDR="+v.Addr, "VAULT_TOKEN="+token,
		"PATH="+vaultOnPath(t, v.bins.server.Bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if v.caCert != "" {
		env = append(env, "VAULT_CACERT="+v.caCert)
	}
	return env
}

// runCommand runs cmd, bounded by commandTimeout, and collects its output.
func runCommand(t *testing.T, cmd *exec.Cmd, what string) Result {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("running %s: %v", what, err)
	}
	timer := time.AfterFunc(commandTimeout, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		t.Fatalf("%s did not finish within %s", what, commandTimeout)
	}
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", what, err)
	}
	return r
}

// MustRunReadmeBlock is RunReadmeBlock that fails the test unless the
// block succeeds.
func (v *Vault) MustRunReadmeBlock(t *testing.T, token, dir, name string, vars map[string]string) string {
	t.Helper()
	r := v.RunReadmeBlock(t, token, dir, name, vars)
	if r.Code != 0 {
		t.Fatalf("README block %s: exit %d: %s", name, r.Code, r.Stderr)
	}
	return r.Stdout
}

// vaultOnPath returns a directory whose "vault" is the Vault binary under
// test, whatever its file is called.
func vaultOnPath(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "vault")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireTool skips the test when a tool it runs is missing, naming the
// script that provides it (make test runs it).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed: scripts/tools.sh (run by make test) installs it", name)
	}
	return path
}
