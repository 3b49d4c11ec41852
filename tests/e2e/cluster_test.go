package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// loadClients is how many clients mint at once during the failover:
// enough to keep requests in flight at every moment, few enough for two
// cores that also run three servers.
const loadClients = 4

// takeoverToMinting bounds how long after a new leader becomes active
// minting works through every surviving server: the election is the
// failover's time; the survivors' own part, learning of the new leader
// (and for a standby serving reads, setting its mounts up again), is
// short.
const takeoverToMinting = 5 * time.Second

// replicationTimeout bounds how far a standby serving reads may lag
// behind a write it forwarded.
const replicationTimeout = 10 * time.Second

// TestCluster runs the engine on a three-server Vault Raft cluster over
// TLS, as production does, and kills the active server under load.
func TestCluster(t *testing.T) {
	t.Parallel()
	testCluster(t, requireBinaries(t))
}

// TestOpenBaoCluster is TestCluster on OpenBao, in its default
// configuration: since 2.5 its standbys serve reads themselves, running
// the plugin, which must leave minting and every write to the active
// server.
func TestOpenBaoCluster(t *testing.T) {
	t.Parallel()
	testCluster(t, requireOpenBao(t))
}

func testCluster(t *testing.T, b binaries) {
	emu := StartEmulator(t)
	c := StartCluster(t, b)
	c.Nodes[0].MountGitHub(t, emu)
	c.Nodes[0].WriteRoles(t, emu)

	// The leader is looked up when needed: on a loaded machine a server
	// starved of CPU for a heartbeat timeout (1 s) can lose leadership.
	for i, v := range c.Nodes {
		t.Run(fmt.Sprintf("node%d writes, mints, narrows, lists roles and revokes", i+1), func(t *testing.T) {
			leader := c.Leader(t)
			if v != leader {
				v.RequireStandby(t) // so that every write and mint below is forwarded
			}
			requireServes(t, v, leader, emu)
		})
	}

	t.Run("the agent renders a token through a standby over TLS", func(t *testing.T) {
		standby := c.Standby(t, c.Leader(t))
		standby.RequireStandby(t)
		agent, rendered := startAgent(t, standby, standby.CIToken(t))
		token := waitForFile(t, agent, rendered, time.Minute)
		if status, names := emu.Repositories(t, token); status != http.StatusOK || !slices.Equal(names, []string{"api", "web"}) {
			t.Errorf("the rendered token reaches %v (HTTP %d); want role ci's [api web]", names, status)
		}
		if !agent.Stop(stopTimeout) {
			t.Errorf("the agent did not exit within %s of SIGTERM", stopTimeout)
		}
	})

	var killed *Vault
	t.Run("failover under load", func(t *testing.T) {
		killed = failOver(t, c, emu)
	})

	t.Run("the old leader rejoins and serves", func(t *testing.T) {
		if killed == nil {
			t.Fatal("no server was killed: the failover did not run")
		}
		killed.start(t)
		killed.unseal(t)
		c.WaitVoters(t, c.Leader(t))
		killed.RequireStandby(t)
		requireServes(t, killed, c.Leader(t), emu)
	})
}

// requireServes rewrites the config, writes, reads and deletes a role,
// mints, narrows, lists roles and revokes through v, whose active server
// is leader, checking each outcome at GitHub, which must mint exactly the
// tokens handed out.
func requireServes(t *testing.T, v, leader *Vault, emu *Emulator) {
	t.Helper()
	requireWrites(t, v, emu)
	mintsBefore := emu.Count(http.MethodPost, "/app/installations/")
	m := v.Mint(t, v.Token, "read", "github/token/ci")
	wantMinted(t, emu, m, emu.Sample.OrgInstallationID, []string{"api", "web"}, ciPermissions)
	narrowed := v.Mint(t, v.Token, "write", "github/token/ci", "repositories=api")
	wantMinted(t, emu, narrowed, emu.Sample.OrgInstallationID, []string{"api"}, ciPermissions)
	if n := emu.Count(http.MethodPost, "/app/installations/") - mintsBefore; n != 2 {
		t.Errorf("GitHub minted %d tokens for the 2 handed out; want one each", n)
	}
	wantRoleList(t, v, "admin", "ci")
	revoker := v
	if v != leader && !standbyRevokes(v.bins.server) {
		requireRevokeRefused(t, v, leader, emu, m)
		revoker = leader
	}
	for _, lease := range []Minted{m, narrowed} {
		revoker.MustCLIThroughElection(t, "lease", "revoke", "-sync", lease.LeaseID)
		emu.RequireRevoked(t, lease.Token)
	}
}

// standbyRevokes reports whether the server's standbys revoke leases, by
// forwarding the revocation to the active server. OpenBao's standbys,
// which serve requests themselves since 2.5, try it themselves and fail
// on their read-only storage until 2.6.2 (openbao/openbao#3766).
func standbyRevokes(s vaultdev.Server) bool {
	return s.Name == vaultdev.Vault || !version.Must(version.NewVersion(s.Version)).LessThan(version.Must(version.NewVersion("2.6.2")))
}

// requireRevokeRefused checks what `lease revoke -sync` does through such
// a standby: the server fails (HTTP 500) after the plugin, run on the
// standby, has revoked the token at GitHub, and the lease is left for the
// active server to revoke.
func requireRevokeRefused(t *testing.T, standby, leader *Vault, emu *Emulator, m Minted) {
	t.Helper()
	r := standby.CLI(t, "lease", "revoke", "-sync", m.LeaseID)
	if r.Code == 0 || !strings.Contains(r.Stderr, "Code: 500") || !strings.Contains(r.Stderr, "storage is read-only") {
		t.Errorf("lease revoke through an %s %s standby: exit %d, %s; want HTTP 500, storage is read-only",
			standby.bins.server.Name, standby.bins.server.Version, r.Code, r.Stderr)
	}
	if !emu.TokenInfo(t, m.Token).Revoked {
		t.Error("the failed revocation through the standby left the token live at GitHub; want it revoked")
	}
	leader.MustCLIThroughElection(t, "lease", "lookup", m.LeaseID)
}

// requireWrites rewrites the config (a partial write of what it holds)
// and writes, reads back and deletes a role, through v. A standby that
// serves reads (OpenBao's) may answer from storage a moment behind the
// active server's write, so the reads back wait for the write.
func requireWrites(t *testing.T, v *Vault, emu *Emulator) {
	t.Helper()
	v.MustCLI(t, "write", "github/config", fmt.Sprintf("app_id=%d", appID))
	v.MustCLI(t, "write", "github/roles/probe", fmt.Sprintf("installation_id=%d", emu.Sample.OrgInstallationID), "repositories=docs")
	var last Result
	waitUntil(t, replicationTimeout, "role probe to read back through "+v.Addr, func() bool {
		last = v.CLI(t, "read", "-field=repositories", "github/roles/probe")
		return last.Code == 0 && strings.TrimSpace(last.Stdout) == "[docs]"
	}, func() string { return fmt.Sprintf("exit %d, %q", last.Code, last.Stdout+last.Stderr) })
	v.MustCLI(t, "delete", "github/roles/probe")
	waitUntil(t, replicationTimeout, "role probe to be gone through "+v.Addr, func() bool {
		last = v.CLI(t, "read", "github/roles/probe")
		return last.Code == 2 && strings.Contains(last.Stderr, "No value found")
	}, func() string { return fmt.Sprintf("exit %d, %q", last.Code, last.Stdout+last.Stderr) })
}

// failOver kills the active server with SIGKILL while clients mint
// through both standbys (one of which takes over), measures what the clients saw, revokes every lease
// from the new leader and counts the tokens no lease accounts for. It
// returns the killed server.
func failOver(t *testing.T, c *Cluster, emu *Emulator) *Vault {
	t.Helper()
	old := c.Leader(t)
	c.WaitVoters(t, old) // a non-voter cannot take over
	// Start with no lease, so that the lease count below is the load's.
	old.MustCLI(t, "lease", "revoke", "-sync", "-prefix", "github/token/")
	survivors := slices.DeleteFunc(c.Running(), func(v *Vault) bool { return v == old })
	for _, v := range survivors {
		v.RequireStandby(t)
	}
	tokensBefore := emu.TokenValues()

	load := startMintLoad(t, survivors, loadClients)
	waitUntil(t, 30*time.Second, "the clients to mint through the standbys", func() bool {
		return load.Successes() >= 3*loadClients
	})
	killedAt := old.Kill(t)
	var recoveredAt time.Time
	waitUntil(t, startTimeout, "minting through every survivor to work again", func() bool {
		recoveredAt = load.RecoveredAt(killedAt)
		return !recoveredAt.IsZero()
	})
	waitUntil(t, 30*time.Second, "requests after the recovery", func() bool {
		return load.SentSince(recoveredAt) >= 10*loadClients
	})
	load.stop()
	f := summarise(load.Attempts(), killedAt, recoveredAt)

	leader := c.Leader(t)
	took, err := leader.Client(t, "").Sys().Leader()
	if err != nil {
		t.Fatalf("sys/leader: %v", err)
	}
	if !took.ActiveTime.After(killedAt) {
		t.Fatalf("the server at %s has been active since %s, before the kill: the killed server was no longer the leader",
			leader.Addr, took.ActiveTime.Format(time.RFC3339Nano))
	}
	leases := len(leaseIDs(t, leader, "github/token/ci/"))
	unreturned := unreturnedLive(emu, tokensBefore, f.returned)
	leader.MustCLI(t, "lease", "revoke", "-sync", "-prefix", "github/token/")

	for _, token := range f.returned {
		emu.RequireRevoked(t, token)
	}
	orphans := liveTokens(emu)
	// Leases Vault committed but never answered for were revoked with the
	// rest; what is left is tokens whose lease never committed.
	committedUnreturned := leases - len(f.returned)
	t.Logf("failover (%s): unavailable=%.2fs since_kill=%.2fs takeover=%.2fs takeover_to_minting=%.2fs requests=%d errors=%d in_flight=%d unreturned=%d committed_unreturned=%d orphaned=%d after_recovery=%d/%d leases_before_kill=%d",
		leader.bins.server.Name, f.unavailable.Seconds(), f.sinceKill.Seconds(), took.ActiveTime.Sub(killedAt).Seconds(), recoveredAt.Sub(took.ActiveTime).Seconds(), f.requests, f.failures, f.inFlight,
		len(unreturned), committedUnreturned, len(orphans), f.afterRecoveryOK, f.afterRecovery, len(f.beforeKill))
	t.Logf("failover: error kinds: %s", f.kinds())

	if f.afterRecoveryOK != f.afterRecovery {
		t.Errorf("%d of the %d requests sent after the recovery failed; want none (errors: %s)",
			f.afterRecovery-f.afterRecoveryOK, f.afterRecovery, f.kinds())
	}
	if lag := recoveredAt.Sub(took.ActiveTime); lag > takeoverToMinting {
		t.Errorf("minting through every survivor worked again %s after the new leader became active; want within %s", lag, takeoverToMinting)
	}
	if len(f.beforeKill) == 0 {
		t.Error("no lease was created before the kill")
	}
	requireOrphansInFlight(t, emu, took.ActiveTime, orphans, unreturned, committedUnreturned, f.inFlight)
	return old
}

// requireOrphansInFlight checks the tokens left live after revoking every
// lease: each is one Vault never returned, minted before the new leader
// took over; there are as many as unreturned tokens without a committed
// lease; and no more than the requests in flight at the kill.
func requireOrphansInFlight(t *testing.T, emu *Emulator, tookOver time.Time, orphans, unreturned []string, committedUnreturned, inFlight int) {
	t.Helper()
	for _, token := range orphans {
		switch {
		case !slices.Contains(unreturned, token):
			t.Error("a token left live was returned to a client or minted before the load")
		case !emu.TokenInfo(t, token).MintedAt.Before(tookOver):
			t.Errorf("a token left live was minted after the new leader became active at %s", tookOver)
		}
	}
	if want := len(unreturned) - committedUnreturned; len(orphans) != want {
		t.Errorf("%d tokens live after revoking every lease; want %d: %d minted but never returned, %d of them with a committed lease",
			len(orphans), want, len(unreturned), committedUnreturned)
	}
	if len(orphans) > inFlight {
		t.Errorf("%d tokens live after revoking every lease; want at most the %d requests in flight at the kill", len(orphans), inFlight)
	}
	if n := emu.LiveTokens(); n != len(orphans) {
		t.Errorf("the emulator counts %d live tokens; want %d", n, len(orphans))
	}
}

// leaseIDs lists the leases under a prefix, asked of the active server.
func leaseIDs(t *testing.T, leader *Vault, prefix string) []string {
	t.Helper()
	var ids []string
	decodeJSON(t, leader.MustCLI(t, "list", "-format=json", "sys/leases/lookup/"+prefix), &ids)
	return ids
}

// unreturnedLive lists the tokens GitHub minted since tokensBefore that
// are still live and that Vault never returned.
func unreturnedLive(emu *Emulator, tokensBefore, returned []string) []string {
	var out []string
	for _, token := range liveTokens(emu) {
		if !slices.Contains(tokensBefore, token) && !slices.Contains(returned, token) {
			out = append(out, token)
		}
	}
	return out
}

// liveTokens lists the tokens GitHub holds neither revoked nor expired.
func liveTokens(emu *Emulator) []string {
	var out []string
	for _, token := range emu.TokenValues() {
		if info, ok := emu.Token(token); ok && !info.Revoked && !info.Expired {
			out = append(out, token)
		}
	}
	return out
}
