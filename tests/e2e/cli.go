package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// Result is what one vault CLI invocation produced.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// RunAs runs the vault CLI with VAULT_ADDR pointing at this server and
// VAULT_TOKEN set to token ("" for none).
func (v *Vault) RunAs(t *testing.T, token string, args ...string) Result {
	t.Helper()
	return v.run(t, token, nil, args)
}

func (v *Vault) run(t *testing.T, token string, env []string, args []string) Result {
	t.Helper()
	env = append(vaultdev.CleanEnv(v.path("home"), "VAULT_ADDR="+v.Addr, "VAULT_TOKEN="+token), env...)
	if v.caCert != "" {
		env = append(env, "VAULT_CACERT="+v.caCert)
	}
	return runVault(t, v.bins.server.Bin, env, args...)
}

// CLI runs the vault CLI as root.
func (v *Vault) CLI(t *testing.T, args ...string) Result {
	t.Helper()
	return v.RunAs(t, v.Token, args...)
}

// MustRunAs is RunAs that fails the test unless the command succeeds, and
// returns its stdout. The failure quotes stderr only: stdout may hold
// secrets.
func (v *Vault) MustRunAs(t *testing.T, token string, args ...string) string {
	t.Helper()
	return mustSucceed(t, v.RunAs(t, token, args...), args).Stdout
}

// MustCLI is MustRunAs as root.
func (v *Vault) MustCLI(t *testing.T, args ...string) string {
	t.Helper()
	return v.MustRunAs(t, v.Token, args...)
}

// ReadSecret runs a CLI command as token with JSON output and decodes the
// secret it prints.
func (v *Vault) ReadSecret(t *testing.T, token string, args ...string) *api.Secret {
	t.Helper()
	r := mustSucceed(t, v.run(t, token, []string{"VAULT_FORMAT=json"}, args), args)
	secret, err := api.ParseSecret(strings.NewReader(r.Stdout))
	if err != nil || secret == nil {
		t.Fatalf("vault %s: unreadable output: %v", redactArgs(args), err)
	}
	return secret
}

// Client returns an HTTP API client for this server acting as token.
func (v *Vault) Client(t *testing.T, token string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = v.Addr
	cfg.MaxRetries = 0
	if v.caCert != "" {
		if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: v.caCert}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// NewClient picks VAULT_TOKEN and VAULT_NAMESPACE up from the
	// developer's environment.
	c.SetToken(token)
	c.ClearNamespace()
	return c
}

// runVault runs a vault binary command and collects its output.
func runVault(t *testing.T, bin string, env []string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return runCommand(t, cmd, "vault "+redactArgs(args))
}

func mustSucceed(t *testing.T, r Result, args []string) Result {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("vault %s: exit %d: %s", redactArgs(args), r.Code, r.Stderr)
	}
	return r
}

// redactArgs renders a command line for a failure message without values
// that may be secret: unseal keys are the only bare arguments that are.
func redactArgs(args []string) string {
	if len(args) >= 2 && args[0] == "operator" && args[1] == "unseal" {
		return "operator unseal <key>"
	}
	return strings.Join(args, " ")
}
