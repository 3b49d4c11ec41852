package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// clusterSize is the number of servers in a cluster: the smallest Raft
// cluster that keeps a majority when one server dies.
const clusterSize = 3

// Cluster is an HA cluster of Vault or OpenBao servers on integrated
// storage (Raft), set up as in production: servers on loopback, TLS on the
// API with a CA of the test's, one unseal key and root token for all, the
// plugin binary in every server's plugin directory and registered once.
type Cluster struct {
	Nodes []*Vault
}

// StartCluster starts the servers, initialises the first, unseals every
// one (the others join the first through retry_join as they are
// unsealed) and registers the plugin once: the catalog is replicated.
func StartCluster(t *testing.T, b binaries) *Cluster {
	t.Helper()
	certs := newServerTLS(t)
	c := &Cluster{}
	for range clusterSize {
		v := newVault(t, b)
		v.Addr = "https://" + freeAddr(t)
		v.caCert = certs.CACert
		c.Nodes = append(c.Nodes, v)
	}
	for i, v := range c.Nodes {
		if err := os.Mkdir(v.path("raft"), 0o700); err != nil {
			t.Fatal(err)
		}
		cfg := v.writeFile(t, "vault.hcl", c.nodeConfig(t, v, fmt.Sprintf("node%d", i+1), certs))
		v.args = []string{"server", "-config=" + cfg}
		v.start(t)
	}

	first := c.Nodes[0]
	first.initialize(t)
	first.unseal(t)
	c.Leader(t) // the joiners need an active leader to join
	for _, v := range c.Nodes[1:] {
		v.unsealKey, v.Token = first.unsealKey, first.Token
		v.waitJoinChallenge(t)
		v.unseal(t)
	}
	// Joiners start as non-voters; autopilot promotes each once it has
	// been healthy for server_stabilization_time, 10 s by default.
	first.MustCLI(t, "operator", "raft", "autopilot", "set-config", "-server-stabilization-time=2s")
	first.registerPlugin(t)
	return c
}

// nodeConfig is one server's configuration. Every server lists every
// other in retry_join, as production configurations do, so that it does
// not matter which one is initialised first; a server that has joined
// once ignores retry_join when it restarts.
func (c *Cluster) nodeConfig(t *testing.T, v *Vault, nodeID string, certs serverTLS) string {
	t.Helper()
	var joins strings.Builder
	for _, peer := range c.Nodes {
		if peer != v {
			fmt.Fprintf(&joins, `
  retry_join {
    leader_api_addr     = %q
    leader_ca_cert_file = %q
  }`, peer.Addr, certs.CACert)
		}
	}
	clusterAddr := freeAddr(t) // server-to-server traffic: forwarding, Raft
	return fmt.Sprintf(`
storage "raft" {
  path    = %q
  node_id = %q
  # Raft's own timings rather than five times them (Vault's default for
  # slow networks): elections on loopback take about a second.
  performance_multiplier = 1
  # Autopilot looks at the servers every second instead of every 2 and 10
  # seconds, so that joiners are promoted to voters sooner.
  autopilot_update_interval    = "1s"
  autopilot_reconcile_interval = "1s"
%s
}
listener "tcp" {
  address         = %q
  cluster_address = %q
  tls_cert_file   = %q
  tls_key_file    = %q
}
api_addr         = %q
cluster_addr     = "https://%s"
log_level        = "debug"
`, v.path("raft"), nodeID, joins.String(),
		strings.TrimPrefix(v.Addr, "https://"), clusterAddr, certs.Cert, certs.Key,
		v.Addr, clusterAddr) + v.bins.server.BaseConfig(v.path("plugins"))
}

// waitJoinChallenge waits until a joiner has fetched the leader's join
// challenge, which it does every 2 s through retry_join: only then does
// it report itself initialised and take the unseal key that answers it.
func (v *Vault) waitJoinChallenge(t *testing.T) {
	t.Helper()
	sys := v.Client(t, "").Sys()
	waitUntil(t, startTimeout, "the server at "+v.Addr+" to fetch the leader's join challenge", func() bool {
		status, err := sys.SealStatus()
		return err == nil && status.Initialized
	})
}

// Leader waits until a running server reports itself the active node and
// returns it.
func (c *Cluster) Leader(t *testing.T) *Vault {
	t.Helper()
	var leader *Vault
	waitUntil(t, startTimeout, "a cluster node to become active", func() bool {
		for _, v := range c.Running() {
			if l, err := v.Client(t, "").Sys().Leader(); err == nil && l.IsSelf {
				leader = v
				return true
			}
		}
		return false
	})
	return leader
}

// Running lists the servers whose process is up.
func (c *Cluster) Running() []*Vault {
	var up []*Vault
	for _, v := range c.Nodes {
		if v.proc.Running() {
			up = append(up, v)
		}
	}
	return up
}

// Standby returns a running server other than the leader.
func (c *Cluster) Standby(t *testing.T, leader *Vault) *Vault {
	t.Helper()
	for _, v := range c.Running() {
		if v != leader {
			return v
		}
	}
	t.Fatal("no running standby")
	return nil
}

// WaitVoters waits until autopilot, asked through the leader, counts
// every server as a healthy voter.
func (c *Cluster) WaitVoters(t *testing.T, leader *Vault) {
	t.Helper()
	sys := leader.Client(t, leader.Token).Sys()
	last := "no answer"
	waitUntil(t, startTimeout, "autopilot to count every server a healthy voter", func() bool {
		state, err := sys.RaftAutopilotState()
		switch {
		case err != nil:
			last = err.Error()
		case state == nil:
			last = "no autopilot state"
		default:
			last = fmt.Sprintf("healthy=%t voters=%v non-voters=%v", state.Healthy, state.Voters, state.NonVoters)
			return state.Healthy && len(state.Voters) == clusterSize
		}
		return false
	}, func() string { return last })
}

// RequireStandby fails unless the server is an unsealed standby, so that
// whatever is sent to it is forwarded to the active node.
func (v *Vault) RequireStandby(t *testing.T) {
	t.Helper()
	health, err := v.Client(t, "").Sys().Health()
	if err != nil {
		t.Fatalf("sys/health at %s: %v", v.Addr, err)
	}
	if !health.Standby || health.Sealed {
		t.Fatalf("the server at %s is standby=%t sealed=%t; want an unsealed standby", v.Addr, health.Standby, health.Sealed)
	}
}

// MustCLIThroughElection runs a CLI command as root, again for up to
// electionWait while the server answers that no active server is known:
// on a loaded machine a leader starved of CPU can lose its leadership,
// and requests fail until the next one is elected, as an operator's would.
func (v *Vault) MustCLIThroughElection(t *testing.T, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(electionWait)
	for {
		r := v.CLI(t, args...)
		electing := strings.Contains(r.Stderr, "active cluster node not found") || strings.Contains(r.Stderr, "local node not active")
		if r.Code == 0 || !electing || time.Now().After(deadline) {
			return mustSucceed(t, r, args).Stdout
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// electionWait bounds how long a test waits for a cluster to elect a
// leader again.
const electionWait = 30 * time.Second
