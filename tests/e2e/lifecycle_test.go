package e2e

import (
	"slices"
	"testing"
)

func TestPluginLifecycle(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	before := v.Mint(t, v.Token, "read", "github/token/ci")
	oldPIDs := v.PluginPIDs(t)
	if len(oldPIDs) == 0 {
		t.Fatal("no plugin process is running after minting")
	}

	t.Run("reload restarts the plugin and minting still works", func(t *testing.T) {
		v.MustCLI(t, "plugin", "reload", "-plugin="+pluginName)
		m := v.Mint(t, v.Token, "read", "github/token/ci")
		emu.RequireLive(t, m.Token)
		newPIDs := v.PluginPIDs(t)
		if len(newPIDs) == 0 || slices.ContainsFunc(newPIDs, func(pid int) bool { return slices.Contains(oldPIDs, pid) }) {
			t.Errorf("plugin processes %v before the reload, %v after; want new ones only", oldPIDs, newPIDs)
		}
		// The new process must revoke what the old one minted.
		v.MustCLI(t, "lease", "revoke", before.LeaseID)
		emu.WaitRevoked(t, before.Token, revokeTimeout)
	})

	t.Run("disabling the engine revokes every outstanding token", func(t *testing.T) {
		tokens := []string{
			v.Mint(t, v.Token, "read", "github/token/ci").Token,
			v.Mint(t, v.Token, "read", "github/token/admin").Token,
		}
		// Unlike `vault lease revoke`, disabling revokes synchronously:
		// the mount is gone only once its leases are.
		v.MustCLI(t, "secrets", "disable", "github/")
		for _, tok := range tokens {
			emu.RequireRevoked(t, tok)
		}
		if n := emu.LiveTokens(); n != 0 {
			t.Errorf("%d tokens are still live at GitHub after the engine was disabled", n)
		}
	})
}

func TestRestartKeepsState(t *testing.T) {
	t.Parallel()
	emu := StartEmulator(t)
	v := StartFileVault(t)
	v.MountGitHub(t, emu)
	v.WriteRoles(t, emu)
	config := v.MustCLI(t, "read", "-format=json", "github/config")
	role := v.MustCLI(t, "read", "-format=json", "github/roles/ci")
	old := v.Mint(t, v.Token, "read", "github/token/ci")

	v.Restart(t)

	if got := v.MustCLI(t, "read", "-format=json", "github/config"); stripRequestID(got) != stripRequestID(config) {
		t.Errorf("the config changed across the restart:\n%s\nwant\n%s", got, config)
	}
	if got := v.MustCLI(t, "read", "-format=json", "github/roles/ci"); stripRequestID(got) != stripRequestID(role) {
		t.Errorf("role ci changed across the restart:\n%s\nwant\n%s", got, role)
	}
	wantRoleList(t, v, "admin", "ci")

	m := v.Mint(t, v.Token, "read", "github/token/ci")
	wantMinted(t, emu, m, emu.Sample.OrgInstallationID, []string{"api", "web"}, ciPermissions)

	// The lease outlived the process that created it; revoking it must
	// still reach GitHub.
	emu.RequireLive(t, old.Token)
	v.MustCLI(t, "lease", "revoke", old.LeaseID)
	emu.WaitRevoked(t, old.Token, revokeTimeout)
	emu.RequireLive(t, m.Token)
}
