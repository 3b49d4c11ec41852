// Package e2e is the plugin's acceptance suite: it runs the plugin inside a
// real Vault server, drives it with the real vault CLI and HTTP API, and
// checks every outcome at an in-process GitHub emulator.
//
// The tests need a Vault server binary and the built plugin, named by
// VAULT_BIN and PLUGIN_BIN (`make test` sets both) or found at
// .tools/bin/vault and bin/vault-plugin-secrets-github-app. They are
// skipped with -short and fail, rather than skip, when a binary is missing.
// The OpenBao tests run the same code on OpenBao's server, named by
// BAO_BIN (`make test` sets it when ../shared/openbao exists) or bao on
// PATH, and are skipped without one.
package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// binaries are the executables under test: a server (Vault's or
// OpenBao's) and the plugin.
type binaries struct {
	server vaultdev.Server
	plugin string
}

var (
	vaultOnce sync.Once
	vault     vaultdev.Server
	vaultErr  error

	baoOnce sync.Once
	bao     vaultdev.Server
	baoErr  error
)

// requireBinaries skips in -short mode and otherwise returns Vault and the
// plugin, failing the test when one is missing: a full run must never pass
// by silently testing nothing.
func requireBinaries(t testing.TB) binaries {
	t.Helper()
	plugin := requirePlugin(t)
	vaultOnce.Do(func() {
		bin := envOr("VAULT_BIN", filepath.Join(repoRoot(), ".tools", "bin", "vault"))
		if _, vaultErr = os.Stat(bin); vaultErr == nil {
			vault, vaultErr = vaultdev.IdentifyServer(bin)
		}
	})
	if vaultErr != nil {
		t.Fatalf("%v\nthe end-to-end tests need the Vault server: run `make test` (or set VAULT_BIN), or use -short to skip them", vaultErr)
	}
	return binaries{server: vault, plugin: plugin}
}

// requireOpenBao returns OpenBao's server and the plugin, skipping the
// test when there is no OpenBao: it is not on the Go module proxy, so a
// developer may well not have one.
func requireOpenBao(t testing.TB) binaries {
	t.Helper()
	plugin := requirePlugin(t)
	baoOnce.Do(func() { bao, baoErr = findOpenBao() })
	if errors.Is(baoErr, exec.ErrNotFound) {
		t.Skip("no OpenBao server: set BAO_BIN to a bao binary or put bao on PATH " +
			"(make test provides the one in ../shared/openbao, next to the repository)")
	}
	if baoErr != nil {
		t.Fatal(baoErr)
	}
	return binaries{server: bao, plugin: plugin}
}

func findOpenBao() (vaultdev.Server, error) {
	bin := os.Getenv("BAO_BIN")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("bao"); err != nil {
			return vaultdev.Server{}, err
		}
	}
	s, err := vaultdev.IdentifyServer(bin)
	if err == nil && s.Name != vaultdev.OpenBao {
		err = fmt.Errorf("BAO_BIN: %s is %s, not OpenBao", bin, s.Name)
	}
	return s, err
}

// requirePlugin skips in -short mode and otherwise returns the built
// plugin, failing the test when it is missing.
func requirePlugin(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests start Vault servers; skipped with -short")
	}
	plugin := envOr("PLUGIN_BIN", filepath.Join(repoRoot(), "bin", vaultdev.PluginName))
	if _, err := os.Stat(plugin); err != nil {
		t.Fatalf("%v\nthe end-to-end tests need the built plugin: run `make test` (or make build, or set PLUGIN_BIN), or use -short to skip them", err)
	}
	return plugin
}

// repoRoot is the repository's root: go test runs in the package
// directory, tests/e2e.
func repoRoot() string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return root
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// Vault is one server process, Vault's or OpenBao's, with the plugin
// registered.
type Vault struct {
	Addr  string
	Token string // a root token

	bins      binaries // bins.server is the one this process runs
	dir       string   // config, plugin directory, log, HOME
	args      []string
	unsealKey string // non-dev servers only
	caCert    string // the CA file that verifies an https Addr

	proc      *vaultdev.Process
	pluginSHA string // of the plugin installed by newVault
}

// newVault prepares a server's directory (vaultdev.PrepareDir) with the
// plugin installed (every server of a cluster needs its own copy), and a
// free port.
func newVault(t *testing.T, b binaries) *Vault {
	t.Helper()
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
	return startDev(t, requireBinaries(t))
}

// startDev starts a dev server of either kind with the plugin registered.
func startDev(t *testing.T, b binaries) *Vault {
	t.Helper()
	d, err := vaultdev.StartDev(vaultdev.DevConfig{
		Vault: b.server.Bin, Plugin: b.plugin, Version: pluginVersion, Dir: t.TempDir(), LogLevel: "debug",
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
	v := newVault(t, requireBinaries(t))
	cfg := v.writeFile(t, "vault.hcl", fmt.Sprintf(`
storage "file" {
  path = %q
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
api_addr         = %q
log_level        = "debug"
`, v.path("data"), strings.TrimPrefix(v.Addr, "http://"), v.Addr)+v.bins.server.BaseConfig(v.path("plugins")))
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
	v.proc = startProcess(t, v.bins.server.Name, v.path("vault.log"), v.bins.server.Bin, v.args, vaultdev.CleanEnv(v.path("home")))
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
		t.Fatalf("%s did not exit within %s of SIGKILL", v.bins.server.Name, vaultdev.StopTimeout)
	}
	v.proc.KillGroup() // marks the group swept, now that it has exited
	return killedAt
}

// Stop shuts the server down gracefully (SIGTERM), as an operator would,
// failing the test if it does not exit in time.
func (v *Vault) Stop(t *testing.T) {
	t.Helper()
	if !v.proc.Stop(vaultdev.StopTimeout) {
		t.Fatalf("%s did not exit within %s of SIGTERM", v.bins.server.Name, vaultdev.StopTimeout)
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
