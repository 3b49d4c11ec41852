package e2e

import (
	"testing"
)

// TestUpgradeInPlace moves a mount from one plugin version to the next and
// back while Vault keeps running, the way an operator upgrades and rolls
// back: both versions registered side by side, `vault secrets tune
// -plugin-version`, then `vault plugin reload`.
func TestUpgradeInPlace(t *testing.T) {
	t.Parallel()
	const oldVersion, newVersion = "v0.1.0", "v0.2.0"
	v := StartDevVault(t) // first: it skips the test with -short
	emu := StartEmulator(t)
	builds := buildPluginVersions(t, oldVersion, newVersion)
	oldExe := v.InstallPluginVersion(t, builds[oldVersion])
	newExe := v.InstallPluginVersion(t, builds[newVersion])

	v.MountGitHub(t, emu, "-plugin-version="+oldVersion)
	v.WriteRoles(t, emu)
	requireRunning(t, v, builds[oldVersion])

	// Leases the old version minted, to be revoked by the new one.
	oldCI := v.Mint(t, v.Token, "read", "github/token/ci")
	requireMintedBy(t, emu, oldVersion)
	oldAdmin := v.Mint(t, v.Token, "read", "github/token/admin")
	requireMintedBy(t, emu, oldVersion)
	state := engineState(t, v)

	var newCI Minted
	ok := t.Run("tune sets the version, reload starts it", func(t *testing.T) {
		v.MustCLI(t, "secrets", "tune", "-plugin-version="+newVersion, "github/")
		// Tuning only records the version: the running plugin is the old
		// one until a reload, which is why the upgrade needs both steps.
		if m := v.Mount(t, "github/"); m.PluginVersion != newVersion || m.RunningVersion != oldVersion {
			t.Errorf("after tune: plugin_version %q, running_plugin_version %q; want %q, still %q",
				m.PluginVersion, m.RunningVersion, newVersion, oldVersion)
		}
		v.MustCLI(t, "plugin", "reload", "-type=secret", "-plugin="+pluginName)
		requireRunning(t, v, builds[newVersion])
		waitNoProcess(t, oldExe, stopTimeout)

		newCI = v.Mint(t, v.Token, "read", "github/token/ci")
		requireMintedBy(t, emu, newVersion)
		wantMinted(t, emu, newCI, emu.Sample.OrgInstallationID, []string{"api", "web"}, ciPermissions)
		if len(pidsOf(t, newExe)) == 0 {
			t.Errorf("no process runs %s after minting through it", newExe)
		}
	})
	if !ok {
		return
	}

	t.Run("config and roles carry over", func(t *testing.T) {
		requireEngineState(t, v, state)
	})

	t.Run("the new version revokes the old version's leases", func(t *testing.T) {
		for _, m := range []Minted{oldCI, oldAdmin} {
			revokeBy(t, v, emu, m, newVersion)
		}
	})

	ok = t.Run("rolling back", func(t *testing.T) {
		v.MustCLI(t, "secrets", "tune", "-plugin-version="+oldVersion, "github/")
		v.MustCLI(t, "plugin", "reload", "-type=secret", "-plugin="+pluginName)
		requireRunning(t, v, builds[oldVersion])
		waitNoProcess(t, newExe, stopTimeout)
		requireEngineState(t, v, state)

		rolledBack := v.Mint(t, v.Token, "read", "github/token/ci")
		requireMintedBy(t, emu, oldVersion)
		wantMinted(t, emu, rolledBack, emu.Sample.OrgInstallationID, []string{"api", "web"}, ciPermissions)
		// The old version revokes what the new one minted as well as its own.
		revokeBy(t, v, emu, newCI, oldVersion)
		revokeBy(t, v, emu, rolledBack, oldVersion)
	})
	if ok {
		if n := emu.LiveTokens(); n != 0 {
			t.Errorf("%d tokens are still live at GitHub after every lease was revoked", n)
		}
	}
}

// requireRunning checks the version and binary Vault reports running at
// github/, as `vault secrets list -detailed` shows them to an operator.
func requireRunning(t *testing.T, v *Vault, b pluginBuild) {
	t.Helper()
	m := v.Mount(t, "github/")
	if m.PluginVersion != b.Version || m.RunningVersion != b.Version || m.RunningSha256 != b.SHA256 {
		t.Fatalf("github/: plugin_version %q, running_plugin_version %q, running_sha256 %s; want %q running the build %s",
			m.PluginVersion, m.RunningVersion, m.RunningSha256, b.Version, b.SHA256)
	}
}

// requireMintedBy checks that the last token was minted by the given
// version: the plugin names its version in its User-Agent.
func requireMintedBy(t *testing.T, emu *Emulator, version string) {
	t.Helper()
	if ua := emu.MintUserAgent(t); !fromVersion(ua, version) {
		t.Errorf("the token was minted with User-Agent %q; want the plugin's %s", ua, version)
	}
}

// revokeBy revokes a lease and checks at GitHub that the token is dead and
// that the given plugin version revoked it. -sync makes a failed
// revocation fail the command rather than leave it to Vault's retries.
func revokeBy(t *testing.T, v *Vault, emu *Emulator, m Minted, version string) {
	t.Helper()
	emu.RequireLive(t, m.Token)
	v.MustCLI(t, "lease", "revoke", "-sync", m.LeaseID)
	emu.RequireRevoked(t, m.Token)
	agents := emu.RevokeUserAgents(t, m.Token)
	if len(agents) != 1 || !fromVersion(agents[0], version) {
		t.Errorf("GitHub received revocations from %q; want one from the plugin's %s", agents, version)
	}
}

// engineStateSnapshot is what an upgrade must keep: the App config as read
// back and every role.
type engineStateSnapshot struct {
	config string
	roles  map[string]string
}

func engineState(t *testing.T, v *Vault) engineStateSnapshot {
	t.Helper()
	s := engineStateSnapshot{
		config: stripRequestID(v.MustCLI(t, "read", "-format=json", "github/config")),
		roles:  map[string]string{},
	}
	for _, name := range []string{"admin", "ci"} {
		s.roles[name] = stripRequestID(v.MustCLI(t, "read", "-format=json", "github/roles/"+name))
	}
	return s
}

func requireEngineState(t *testing.T, v *Vault, want engineStateSnapshot) {
	t.Helper()
	got := engineState(t, v)
	if got.config != want.config {
		t.Errorf("the config changed:\n%s\nwant\n%s", got.config, want.config)
	}
	for name, role := range want.roles {
		if got.roles[name] != role {
			t.Errorf("role %s changed:\n%s\nwant\n%s", name, got.roles[name], role)
		}
	}
	wantRoleList(t, v, "admin", "ci")
}
