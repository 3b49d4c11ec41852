package githubapp

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
)

// leaseFixtures holds, per released version, the lease InternalData that
// version hands Vault to store (testdata/leases/README.md says how each was
// captured). Vault keeps a lease for its whole TTL and across plugin
// upgrades, so the version that revokes it may be any later one: every
// fixture must stay revocable forever. A release adds its file; none is
// ever edited.
const leaseFixtures = "testdata/leases"

// Placeholders in the fixtures for the values that must be live for the
// revocation to reach the emulator.
const (
	placeholderToken     = "{{token}}"
	placeholderBaseURL   = "{{base_url}}"
	placeholderExpiresAt = "{{expires_at}}"
)

// TestLeaseCompat_EveryReleasedFormatRevokes revokes a live token through
// each stored lease format and checks at the emulator that it is dead. It
// relies only on the fixture and the backend's RevokeOperation, so it pins
// the contract, not today's lease struct.
func TestLeaseCompat_EveryReleasedFormatRevokes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(leaseFixtures, "v*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no lease fixtures in %s; the test would pin nothing", leaseFixtures)
	}
	// Vault hands InternalData to a plugin after two JSON round trips that
	// type numbers differently: Vault core decodes the stored lease with
	// UseNumber (json.Number), and the plugin's gRPC layer decodes the
	// request it receives with plain encoding/json (float64). A builtin
	// backend sees the first, an external plugin such as this one the
	// second; either must work.
	decoders := []struct {
		name   string
		decode func([]byte) (map[string]any, error)
	}{
		{"as Vault core stores it (json.Number)", func(b []byte) (map[string]any, error) {
			var m map[string]any
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			return m, d.Decode(&m)
		}},
		{"as the plugin's gRPC layer delivers it (float64)", func(b []byte) (map[string]any, error) {
			var m map[string]any
			return m, json.Unmarshal(b, &m)
		}},
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range decoders {
			t.Run(filepath.Base(file)+"/"+d.name, func(t *testing.T) {
				e := newRoleEnv(t, nil)
				minted := e.mint("ci")
				token := minted.Data[fieldToken].(string)
				data, err := d.decode(fillLeaseFixture(t, raw, map[string]string{
					placeholderToken:     token,
					placeholderBaseURL:   e.emulator.URL(),
					placeholderExpiresAt: minted.Data[fieldExpiresAt].(string),
				}))
				if err != nil {
					t.Fatalf("%s is not a JSON object: %v", file, err)
				}

				// A backend that never saw the lease, on the same storage:
				// the later version after an upgrade or a restart.
				b := newBackendOn(t, e.storage)
				resp, err := b.HandleRequest(context.Background(), &logical.Request{
					Operation: logical.RevokeOperation,
					Path:      "token/ci",
					Secret:    &logical.Secret{LeaseID: "github/token/ci/fixture", InternalData: data},
					Storage:   e.storage,
				})
				requireOK(t, resp, err)
				info, ok := e.emulator.Token(token)
				if !ok || !info.Revoked {
					t.Fatalf("revoking a lease stored as %s left its token live at GitHub", filepath.Base(file))
				}
			})
		}
	}
}

// fillLeaseFixture replaces the fixture's placeholders with live values,
// JSON-escaped. It fails on a fixture without a token placeholder, which
// could not prove a revocation, and on an unknown placeholder.
func fillLeaseFixture(t *testing.T, raw []byte, values map[string]string) []byte {
	t.Helper()
	if !bytes.Contains(raw, []byte(`"`+placeholderToken+`"`)) {
		t.Fatalf("the fixture has no %q value to put a live token in", placeholderToken)
	}
	text := string(raw)
	for placeholder, value := range values {
		quoted, err := json.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, `"`+placeholder+`"`, string(quoted))
	}
	if i := strings.Index(text, "{{"); i >= 0 {
		t.Fatalf("the fixture has a placeholder the test does not fill, at byte %d", i)
	}
	return []byte(text)
}

// newBackendOn starts a fresh backend over existing storage, with no state
// cached from the requests that wrote it.
func newBackendOn(t *testing.T, storage logical.Storage) logical.Backend {
	t.Helper()
	conf := logical.TestBackendConfig()
	conf.StorageView = storage
	system := logical.TestSystemView()
	system.PluginEnvironment = &logical.PluginEnvironment{VaultVersion: "1.21.0"}
	conf.System = system
	conf.Logger = hclog.NewNullLogger()
	b, err := Factory(context.Background(), conf)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
