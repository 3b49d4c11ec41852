package main

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// root is the repository's root, from this package's directory.
var root = filepath.Join("..", "..", "..", "..")

// The command sees a Vault with the plugin registered and the emulator's
// sample App, through the variables it is given, and vaultdev exits with
// its status.
func TestCommandRunsAgainstVaultAndTheEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Vault server; skipped with -short")
	}
	vault := cmp.Or(os.Getenv("VAULT_BIN"), filepath.Join(root, ".tools", "bin", "vault"))
	plugin := cmp.Or(os.Getenv("PLUGIN_BIN"), filepath.Join(root, "bin", vaultdev.PluginName))
	version, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "installations")
	script := `set -e
vault secrets enable -path=github "$PLUGIN_NAME" >/dev/null
vault write github/config app_id="$APP_ID" private_key=@"$APP_KEY_FILE" base_url="$GHEMU_URL" >/dev/null
vault list -format=json github/installations >"$1"
test -d "$WORK"
exit 7`
	status, err := run(context.Background(), []string{"-vault", vault, "-plugin", plugin, "-version", strings.TrimSpace(string(version)),
		"--", "sh", "-c", script, "sh", out})
	if err != nil || status != 7 {
		t.Fatalf("status %d, %v; want the command's 7 (this test needs Vault and the built plugin: "+
			"run `make test`, or set VAULT_BIN and PLUGIN_BIN, or use -short to skip it)", status, err)
	}
	listed, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(listed), `"1001"`) {
		t.Fatalf("installations listed through Vault: %s (%v); want the sample's 1001", listed, err)
	}
}
