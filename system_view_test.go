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

// newFrozenView is a caching view over a server that answers state, on a
// clock that moves only when the test moves *now.
func newFrozenView(state consts.ReplicationState) (inner *countingView, view *replicationCachingView, now *time.Time) {
	inner = &countingView{SystemView: logical.TestSystemView(), state: state}
	view = newReplicationCachingView(inner)
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	view.now = func() time.Time { return at }
	return inner, view, &at
}

// requireAnswers asks the view n times and fails unless each answer is
// want and the server has then been asked calls times in all.
func requireAnswers(t *testing.T, inner *countingView, view *replicationCachingView, n int, want consts.ReplicationState, calls int) {
	t.Helper()
	for range n {
		if got := view.ReplicationState(); got != want {
			t.Fatalf("state %v, want %v", got, want)
		}
	}
	if inner.calls != calls {
		t.Fatalf("the server was asked %d times, want %d", inner.calls, calls)
	}
}

func TestReplicationCachingView_AsksVaultOncePerSecond(t *testing.T) {
	inner, view, now := newFrozenView(consts.ReplicationPerformancePrimary)
	requireAnswers(t, inner, view, 100, consts.ReplicationPerformancePrimary, 1)
	inner.state = consts.ReplicationPerformanceSecondary
	*now = now.Add(replicationStateTTL)
	requireAnswers(t, inner, view, 1, consts.ReplicationPerformanceSecondary, 2)
}

// TestReplicationCachingView_StandbyAnswerNotReused: a standby forwards
// what it is asked to mint; the moment it is promoted it must mint itself,
// not wait out a cached "standby".
func TestReplicationCachingView_StandbyAnswerNotReused(t *testing.T) {
	inner, view, _ := newFrozenView(consts.ReplicationPerformanceStandby)
	requireAnswers(t, inner, view, 3, consts.ReplicationPerformanceStandby, 3)
	inner.state = consts.ReplicationPerformancePrimary // promoted, within the same second
	requireAnswers(t, inner, view, 1, consts.ReplicationPerformancePrimary, 4)
}
