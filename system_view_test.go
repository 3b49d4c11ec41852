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

// TestNoOperationIsMarkedForForwarding guards the premise of the cache: if
// an operation ever asks to be forwarded, a stale replication state could
// change its outcome, and the cache must be reconsidered.
func TestNoOperationIsMarkedForForwarding(t *testing.T) {
	e := newUnconfiguredEnv(t)
	for _, p := range e.b.Paths {
		for op, handler := range p.Operations {
			if props := handler.Properties(); props.ForwardPerformanceStandby || props.ForwardPerformanceSecondary {
				t.Errorf("%s %s is marked for forwarding", op, p.Pattern)
			}
		}
	}
}
