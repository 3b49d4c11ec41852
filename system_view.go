package githubapp

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
)

// replicationStateTTL is how long an active server's answer to
// ReplicationState is reused.
const replicationStateTTL = time.Second

// replicationCachingView reuses the server's answer to ReplicationState for
// a second. The SDK asks for it on every request, to refuse the operations
// marked ForwardPerformanceStandby on a performance standby (OpenBao's
// standbys since 2.5, Vault Enterprise's), which the server then forwards
// to the active one: minting and every storage write. For an external
// plugin each answer is a gRPC round trip to the server, which costs the
// plugin CPU on every minted token, plus the server's CPU and the round
// trip's latency (measured in docs/benchmarks.md, "What changed along the
// way").
//
// A stale answer cannot mint on a standby: a server tears down and sets up
// every mount again, with a new backend and so a new view, whenever it
// becomes or stops being a standby. A standby's answer is not reused
// anyway, so that nothing the view holds can keep a promoted server from
// minting; it costs a standby a round trip on a request it forwards.
type replicationCachingView struct {
	logical.SystemView
	now    func() time.Time
	cached atomic.Pointer[replicationAnswer]
}

type replicationAnswer struct {
	state   consts.ReplicationState
	expires time.Time
}

func newReplicationCachingView(sys logical.SystemView) *replicationCachingView {
	return &replicationCachingView{SystemView: sys, now: time.Now}
}

func (v *replicationCachingView) ReplicationState() consts.ReplicationState {
	now := v.now()
	if a := v.cached.Load(); a != nil && now.Before(a.expires) {
		return a.state
	}
	state := v.SystemView.ReplicationState()
	if !state.HasState(consts.ReplicationPerformanceStandby) {
		v.cached.Store(&replicationAnswer{state: state, expires: now.Add(replicationStateTTL)})
	}
	return state
}
