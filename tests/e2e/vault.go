// Package e2e is the plugin's acceptance suite: it runs the plugin inside a
// real Vault server, drives it with the real vault CLI and HTTP API, and
// checks every outcome at an in-process GitHub emulator.
//
// The tests need a Vault server binary and the built plugin, named by
// VAULT_BIN and PLUGIN_BIN (`make test` sets both) or found at
// .tools/bin/vault and bin/vault-plugin-secrets-github-app. They are
// skipped with -short and fail, rather than skip, when a binary is missing.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// commandTimeout bounds a vault CLI command; generous because two cores
// run a race-instrumented test binary next to several Vault servers.
const commandTimeout = 60 * time.Second

// The suite's names for vaultdev's, so that its files need not all import
// it.
const (
	pluginName   = vaultdev.PluginName
	startTimeout = vaultdev.StartTimeout
	stopTimeout  = vaultdev.StopTimeout
)

// pluginVersion is the version make build stamps, from the repository's
// VERSION file (tests run in tests/e2e).
var pluginVersion = func() string {
	v, err := os.ReadFile(filepath.Join("..", "..", "VERSION"))
	if err != nil {
		panic(fmt.Sprintf("reading the plugin's version: %v", err))
	}
	return strings.TrimSpace(string(v))
}()

// binaries are the executables under test.
type binaries struct {
	vault, plugin string
}

var (
	binsOnce sync.Once
	bins     binaries
	binsErr  error
)

// requireBinaries skips in -short mode and otherwise returns the binaries,
// failing the test when one is missing: a full run must never pass by
// silently testing nothing.
func requireBinaries(t testing.TB) binaries {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests start Vault servers; skipped with -short")
	}
	binsOnce.Do(func() { bins, binsErr = findBinaries() })
	if binsErr != nil {
		t.Fatal(binsErr)
	}
	return bins
}

func findBinaries() (binaries, error) {
	// go test runs in the package directory, tests/e2e.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return binaries{}, err
	}
	b := binaries{
		vault:  envOr("VAULT_BIN", filepath.Join(root, ".tools", "bin", "vault")),
		plugin: envOr("PLUGIN_BIN", filepath.Join(root, "bin", vaultdev.PluginName)),
	}
	for _, p := range []string{b.vault, b.plugin} {
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("%v\nthe end-to-end tests need the Vault server and the built plugin: run `make test` "+
				"(or set VAULT_BIN and PLUGIN_BIN), or use -short to skip them", err)
		}
	}
	return b, nil
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// Vault is one Vault server process with the plugin registered.
type Vault struct {
	Addr  string
	Token string // a root token

	bins      binaries
	dir       string // config, plugin directory, log, HOME
	args      []string
	unsealKey string // non-dev servers only
	caCert    string // the CA file that verifies an https Addr

	proc      *vaultdev.Process
	pluginSHA string // of the plugin installed by newVault
}

// newVault prepares a server's directory (vaultdev.PrepareDir) with the
// plugin installed (every server of a cluster needs its own copy), and a
// free port.
func newVault(t *testing.T) *Vault {
	t.Helper()
	b := requireBinaries(t)
	dir := t.TempDir()
	if err := vaultdev.PrepareDir(dir); err != nil {
		t.Fatal(err)
	}
	v := &Vault{Addr: "http://" + freeAddr(t), bins: b, dir: dir}
	var err error
	if v.pluginSHA, err = vaultdev.InstallPlugin(dir, vaultdev.PluginName, b.plugin); err != nil {
		t.Fatal(err)
	}
	v.watch(t)
	return v
}

// watch stops the server when the test ends, and shows its log if the test
// failed.
func (v *Vault) watch(t *testing.T) {
	t.Cleanup(func() {
		if v.proc != nil {
			v.proc.Kill()
			reportOnFailure(t, v.proc)
		}
	})
}

// StartDevVault starts `vault server -dev` with the plugin registered, as
// the demo and the benchmarks do (vaultdev.StartDev).
func StartDevVault(t *testing.T) *Vault {
	t.Helper()
	b := requireBinaries(t)
	d, err := vaultdev.StartDev(vaultdev.DevConfig{
		Vault: b.vault, Plugin: b.plugin, Version: pluginVersion, Dir: t.TempDir(), LogLevel: "debug",
	})
	if err != nil {
		t.Fatal(err)
	}
	v := &Vault{Addr: d.Addr, Token: d.Token, bins: b, dir: d.Dir, proc: d.Process}
	v.watch(t)
	return v
}

// StartFileVault starts a production-style server with file storage,
// initialises and unseals it, and registers the plugin. Unlike a dev
// server it keeps its state across Restart.
func StartFileVault(t *testing.T) *Vault {
	t.Helper()
	v := newVault(t)
	cfg := v.writeFile(t, "vault.hcl", fmt.Sprintf(`
storage "file" {
  path = %q
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
api_addr         = %q
plugin_directory = %q
disable_mlock    = true
log_level        = "debug"
`, v.path("data"), strings.TrimPrefix(v.Addr, "http://"), v.Addr, v.path("plugins")))
	v.args = []string{"server", "-config=" + cfg}
	v.start(t)
	v.initialize(t)
	v.unseal(t)
	v.registerPlugin(t)
	return v
}

// initialize runs `vault operator init` with a single key share and keeps
// the unseal key and root token.
func (v *Vault) initialize(t *testing.T) {
	t.Helper()
	var init struct {
		Keys      []string `json:"unseal_keys_b64"`
		RootToken string   `json:"root_token"`
	}
	out := v.MustRunAs(t, "", "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json")
	if err := json.Unmarshal([]byte(out), &init); err != nil || len(init.Keys) != 1 || init.RootToken == "" {
		t.Fatalf("vault operator init: unexpected reply (%v)", err)
	}
	v.unsealKey, v.Token = init.Keys[0], init.RootToken
}

// Restart stops the server and starts it again on the same storage and
// port, then unseals it. Only servers started by StartFileVault keep state.
func (v *Vault) Restart(t *testing.T) {
	t.Helper()
	v.Stop(t)
	v.start(t)
	v.unseal(t)
}

// unseal enters the unseal key and waits until the server is unsealed. A
// server joining a Raft cluster unseals only once it has joined, after
// the command returns.
func (v *Vault) unseal(t *testing.T) {
	t.Helper()
	v.MustRunAs(t, "", "operator", "unseal", "-format=json", v.unsealKey)
	sys := v.Client(t, "").Sys()
	waitUntil(t, vaultdev.StartTimeout, "vault at "+v.Addr+" to unseal", func() bool {
		status, err := sys.SealStatus()
		return err == nil && !status.Sealed
	})
}

// start launches the server and waits until it answers.
func (v *Vault) start(t *testing.T) {
	t.Helper()
	v.proc = startProcess(t, "Vault", v.path("vault.log"), v.bins.vault, v.args, vaultdev.CleanEnv(v.path("home")))
	if err := vaultdev.WaitHTTP(v.Addr, v.proc, v.Client(t, "").CloneConfig().HttpClient); err != nil {
		t.Fatal(err)
	}
}

// Kill kills the server and its plugins at once with SIGKILL, as a crash,
// a lost machine or the OOM killer would: no step-down, no seal. It
// returns when the signal was sent.
func (v *Vault) Kill(t *testing.T) time.Time {
	t.Helper()
	v.proc.KillGroup()
	killedAt := time.Now()
	if !v.proc.WaitExit(vaultdev.StopTimeout) {
		t.Fatalf("vault did not exit within %s of SIGKILL", vaultdev.StopTimeout)
	}
	v.proc.KillGroup() // marks the group swept, now that it has exited
	return killedAt
}

// Stop shuts the server down gracefully (SIGTERM), as an operator would,
// failing the test if it does not exit in time.
func (v *Vault) Stop(t *testing.T) {
	t.Helper()
	if !v.proc.Stop(vaultdev.StopTimeout) {
		t.Fatalf("vault did not exit within %s of SIGTERM", vaultdev.StopTimeout)
	}
}

// registerPlugin adds the installed plugin to the catalog by its SHA-256
// (vaultdev.RegisterArgs), as an operator does.
func (v *Vault) registerPlugin(t *testing.T) {
	t.Helper()
	v.MustCLI(t, vaultdev.RegisterArgs(vaultdev.PluginName, vaultdev.PluginName, v.pluginSHA, pluginVersion, nil)...)
}

// PluginPIDs lists the running processes of this server's plugin binary,
// found by executable path (Linux /proc).
func (v *Vault) PluginPIDs(t *testing.T) []int {
	t.Helper()
	return pidsOf(t, v.path("plugins", vaultdev.PluginName))
}

// pidsOf lists the running processes of an executable file, such as one
// version's binary in a plugin directory.
func pidsOf(t *testing.T, path string) []int {
	t.Helper()
	// /proc/<pid>/exe holds the resolved path.
	exe, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("listing processes: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if target, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && target == exe {
			pids = append(pids, pid)
		}
	}
	return pids
}

func (v *Vault) path(elem ...string) string {
	return filepath.Join(append([]string{v.dir}, elem...)...)
}

func (v *Vault) writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := v.path(name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := vaultdev.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startProcess starts a long-running vault process (vaultdev.StartProcess).
func startProcess(t *testing.T, name, logPath, bin string, args, env []string) *vaultdev.Process {
	t.Helper()
	p, err := vaultdev.StartProcess(name, logPath, bin, args, env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// reportOnFailure logs the tail of a process's log if the test failed.
func reportOnFailure(t *testing.T, p *vaultdev.Process) {
	if t.Failed() {
		t.Logf("%s log (last lines of %s):\n%s", p.Name, p.LogPath, p.LogTail(60))
	}
}

// waitUntil polls cond until it holds, failing the test after timeout
// with what it was waiting for and, if given, the last state seen.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool, last ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("timed out after %s waiting for %s", timeout, what)
			for _, f := range last {
				msg += " (last seen: " + f() + ")"
			}
			t.Fatal(msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
