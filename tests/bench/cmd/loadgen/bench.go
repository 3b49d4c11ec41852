package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/api"

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

// bench is one run: its scratch directory, the emulator, the main Vault
// and what they serve.
type bench struct {
	s         settings
	servers   vaultdev.DevConfig // the Vault and plugin binaries, the plugin's version
	work      string
	pluginEnv []string
	pprofURL  string // the profiling build's net/http/pprof; "" without
	emu       *emulator
	main      *vault // the Vault of every row but the log-level ones
	floorPID  int
	stops     []func() // what close stops, last first
}

func newBench(s settings, servers vaultdev.DevConfig) (*bench, error) {
	work, err := os.MkdirTemp("", "github-app-bench.")
	if err != nil {
		return nil, err
	}
	return &bench{s: s, servers: servers, work: work}, nil
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
	logf("load average %s on %d CPUs (the tables' \"not ours\" column is CPU used by other processes)", load, runtime.NumCPU())
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
		"-tags", "pprof", "-trimpath", "-ldflags", "-X "+module+".Version="+b.servers.Version)
	if err != nil {
		return err
	}
	addr, err := vaultdev.FreeAddr()
	if err != nil {
		return err
	}
	b.servers.Plugin = bin
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
	if _, err := b.main.dev.Register(floorName, floor, b.servers.Version, nil); err != nil {
		return err
	}
	server, err := vaultdev.IdentifyServer(b.servers.Vault)
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
