package githubapp

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
)

// replicationStateTTL is how long an answer to ReplicationState is reused.
const replicationStateTTL = time.Second

// replicationCachingView reuses Vault's answer to ReplicationState for a
// second. The SDK asks for it on every request, to decide whether to refuse
// operations marked for forwarding, and for an external plugin each answer
// is a gRPC round trip to Vault: about a tenth of the plugin's CPU per
// minted token, plus Vault's CPU and the round trip's latency. None of this
// engine's operations is marked for forwarding, so a second-old answer
// changes no outcome.
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
	v.cached.Store(&replicationAnswer{state: state, expires: now.Add(replicationStateTTL)})
	return state
}
