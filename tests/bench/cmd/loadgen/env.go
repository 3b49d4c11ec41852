package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

const (
	module = "github.com/vault-github-app/vault-plugin-secrets-github-app"
	// floorName is the lease floor's name in the catalog.
	floorName = "vault-plugin-bench-floor"
	// bulkRepos is how many repositories the emulator's bulk installation
	// has: GitHub's limit for one token.
	bulkRepos = 500
)

// binaries are what the benchmark runs and did not build itself.
type binaries struct {
	vault, plugin string
	version       string // the plugin's, as Vault registers it
}

// bench is one run: its scratch directory, the emulator, the main Vault
// and what they serve, and the rows measured so far.
type bench struct {
	s         settings
	bins      binaries
	work      string
	pluginEnv []string
	pprofURL  string // the profiling build's net/http/pprof; "" without
	emu       *emulator
	main      *vault // the Vault of every row but the log-level ones
	floorPID  int
	stops     []func() // what close stops, last first
}

func newBench(s settings, bins binaries) (*bench, error) {
	for _, bin := range []string{bins.vault, bins.plugin} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("%w (make build vault provides the binaries)", err)
		}
	}
	work, err := os.MkdirTemp("", "github-app-bench.")
	if err != nil {
		return nil, err
	}
	return &bench{s: s, bins: bins, work: work}, nil
}

// close stops every process the run started and removes its directory.
func (b *bench) close() {
	for i := len(b.stops) - 1; i >= 0; i-- {
		b.stops[i]()
	}
	_ = os.RemoveAll(b.work) // best effort: a temporary directory
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// noteLoad says how busy the machine is before a run: every figure is taken
// on the CPUs the benchmark shares with whatever else runs.
func noteLoad() {
	load := "unknown"
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = strings.Fields(string(data))[0]
	}
	logf("load average %s on %d CPUs (the tables' \"not ours\" column is CPU used by other processes)", load, numCPU())
}

// build compiles a package of this module into the run's directory.
func (b *bench) build(ctx context.Context, name, pkg string, flags ...string) (string, error) {
	out := filepath.Join(b.work, name)
	args := append(append([]string{"build"}, flags...), "-o", out, module+"/"+pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	return out, nil
}

// useProfilingBuild runs the plugin built with -tags pprof, which serves
// net/http/pprof where BENCH_PPROF_ADDR says.
func (b *bench) useProfilingBuild(ctx context.Context) error {
	bin, err := b.build(ctx, vaultdev.PluginName+"-pprof", "cmd/"+vaultdev.PluginName,
		"-tags", "pprof", "-trimpath", "-ldflags", "-X "+module+".Version="+b.bins.version)
	if err != nil {
		return err
	}
	addr, err := vaultdev.FreeAddr()
	if err != nil {
		return err
	}
	b.bins.plugin = bin
	b.pprofURL = "http://" + addr
	b.pluginEnv = append(b.pluginEnv, "BENCH_PPROF_ADDR="+addr)
	return nil
}

// setup starts the emulator (plain HTTP, and HTTPS with a CA of its own)
// and Vault; mounts the engine at github/ with an ID role, an owner role,
// a one-repository role and a 500-repository role, and at github-tls/ with
// the one-repository role against the emulator's HTTPS listener; the lease
// floor at floor/; and kv-v2 with one secret.
func (b *bench) setup(ctx context.Context) error {
	floor, err := b.build(ctx, "floor", "tests/bench/floor", "-trimpath")
	if err != nil {
		return err
	}
	if err := b.startEmulator(ctx); err != nil {
		return err
	}
	// The plugin trusts the emulator's CA as any Go program on Linux can be
	// made to, without a change to its code: GitHub's real certificate
	// chains to the system roots, which SSL_CERT_FILE replaces.
	b.pluginEnv = append(b.pluginEnv, "SSL_CERT_FILE="+filepath.Join(b.work, "ca.pem"))
	if b.main, err = b.startVault("vault", b.s.logLevel, b.pluginEnv); err != nil {
		return err
	}
	if _, err := b.main.dev.Register(floorName, floor, b.bins.version, nil); err != nil {
		return err
	}
	server, err := vaultdev.IdentifyServer(b.bins.vault)
	if err != nil {
		return err
	}
	logf("%s %s at %s, emulator at %s and %s", server.Name, server.Version, b.main.dev.Addr, b.emu.URL, b.emu.TLSURL)

	org := strconv.FormatInt(b.emu.OrgInstallationID, 10)
	roles := []role{
		{"id", map[string]any{"installation_id": org}},
		{"owner", map[string]any{"owner": "acme"}},
		{"repo1", map[string]any{"installation_id": org, "repositories": "api"}},
		{"repos500", map[string]any{
			"installation_id": strconv.FormatInt(b.emu.BulkInstallationID, 10),
			"repositories":    b.emu.BulkRepositories,
		}},
	}
	if err := b.main.mountEngine("github", b.emu.URL, b.emu, roles...); err != nil {
		return err
	}
	if err := b.main.mountEngine("github-tls", b.emu.TLSURL, b.emu, roles[2]); err != nil {
		return err
	}
	sys := b.main.api.Sys()
	if err := sys.Mount("floor", &api.MountInput{Type: floorName}); err != nil {
		return err
	}
	if err := b.main.mountKV(ctx); err != nil {
		return err
	}
	if b.floorPID, err = pluginPID(b.main.dev.Dir, floorName); err != nil {
		return err
	}
	logf("plugin pid %d, lease floor pid %d, Vault pid %d", b.main.pluginPID, b.floorPID, b.main.dev.Process.PID())
	return nil
}

// emulator is the ghemu command, run as a process of its own so that its
// CPU is counted apart, and what it seeded.
type emulator struct {
	proc *vaultdev.Process
	ghemu.RunInfo
	key    *rsa.PrivateKey
	keyPEM string
	client *http.Client // for its control API
}

// startEmulator starts ghemu on loopback with a fresh App key and the bulk
// installation, over HTTP and HTTPS.
func (b *bench) startEmulator(ctx context.Context) error {
	bin, err := b.build(ctx, "ghemu", "internal/ghemu/cmd/ghemu")
	if err != nil {
		return err
	}
	keyFile, infoFile := filepath.Join(b.work, "app.pem"), filepath.Join(b.work, "ghemu.json")
	args := []string{"-addr", "127.0.0.1:0", "-key-out", keyFile, "-info-out", infoFile,
		"-bulk-repos", strconv.Itoa(bulkRepos), "-tls-addr", "127.0.0.1:0", "-tls-ca-out", filepath.Join(b.work, "ca.pem")}
	proc, err := vaultdev.StartProcess("ghemu", filepath.Join(b.work, "ghemu.log"), bin, args, os.Environ())
	if err != nil {
		return err
	}
	b.stops = append(b.stops, proc.Kill)
	e := &emulator{proc: proc, client: &http.Client{Timeout: time.Minute}}
	// The info file is written once the emulator listens; until then it is
	// missing or partly written.
	deadline := time.Now().Add(vaultdev.StartTimeout)
	for {
		data, err := os.ReadFile(infoFile)
		if err == nil && json.Unmarshal(data, &e.RunInfo) == nil {
			break
		}
		if !proc.Running() || time.Now().After(deadline) {
			return errors.New("the emulator did not start:\n" + proc.LogTail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	pemData, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	if e.key, err = testkeys.ParsePKCS1PEM(pemData); err != nil {
		return err
	}
	e.keyPEM = string(pemData)
	b.emu = e
	return nil
}

// control calls the emulator's control API.
func (e *emulator) control(ctx context.Context, method, path, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.URL+"/_emulator/"+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	return send(e.client, req)
}

func (e *emulator) setLatency(ctx context.Context, ms int) error {
	_, err := e.control(ctx, http.MethodPost, "latency", fmt.Sprintf(`{"ms":%d}`, ms))
	return err
}

func (e *emulator) stats(ctx context.Context) (ghemu.Stats, error) {
	var stats ghemu.Stats
	body, err := e.control(ctx, http.MethodGet, "stats", "")
	if err != nil {
		return stats, err
	}
	// The emulator always sends its per-route counts, even when empty.
	if err := json.Unmarshal(body, &stats); err != nil || stats.Endpoints == nil {
		return stats, errors.New("the emulator's /_emulator/stats has no request counts")
	}
	return stats, nil
}

// vault is a dev server with the engine registered, and the process
// running the engine's plugin.
type vault struct {
	dev       *vaultdev.Dev
	api       *api.Client
	pluginPID int
}

// startVault starts a dev server in the run's directory name.
func (b *bench) startVault(name, logLevel string, pluginEnv []string) (*vault, error) {
	dev, err := vaultdev.StartDev(vaultdev.DevConfig{
		Vault: b.bins.vault, Plugin: b.bins.plugin, Version: b.bins.version,
		Dir: filepath.Join(b.work, name), LogLevel: logLevel, PluginEnv: pluginEnv,
	})
	if err != nil {
		return nil, err
	}
	b.stops = append(b.stops, dev.Process.Kill)
	cfg := api.DefaultConfig()
	cfg.Address = dev.Addr
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	// NewClient picks VAULT_TOKEN and VAULT_NAMESPACE up from the
	// environment.
	client.SetToken(dev.Token)
	client.ClearNamespace()
	return &vault{dev: dev, api: client}, nil
}

// role is a role of the engine and its fields, as an operator writes them.
type role struct {
	name   string
	fields map[string]any
}

// mountEngine mounts the engine at path, configured for the emulator at
// baseURL, writes roles, and finds the plugin's process (Vault runs a
// plugin as one multiplexed process for every mount).
func (v *vault) mountEngine(path, baseURL string, e *emulator, roles ...role) error {
	if err := v.api.Sys().Mount(path, &api.MountInput{Type: vaultdev.PluginName}); err != nil {
		return err
	}
	config := map[string]any{"app_id": strconv.FormatInt(e.AppID, 10), "private_key": e.keyPEM, "base_url": baseURL}
	if _, err := v.api.Logical().Write(path+"/config", config); err != nil {
		return err
	}
	for _, r := range roles {
		if _, err := v.api.Logical().Write(path+"/roles/"+r.name, r.fields); err != nil {
			return fmt.Errorf("role %s: %w", r.name, err)
		}
	}
	pid, err := pluginPID(v.dev.Dir, vaultdev.PluginName)
	v.pluginPID = pid
	return err
}

// mountKV mounts kv-v2 with one secret. kv-v2 answers 404 until its
// upgrade finishes, so the first put is retried.
func (v *vault) mountKV(ctx context.Context) error {
	err := v.api.Sys().Mount("kv", &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}})
	if err != nil {
		return err
	}
	secret := map[string]any{"data": map[string]any{"value": "benchmark"}}
	for range 50 {
		if _, err = v.api.Logical().WriteWithContext(ctx, "kv/data/bench", secret); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("kv-v2 did not come up: %w", err)
	}
	_, err = v.api.Logical().ReadWithContext(ctx, "kv/data/bench")
	return err
}

// roleCount is how many roles the github/ mount holds.
func (v *vault) roleCount(ctx context.Context) (int, error) {
	secret, err := v.api.Logical().ListWithContext(ctx, "github/roles")
	if err != nil {
		return 0, err
	}
	if secret == nil {
		return 0, errors.New("listing roles: no reply")
	}
	keys, _ := secret.Data["keys"].([]any)
	return len(keys), nil
}

// pluginPID is the pid of the one process running the plugin binary name
// installed in a server's directory.
func pluginPID(serverDir, name string) (int, error) {
	bin, err := filepath.EvalSymlinks(filepath.Join(serverDir, "plugins", name))
	if err != nil {
		return 0, err
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, p := range procs {
		if exe, err := os.Readlink(p + "/exe"); err == nil && exe == bin {
			pid, _ := strconv.Atoi(filepath.Base(p))
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		return 0, fmt.Errorf("expected one plugin process running %s, found %d", bin, len(pids))
	}
	return pids[0], nil
}
