// Command vaultdev runs a command against a Vault dev server with the
// plugin registered by SHA-256 (through internal/vaultdev, as the
// end-to-end tests start Vault) and an emulated GitHub with the sample App
// installed on organisation acme, then stops both. `make demo` runs
// scripts/demo.sh in it; `go run ./internal/vaultdev/cmd/vaultdev -- bash`
// gives a shell.
//
//	vaultdev [-vault BIN] [-plugin BIN] [-version V] [-log-level L] -- COMMAND [ARG...]
//
// COMMAND runs with VAULT_ADDR and VAULT_TOKEN (the root token) set, the
// vault binary's directory first in PATH, and:
//
//	PLUGIN_NAME, PLUGIN_VERSION, PLUGIN_SHA256  the registered plugin
//	GHEMU_URL                                   the emulator
//	APP_ID, ORG_INSTALLATION_ID                 its sample App, installed on acme
//	APP_KEY_FILE                                the App's private key (PEM)
//	WORK                                        a scratch directory, removed afterwards
//
// vaultdev exits with COMMAND's status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// The sample App's IDs, as GitHub would show them.
const (
	appID    = 1234
	clientID = "Iv1.demo0123456789ab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	status, err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "vaultdev:", err)
	}
	os.Exit(status)
}

// run returns COMMAND's exit status, or 1 with the error that kept it from
// running.
func run(ctx context.Context, args []string) (int, error) {
	var c vaultdev.DevConfig
	fs := flag.NewFlagSet("vaultdev", flag.ContinueOnError)
	c.Flags(fs)
	fs.StringVar(&c.LogLevel, "log-level", "info", "Vault's log level")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() == 0 {
		return 2, errors.New("no command: vaultdev [flags] -- COMMAND [ARG...]")
	}
	if err := c.CheckFlags(); err != nil {
		return 1, err
	}

	work, err := os.MkdirTemp("", "github-app-dev.")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(work)
	env, stop, err := start(c, work)
	defer stop()
	if err != nil {
		return 1, err
	}
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	var exit *exec.ExitError
	if err := cmd.Run(); errors.As(err, &exit) {
		return exit.ExitCode(), nil
	} else if err != nil {
		return 1, err
	}
	return 0, nil
}

// start starts the emulator and the dev server in work, and returns
// COMMAND's environment and what stops them.
func start(c vaultdev.DevConfig, work string) (env []string, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	key, err := testkeys.New()
	if err != nil {
		return nil, stop, err
	}
	keyFile := filepath.Join(work, "app.pem")
	if err := os.WriteFile(keyFile, testkeys.PKCS1PEM(key), 0o600); err != nil {
		return nil, stop, err
	}
	emu := ghemu.New()
	sample := emu.SeedSample(appID, clientID, &key.PublicKey)
	emuURL, err := emu.Start("127.0.0.1:0")
	if err != nil {
		return nil, stop, err
	}
	stops = append(stops, emu.Close)
	c.Dir = filepath.Join(work, "vault")
	dev, err := vaultdev.StartDev(c)
	if err != nil {
		return nil, stop, err
	}
	stops = append(stops, dev.Process.Kill)
	env = vaultdev.CleanEnv(os.Getenv("HOME"),
		"PATH="+filepath.Dir(c.Vault)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"VAULT_ADDR="+dev.Addr, "VAULT_TOKEN="+dev.Token,
		"PLUGIN_NAME="+vaultdev.PluginName, "PLUGIN_VERSION="+c.Version, "PLUGIN_SHA256="+dev.PluginSHA256,
		"GHEMU_URL="+emuURL, "APP_ID="+strconv.Itoa(appID),
		"ORG_INSTALLATION_ID="+strconv.FormatInt(sample.OrgInstallationID, 10),
		"APP_KEY_FILE="+keyFile, "WORK="+work)
	return env, stop, nil
}
