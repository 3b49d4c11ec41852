package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// TestAgentRendersToken runs Vault Agent as a CI runner would: it logs in
// with a token holding only the ci policy and renders a minted GitHub
// token into a file.
func TestAgentRendersToken(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	agent, rendered := startAgent(t, v, v.CIToken(t))

	token := waitForFile(t, agent, rendered, time.Minute)
	if status, names := emu.Repositories(t, token); status != http.StatusOK || !slices.Equal(names, []string{"api", "web"}) {
		t.Errorf("the rendered token reaches %v (HTTP %d); want role ci's [api web]", names, status)
	}
	if info := emu.TokenInfo(t, token); !info.RepositoriesNamed {
		t.Error("the rendered token was not narrowed to the role's repositories")
	}

	if !agent.Stop(stopTimeout) {
		t.Fatalf("the agent did not exit within %s of SIGTERM", stopTimeout)
	}
	if code := agent.ExitCode(); code != 0 {
		t.Errorf("the agent exited with status %d after SIGTERM; want 0", code)
	}
}

// startAgent runs Vault Agent against v, logged in with the given Vault
// token, with a template that renders a ci token into a file; it returns
// the agent and the file's path. Over TLS the agent trusts v's CA through
// ca_cert, as a production agent would.
func startAgent(t *testing.T, v *Vault, vaultToken string) (*vaultdev.Process, string) {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "vault-token")
	rendered := filepath.Join(dir, "github-token")
	if err := os.WriteFile(tokenFile, []byte(vaultToken), 0o600); err != nil {
		t.Fatal(err)
	}
	caCert := ""
	if v.caCert != "" {
		caCert = fmt.Sprintf("  ca_cert = %q\n", v.caCert)
	}
	config := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(config, fmt.Appendf(nil, `
vault {
  address = %q
%s}
auto_auth {
  method "token_file" {
    config = {
      token_file_path = %q
    }
  }
}
template {
  contents    = "{{ with secret \"github/token/ci\" }}{{ .Data.token }}{{ end }}"
  destination = %q
}
`, v.Addr, caCert, tokenFile, rendered), 0o600); err != nil {
		t.Fatal(err)
	}

	agent := startProcess(t, "Vault Agent", filepath.Join(dir, "agent.log"), v.bins.server.Bin,
		[]string{"agent", "-config=" + config}, vaultdev.CleanEnv(v.path("home")))
	t.Cleanup(func() {
		agent.Kill()
		reportOnFailure(t, agent)
	})
	return agent, rendered
}

// waitForFile waits until a process has written a non-empty file and
// returns its content.
func waitForFile(t *testing.T, p *vaultdev.Process, path string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			return strings.TrimSpace(string(data))
		}
		switch {
		case !p.Running():
			t.Fatalf("%s exited before writing %s", p.Name, path)
		case time.Now().After(deadline):
			t.Fatalf("%s did not write %s within %s", p.Name, path, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
