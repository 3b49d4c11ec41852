package e2e

import (
	"strings"
	"testing"
)

// TestOpenBao runs the engine on a single OpenBao server as a new user
// would: the same binary registered by SHA-256 with bao, then the config,
// minting, narrowing, revoking and the help.
func TestOpenBao(t *testing.T) {
	t.Parallel()
	emu := StartEmulator(t)
	v := startDev(t, requireOpenBao(t))
	v.MountGitHub(t, emu)
	v.WriteRoles(t, emu)

	requireRegisteredBuildRuns(t, v)
	requireConfigRead(t, v, emu)
	requireServes(t, v, v, emu)
	if n := emu.LiveTokens(); n != 0 {
		t.Errorf("%d tokens live at GitHub after every lease was revoked; want none", n)
	}
	help := v.MustCLI(t, "path-help", "github/token/ci")
	if !strings.Contains(help, "Mint a GitHub App installation token for a role") || !strings.Contains(help, "repositories") {
		t.Errorf("bao path-help github/token/ci lacks the path's synopsis or its fields:\n%s", help)
	}
}
