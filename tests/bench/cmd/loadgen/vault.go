package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// vault is a dev server with the engine registered, and the process
// running the engine's plugin.
type vault struct {
	dev       *vaultdev.Dev
	api       *api.Client
	pluginPID int
}

// startVault starts a dev server in the run's directory name.
func (b *bench) startVault(name, logLevel string, pluginEnv []string) (*vault, error) {
	c := b.servers
	c.Dir, c.LogLevel, c.PluginEnv = filepath.Join(b.work, name), logLevel, pluginEnv
	dev, err := vaultdev.StartDev(c)
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
