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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	pluginName   = "vault-plugin-secrets-github-app"
	devRootToken = "root"

	// Bounds on waiting for processes; generous because two cores run a
	// race-instrumented test binary next to several Vault servers.
	startTimeout   = 60 * time.Second
	stopTimeout    = 20 * time.Second
	commandTimeout = 60 * time.Second
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
		plugin: envOr("PLUGIN_BIN", filepath.Join(root, "bin", pluginName)),
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

// cleanEnv is the environment of every vault process: the test's own minus
// any VAULT_* setting of the developer's, with HOME in a temp dir because
// the dev server and the CLI's token helper write ~/.vault-token.
func cleanEnv(home string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "HOME="+home), extra...)
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

	proc *process
}

// newVault prepares a server's directory: a plugin directory holding a copy
// of the plugin (Vault runs plugins only from there) and a free port.
func newVault(t *testing.T) *Vault {
	t.Helper()
	b := requireBinaries(t)
	dir := t.TempDir()
	for _, sub := range []string{"plugins", "home"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, b.plugin, filepath.Join(dir, "plugins", pluginName), 0o755)
	v := &Vault{Addr: "http://" + freeAddr(t), bins: b, dir: dir}
	t.Cleanup(func() {
		if v.proc != nil {
			v.proc.kill()
			v.proc.reportOnFailure(t)
		}
	})
	return v
}

// StartDevVault starts `vault server -dev` with the plugin registered.
func StartDevVault(t *testing.T) *Vault {
	t.Helper()
	v := newVault(t)
	cfg := v.writeFile(t, "extra.hcl", fmt.Sprintf("plugin_directory = %q\ndisable_mlock = true\n", v.path("plugins")))
	v.Token = devRootToken
	v.args = []string{"server", "-dev", "-dev-root-token-id=" + devRootToken,
		"-dev-listen-address=" + strings.TrimPrefix(v.Addr, "http://"),
		"-config=" + cfg, "-log-level=debug"}
	v.start(t)
	v.registerPlugin(t)
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
	waitUntil(t, startTimeout, "vault at "+v.Addr+" to unseal", func() bool {
		status, err := sys.SealStatus()
		return err == nil && !status.Sealed
	})
}

// start launches the server and waits until it answers.
func (v *Vault) start(t *testing.T) {
	t.Helper()
	v.proc = startProcess(t, "Vault", v.path("vault.log"), v.bins.vault, v.args, cleanEnv(v.path("home")))
	v.waitHTTP(t)
}

// waitHTTP waits until the server answers /v1/sys/health with any status:
// an uninitialised or sealed server answers too, with 501 or 503.
func (v *Vault) waitHTTP(t *testing.T) {
	t.Helper()
	client := v.Client(t, "").CloneConfig().HttpClient // trusts the server's CA
	client.Timeout = 2 * time.Second
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(v.Addr + "/v1/sys/health"); err == nil {
			resp.Body.Close()
			return
		}
		if !v.proc.running() {
			t.Fatal("vault exited while starting")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("vault did not answer at %s within %s", v.Addr, startTimeout)
}

// Kill kills the server and its plugins at once with SIGKILL, as a crash,
// a lost machine or the OOM killer would: no step-down, no seal. It
// returns when the signal was sent.
func (v *Vault) Kill(t *testing.T) time.Time {
	t.Helper()
	v.proc.killGroup()
	killedAt := time.Now()
	if !v.proc.waitExit(stopTimeout) {
		t.Fatalf("vault did not exit within %s of SIGKILL", stopTimeout)
	}
	v.proc.killGroup() // marks the group swept, now that it has exited
	return killedAt
}

// Stop shuts the server down gracefully (SIGTERM), as an operator would,
// failing the test if it does not exit in time.
func (v *Vault) Stop(t *testing.T) {
	t.Helper()
	if !v.proc.stop(stopTimeout) {
		t.Fatalf("vault did not exit within %s of SIGTERM", stopTimeout)
	}
}

// registerPlugin adds the plugin to the catalog by its SHA-256, the way an
// operator does, so Vault refuses any other binary under that name.
func (v *Vault) registerPlugin(t *testing.T) {
	t.Helper()
	v.MustCLI(t, "plugin", "register", "-sha256="+sha256File(t, v.path("plugins", pluginName)),
		"-version="+pluginVersion, "-command="+pluginName, "secret", pluginName)
}

// PluginPIDs lists the running processes of this server's plugin binary,
// found by executable path (Linux /proc).
func (v *Vault) PluginPIDs(t *testing.T) []int {
	t.Helper()
	return pidsOf(t, v.path("plugins", pluginName))
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
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
