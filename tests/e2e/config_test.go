package e2e

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestConfigAndRoles(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)

	t.Run("the running plugin is the registered build", func(t *testing.T) {
		requireRegisteredBuildRuns(t, v)
	})

	t.Run("config read shows the key's fingerprint, never the key", func(t *testing.T) {
		requireConfigRead(t, v, emu)
	})

	t.Run("roles CRUD and list", func(t *testing.T) {
		wantRole(t, v, "ci", map[string]any{
			"owner": "acme", "repositories": []any{"api", "web"}, "repository_ids": []any{},
			"permissions": map[string]any{"contents": "read", "metadata": "read"}, "ttl": float64(0),
		})
		// Writes are partial: changing the TTL keeps the scope.
		v.MustCLI(t, "write", "github/roles/ci", "ttl=10m")
		wantRole(t, v, "ci", map[string]any{
			"owner": "acme", "repositories": []any{"api", "web"}, "repository_ids": []any{},
			"permissions": map[string]any{"contents": "read", "metadata": "read"}, "ttl": float64(600),
		})
		v.MustCLI(t, "write", "github/roles/docs", "owner=acme", "repositories=docs")
		wantRoleList(t, v, "admin", "ci", "docs")

		v.MustCLI(t, "delete", "github/roles/docs")
		wantRoleList(t, v, "admin", "ci")
		if r := v.CLI(t, "read", "github/roles/docs"); r.Code == 0 {
			t.Errorf("reading a deleted role succeeded: %s", r.Stdout)
		}

		r := v.CLI(t, "write", "github/roles/bad", "owner=acme", "installation_id=7")
		if r.Code == 0 || !strings.Contains(r.Stderr, "exactly one of installation_id or owner") {
			t.Errorf("a role with both owner and installation_id: exit %d, %q; want a refusal naming the rule", r.Code, r.Stderr)
		}
	})

	t.Run("path-help explains the token path", func(t *testing.T) {
		out := v.MustCLI(t, "path-help", "github/token/x")
		for _, want := range []string{
			"Mint a GitHub App installation token for a role, as a Vault lease.",
			"repositories", "permissions", "Leases cannot be renewed",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("vault path-help github/token/x lacks %q", want)
			}
		}
	})

	t.Run("OpenAPI names every operation and hides the key", func(t *testing.T) {
		var spec struct {
			Data struct {
				Paths      map[string]map[string]json.RawMessage
				Components struct {
					Schemas map[string]struct {
						Properties map[string]struct {
							DisplayAttrs struct{ Sensitive bool } `json:"x-vault-displayAttrs"`
						}
					}
				}
			}
		}
		decodeJSON(t, v.MustCLI(t, "read", "-format=json", "sys/internal/specs/openapi"), &spec)

		var ids []string
		for path, ops := range spec.Data.Paths {
			if !strings.HasPrefix(path, "/github/") {
				continue
			}
			for _, raw := range ops {
				var op struct {
					OperationID string `json:"operationId"`
				}
				if json.Unmarshal(raw, &op) == nil && op.OperationID != "" {
					ids = append(ids, op.OperationID)
				}
			}
		}
		for _, id := range ids {
			if !strings.HasPrefix(id, "github-app-") {
				t.Errorf("operation ID %q lacks the github-app- prefix", id)
			}
		}
		for _, want := range []string{"github-app-configure", "github-app-write-role", "github-app-list-roles",
			"github-app-generate-token", "github-app-generate-narrowed-token"} {
			if !slices.Contains(ids, want) {
				t.Errorf("the spec lacks operation %q; has %v", want, ids)
			}
		}

		// Vault names a request schema after its operation ID. (It drops
		// the $ref from an external plugin's requestBody, so the schema
		// cannot be reached from the path itself.)
		const configSchema = "GithubAppConfigureRequest"
		schema, ok := spec.Data.Components.Schemas[configSchema]
		if !ok {
			t.Fatalf("the spec has no schema %s", configSchema)
		}
		if key, ok := schema.Properties["private_key"]; !ok || !key.DisplayAttrs.Sensitive {
			t.Errorf("the config schema %s does not mark private_key sensitive", configSchema)
		}
	})
}

// requireRegisteredBuildRuns checks that github/ runs this plugin, at the
// version it was registered with.
func requireRegisteredBuildRuns(t *testing.T, v *Vault) {
	t.Helper()
	var mounts map[string]struct {
		Type                 string `json:"type"`
		RunningPluginVersion string `json:"running_plugin_version"`
	}
	decodeJSON(t, v.MustCLI(t, "secrets", "list", "-detailed", "-format=json"), &mounts)
	m := mounts["github/"]
	if m.Type != pluginName || m.RunningPluginVersion != pluginVersion {
		t.Errorf("github/ runs %q version %q; want %q version %q", m.Type, m.RunningPluginVersion, pluginName, pluginVersion)
	}
}

// requireConfigRead checks that reading the config shows what MountGitHub
// wrote and the key's fingerprint, never the key.
func requireConfigRead(t *testing.T, v *Vault, emu *Emulator) {
	t.Helper()
	out := v.MustCLI(t, "read", "-format=json", "github/config")
	keyPEM, err := os.ReadFile(emu.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if body := pemBodyLine(string(keyPEM)); strings.Contains(out, body) || strings.Contains(out, "PRIVATE KEY") {
		t.Fatal("vault read github/config prints the private key")
	}
	var reply struct{ Data map[string]any }
	decodeJSON(t, out, &reply)
	if _, ok := reply.Data["private_key"]; ok {
		t.Error("the config read carries a private_key field")
	}
	want := map[string]any{
		"app_id":                  float64(appID),
		"base_url":                emu.URL,
		"insecure_allow_http":     false,
		"private_key_fingerprint": githubFingerprint(t, &emu.Key.PublicKey),
		"api_version":             "2022-11-28",
		"token_format":            "github",
		// No ceiling: a mount limits nothing until its operator sets one.
		"max_permissions":          map[string]any{},
		"allowed_owners":           []any{},
		"allowed_installation_ids": []any{},
		"require_explicit_scope":   false,
	}
	if !reflect.DeepEqual(reply.Data, want) {
		t.Errorf("config read = %v; want %v", reply.Data, want)
	}
}

// githubFingerprint computes a key's fingerprint the way GitHub displays it
// on the App's settings page.
func githubFingerprint(t *testing.T, pub *rsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.StdEncoding.EncodeToString(sum[:])
}

// pemBodyLine returns a line of a PEM block's base64 body: if it appears
// somewhere, the key leaked.
func pemBodyLine(pemText string) string {
	return strings.Split(pemText, "\n")[1]
}

func wantRole(t *testing.T, v *Vault, name string, want map[string]any) {
	t.Helper()
	var reply struct{ Data map[string]any }
	decodeJSON(t, v.MustCLI(t, "read", "-format=json", "github/roles/"+name), &reply)
	if !reflect.DeepEqual(reply.Data, want) {
		t.Errorf("role %s = %v; want %v", name, reply.Data, want)
	}
}

func wantRoleList(t *testing.T, v *Vault, names ...string) {
	t.Helper()
	var got []string
	decodeJSON(t, v.MustCLI(t, "list", "-format=json", "github/roles"), &got)
	if !slices.Equal(got, names) {
		t.Errorf("vault list github/roles = %v; want %v", got, names)
	}
}
