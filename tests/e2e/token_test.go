package e2e

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// ciPermissions is the scope WriteRoles gives role ci.
var ciPermissions = map[string]string{"contents": "read", "metadata": "read"}

func TestMintTokens(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)

	t.Run("read mints the role's scope", func(t *testing.T) {
		m := v.Mint(t, v.Token, "read", "github/token/ci")
		for _, field := range []string{"token", "expires_at", "installation_id", "permissions", "repository_selection", "repositories"} {
			if _, ok := m.Data[field]; !ok {
				t.Errorf("the reply lacks %s", field)
			}
		}
		// owner=acme must have been resolved to the org's installation.
		wantMinted(t, emu, m, emu.Sample.OrgInstallationID, []string{"api", "web"}, ciPermissions)
	})

	t.Run("write narrows to one repository", func(t *testing.T) {
		m := v.Mint(t, v.Token, "write", "github/token/ci", "repositories=api")
		wantMinted(t, emu, m, emu.Sample.OrgInstallationID, []string{"api"}, ciPermissions)

		m = v.Mint(t, v.Token, "write", "github/token/ci", "permissions=contents=read")
		wantMinted(t, emu, m, emu.Sample.OrgInstallationID, []string{"api", "web"}, map[string]string{"contents": "read"})
	})

	t.Run("narrowing cannot widen", func(t *testing.T) {
		before := emu.Count(http.MethodPost, "/app/installations/")
		for _, arg := range []string{"repositories=docs", "permissions=contents=write"} {
			r := v.CLI(t, "write", "github/token/ci", arg)
			if r.Code == 0 || !strings.Contains(r.Stderr, `role "ci"`) {
				t.Errorf("narrowing with %s: exit %d, %q; want a refusal naming the role", arg, r.Code, r.Stderr)
			}
		}
		if n := emu.Count(http.MethodPost, "/app/installations/") - before; n != 0 {
			t.Errorf("GitHub minted %d tokens for refused requests", n)
		}
	})

	t.Run("a role without scope gets the whole installation", func(t *testing.T) {
		m := v.Mint(t, v.Token, "read", "github/token/admin")
		if len(m.Repositories) != 0 {
			t.Errorf("repositories = %v; want none listed for an unnarrowed token", m.Repositories)
		}
		info := emu.TokenInfo(t, m.Token)
		if want := []string{"api", "web", "docs", "infra"}; !slices.Equal(info.RepositoryNames, want) {
			t.Errorf("GitHub scoped the token to %v; want the installation's %v", info.RepositoryNames, want)
		}
		if len(info.Permissions) != 6 {
			t.Errorf("GitHub granted %v; want all six permissions of the installation", info.Permissions)
		}
	})

	t.Run("API version 2026-03-10 and stateless tokens, then back", func(t *testing.T) {
		for _, c := range []struct {
			config []string
			long   bool
		}{
			{[]string{"api_version=2026-03-10", "token_format=stateless"}, true},
			{[]string{"api_version=2022-11-28", "token_format=classic"}, false},
		} {
			v.MustCLI(t, append([]string{"write", "github/config"}, c.config...)...)
			m := v.Mint(t, v.Token, "read", "github/token/ci")
			wantMinted(t, emu, m, emu.Sample.OrgInstallationID, []string{"api", "web"}, ciPermissions)
			if long := strings.Count(m.Token, ".") == 2 && len(m.Token) > 400; long != c.long {
				t.Errorf("with %v: token of %d characters", c.config, len(m.Token))
			}
			v.MustCLI(t, "lease", "revoke", "-sync", m.LeaseID)
			emu.RequireRevoked(t, m.Token)
		}
	})

	t.Run("every App JWT GitHub received verified", func(t *testing.T) {
		emu.RequireVerifiedJWTs(t)
	})
}

// wantMinted checks a minted token against what Vault was asked for and
// what GitHub actually issued.
func wantMinted(t *testing.T, emu *Emulator, m Minted, installationID int64, repos []string, perms map[string]string) {
	t.Helper()
	if m.InstallationID != installationID || m.RepositorySelection != "selected" ||
		!slices.Equal(m.Repositories, repos) || !maps.Equal(m.Permissions, perms) {
		t.Errorf("Vault replied installation %d, %s repositories %v, permissions %v; want %d, selected %v, %v",
			m.InstallationID, m.RepositorySelection, m.Repositories, m.Permissions, installationID, repos, perms)
	}
	info := emu.TokenInfo(t, m.Token)
	if info.InstallationID != installationID || !slices.Equal(info.RepositoryNames, repos) || !maps.Equal(info.Permissions, perms) {
		t.Errorf("GitHub issued installation %d, repositories %v, permissions %v; want %d, %v, %v",
			info.InstallationID, info.RepositoryNames, info.Permissions, installationID, repos, perms)
	}
	if expires, err := time.Parse(time.RFC3339, m.ExpiresAt); err != nil || !expires.Equal(info.ExpiresAt) {
		t.Errorf("expires_at = %q; want GitHub's %s", m.ExpiresAt, info.ExpiresAt.Format(time.RFC3339))
	}
	if status, names := emu.Repositories(t, m.Token); status != http.StatusOK || !slices.Equal(names, repos) {
		t.Errorf("the token reaches %v (HTTP %d); want %v", names, status, repos)
	}
}

func TestPolicies(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	ci := v.CIToken(t)

	t.Run("the ci policy mints for role ci", func(t *testing.T) {
		emu.RequireLive(t, v.Mint(t, ci, "read", "github/token/ci").Token)
		secret, err := v.Client(t, ci).Logical().Read("github/token/ci")
		if err != nil {
			t.Fatalf("HTTP API read github/token/ci: %v", err)
		}
		emu.RequireLive(t, minted(t, secret).Token)
	})

	mintsBefore := emu.Count(http.MethodPost, "/app/installations/")
	for _, path := range []string{"github/token/admin", "github/config", "github/roles/ci"} {
		t.Run("denied "+path, func(t *testing.T) {
			r := v.RunAs(t, ci, "read", path)
			if r.Code != 2 || !strings.Contains(r.Stderr, "permission denied") || !strings.Contains(r.Stderr, "Code: 403") {
				t.Errorf("vault read %s: exit %d, %q; want exit 2 and 403 permission denied", path, r.Code, r.Stderr)
			}
			_, err := v.Client(t, ci).Logical().Read(path)
			var resp *api.ResponseError
			if !errors.As(err, &resp) || resp.StatusCode != http.StatusForbidden {
				t.Errorf("HTTP API read %s: %v; want status 403", path, err)
			}
		})
	}
	if n := emu.Count(http.MethodPost, "/app/installations/") - mintsBefore; n != 0 {
		t.Errorf("GitHub minted %d tokens for denied requests", n)
	}
}

// A pattern role through the real Vault: the token reaches the matching
// repositories, and the calls it costs at GitHub are what the README says.
func TestPatternRole(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	v.MustCLI(t, "write", "github/roles/team", "owner=acme", "repositories=*i*", "permissions=contents=read")
	v.Mint(t, v.Token, "read", "github/token/team") // resolves the owner, lists the repositories

	calls := func(mint func()) int {
		before := emu.Stats().Requests
		mint()
		return emu.Stats().Requests - before
	}
	var m Minted
	n := calls(func() { m = v.Mint(t, v.Token, "read", "github/token/team") })
	if n != 1 {
		t.Errorf("a pattern token with the list cached cost %d GitHub calls, want 1", n)
	}
	t.Logf("pattern role, list cached: %d GitHub call(s) per token", n)
	wantMinted(t, emu, m, emu.Sample.OrgInstallationID, []string{"api", "infra"}, map[string]string{"contents": "read"})

	v.MustCLI(t, "write", "github/roles/team", "repositories=*i*", "repositories=d*") // a role write keeps the cached list
	v.MustCLI(t, "write", "github/config", "app_id=424242")                           // a config write drops it
	if n = calls(func() { m = v.Mint(t, v.Token, "read", "github/token/team") }); n != 5 {
		t.Errorf("a pattern token after a config change cost %d GitHub calls, want 5 (owner, listing token, one page, its revocation, the mint)", n)
	}
	t.Logf("pattern role, uncached after a config change: %d GitHub calls for the token", n)
	wantMinted(t, emu, m, emu.Sample.OrgInstallationID, []string{"api", "docs", "infra"}, map[string]string{"contents": "read"})
	// Of the tokens minted, only those handed out are live: the listing
	// tokens were revoked.
	if live, handed := emu.LiveTokens(), 3; live != handed {
		t.Errorf("%d live tokens at GitHub, want the %d handed out", live, handed)
	}
}
