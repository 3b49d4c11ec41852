package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

// ciPolicy lets its holder mint tokens for role ci and nothing else.
const ciPolicy = `path "github/token/ci" {
  capabilities = ["read"]
}
`

// setup starts an emulator and a dev Vault with the engine enabled at
// github/, configured for the emulator, with the standard roles.
func setup(t *testing.T) (*Vault, *Emulator) {
	t.Helper()
	emu := StartEmulator(t)
	v := StartDevVault(t)
	v.MountGitHub(t, emu)
	v.WriteRoles(t, emu)
	return v, emu
}

// MountGitHub enables the engine at github/ and configures the App through
// the CLI, reading the key from its file as an operator would. enableFlags
// go to `vault secrets enable`, such as -plugin-version=v0.1.0.
func (v *Vault) MountGitHub(t *testing.T, emu *Emulator, enableFlags ...string) {
	t.Helper()
	enable := append(append([]string{"secrets", "enable", "-path=github"}, enableFlags...), pluginName)
	v.MustCLI(t, enable...)
	v.MustCLI(t, "write", "github/config", fmt.Sprintf("app_id=%d", appID),
		"private_key=@"+emu.KeyFile, "base_url="+emu.URL)
}

// WriteRoles creates the standard roles: ci, narrowed to two repositories
// and read access, with its installation found by owner; and admin, the
// whole org installation by ID.
func (v *Vault) WriteRoles(t *testing.T, emu *Emulator) {
	t.Helper()
	v.MustCLI(t, "write", "github/roles/ci", "owner=acme", "repositories=api", "repositories=web",
		"permissions=contents=read", "permissions=metadata=read")
	v.MustCLI(t, "write", "github/roles/admin", fmt.Sprintf("installation_id=%d", emu.Sample.OrgInstallationID))
}

// CIToken writes the ci policy and returns a new Vault token holding it.
func (v *Vault) CIToken(t *testing.T) string {
	t.Helper()
	v.MustCLI(t, "policy", "write", "ci", v.writeFile(t, "ci-policy.hcl", ciPolicy))
	return v.MustCLI(t, "token", "create", "-policy=ci", "-field=token")
}

// Minted is a minted GitHub token as Vault returned it.
type Minted struct {
	LeaseID       string         `json:"-"`
	LeaseDuration int            `json:"-"`
	Renewable     bool           `json:"-"`
	Data          map[string]any `json:"-"` // the raw response data

	Token               string            `json:"token"`
	ExpiresAt           string            `json:"expires_at"`
	InstallationID      int64             `json:"installation_id"`
	Permissions         map[string]string `json:"permissions"`
	RepositorySelection string            `json:"repository_selection"`
	Repositories        []string          `json:"repositories"`
}

// Mint runs a CLI command that mints a token (such as "read
// github/token/ci") as the given Vault token.
func (v *Vault) Mint(t *testing.T, token string, args ...string) Minted {
	t.Helper()
	return minted(t, v.ReadSecret(t, token, args...))
}

func minted(t *testing.T, s *api.Secret) Minted {
	t.Helper()
	m := Minted{LeaseID: s.LeaseID, LeaseDuration: s.LeaseDuration, Renewable: s.Renewable, Data: s.Data}
	raw, err := json.Marshal(s.Data)
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil || m.Token == "" || m.LeaseID == "" {
		t.Fatalf("the reply is not a token lease (lease %q, decode error %v)", m.LeaseID, err)
	}
	return m
}

func decodeJSON(t *testing.T, text string, into any) {
	t.Helper()
	if err := json.Unmarshal([]byte(text), into); err != nil {
		t.Fatalf("decoding %T: %v", into, err)
	}
}

// stripRequestID drops the request_id line of a CLI JSON reply, the one
// part that differs between two reads of the same data.
func stripRequestID(reply string) string {
	lines := strings.Split(reply, "\n")
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool {
		return strings.Contains(l, `"request_id":`)
	}), "\n")
}
