package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// versionVar is the variable `make build VERSION=...` stamps; the plugin
// reports it to Vault as its running version and sends it in its
// User-Agent.
const versionVar = "github.com/vault-github-app/vault-plugin-secrets-github-app.Version"

// buildTimeout bounds building the plugin twice; generous because the
// test may start with a cold build cache on two busy cores.
const buildTimeout = 10 * time.Minute

// pluginBuild is one version of the plugin, built from this source tree.
type pluginBuild struct {
	Version string
	Path    string // the binary, in the test's temp dir
	SHA256  string
}

// buildPluginVersions builds this source tree once per version, stamped as
// `make build VERSION=...` stamps it. Two builds of one source stand in for
// two releases: what differs between them, the version the plugin reports,
// is all Vault's versioning looks at.
func buildPluginVersions(t *testing.T, versions ...string) map[string]pluginBuild {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the upgrade test builds the plugin and needs the go command: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()

	builds := make(map[string]pluginBuild, len(versions))
	errs := make([]error, len(versions))
	var wg sync.WaitGroup
	for i, version := range versions {
		out := filepath.Join(dir, pluginName+"-"+version)
		builds[version] = pluginBuild{Version: version, Path: out}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath",
				"-ldflags", "-X "+versionVar+"="+version, "-o", out, "./cmd/"+pluginName)
			cmd.Dir = root
			if output, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("building the plugin as %s: %w\n%s", version, err, output)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for version, b := range builds {
		if b.SHA256, err = vaultdev.SHA256File(b.Path); err != nil {
			t.Fatal(err)
		}
		builds[version] = b
	}
	return builds
}

// InstallPluginVersion puts a build into the plugin directory under a file
// name of its own, so that versions sit side by side as an operator keeps
// them, and registers it in the catalog by SHA-256 under the plugin's one
// name. It returns the installed file's path.
func (v *Vault) InstallPluginVersion(t *testing.T, b pluginBuild) string {
	t.Helper()
	file := pluginName + "-" + b.Version
	sha, err := vaultdev.InstallPlugin(v.dir, file, b.Path)
	if err != nil || sha != b.SHA256 {
		t.Fatalf("installing %s: SHA-256 %s, want %s (%v)", file, sha, b.SHA256, err)
	}
	v.MustCLI(t, vaultdev.RegisterArgs(pluginName, file, sha, b.Version, nil)...)
	return v.path("plugins", file)
}

// Mount returns what `vault secrets list -detailed` reports about a mount,
// including the plugin version it is set to and the one actually running.
func (v *Vault) Mount(t *testing.T, path string) api.MountOutput {
	t.Helper()
	var mounts map[string]api.MountOutput
	if err := json.Unmarshal([]byte(v.MustCLI(t, "secrets", "list", "-detailed", "-format=json")), &mounts); err != nil {
		t.Fatalf("vault secrets list -detailed: unreadable output: %v", err)
	}
	m, ok := mounts[path]
	if !ok {
		t.Fatalf("vault secrets list -detailed does not list %s", path)
	}
	return m
}

// MintUserAgent returns the User-Agent of the most recent token creation
// GitHub received: the plugin names its version there, so it tells which
// version minted the token just returned.
func (g *Emulator) MintUserAgent(t *testing.T) string {
	t.Helper()
	reqs := g.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Route == "POST /app/installations/{installation_id}/access_tokens" {
			return reqs[i].Header.Get("User-Agent")
		}
	}
	t.Fatal("GitHub received no token creation request")
	return ""
}

// RevokeUserAgents returns the User-Agent of every revocation request GitHub
// received for the token, which tells which plugin version revoked it.
func (g *Emulator) RevokeUserAgents(t *testing.T, token string) []string {
	t.Helper()
	var agents []string
	for _, r := range g.Requests() {
		if r.Route != "DELETE /installation/token" {
			continue
		}
		// "Bearer <token>" or "token <token>"; compared, never printed.
		if _, cred, _ := strings.Cut(r.Header.Get("Authorization"), " "); cred == token {
			agents = append(agents, r.Header.Get("User-Agent"))
		}
	}
	return agents
}

// waitNoProcess waits until no process runs the executable at path, such
// as a plugin version Vault has just stopped using.
func waitNoProcess(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pids := pidsOf(t, path)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still runs as %v after %s", filepath.Base(path), pids, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fromVersion reports whether a User-Agent is the one the plugin sends
// when stamped as version (optionally followed by more product tokens).
func fromVersion(userAgent, version string) bool {
	want := pluginName + "/" + version
	return userAgent == want || strings.HasPrefix(userAgent, want+" ")
}
