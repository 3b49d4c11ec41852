package githubapp

import (
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
)

// countingView counts the ReplicationState calls that would reach Vault.
type countingView struct {
	logical.SystemView
	calls int
	state consts.ReplicationState
}

func (c *countingView) ReplicationState() consts.ReplicationState {
	c.calls++
	return c.state
}

func TestReplicationCachingView_AsksVaultOncePerSecond(t *testing.T) {
	inner := &countingView{SystemView: logical.TestSystemView(), state: consts.ReplicationPerformancePrimary}
	view := newReplicationCachingView(inner)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	view.now = func() time.Time { return now }

	for range 100 {
		if got := view.ReplicationState(); got != consts.ReplicationPerformancePrimary {
			t.Fatalf("state %v", got)
		}
	}
	if inner.calls != 1 {
		t.Fatalf("%d calls to Vault within a second, want 1", inner.calls)
	}

	inner.state = consts.ReplicationPerformanceSecondary
	now = now.Add(replicationStateTTL)
	if got := view.ReplicationState(); got != consts.ReplicationPerformanceSecondary || inner.calls != 2 {
		t.Fatalf("after a second: state %v after %d calls, want the new state from a second call", got, inner.calls)
	}
}

// TestReplicationCachingView_StandbyAnswerNotReused: a standby forwards
// what it is asked to mint; the moment it is promoted it must mint itself,
// not wait out a cached "standby".
func TestReplicationCachingView_StandbyAnswerNotReused(t *testing.T) {
	inner := &countingView{SystemView: logical.TestSystemView(), state: consts.ReplicationPerformanceStandby}
	view := newReplicationCachingView(inner)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	view.now = func() time.Time { return now }

	for range 3 {
		if got := view.ReplicationState(); got != consts.ReplicationPerformanceStandby {
			t.Fatalf("state %v, want the standby's", got)
		}
	}
	if inner.calls != 3 {
		t.Fatalf("a standby asked the server %d times in 3 requests, want every time", inner.calls)
	}
	inner.state = consts.ReplicationPerformancePrimary
	if got := view.ReplicationState(); got != consts.ReplicationPerformancePrimary {
		t.Fatalf("promoted, within the same second: state %v, want the active's", got)
	}
}
