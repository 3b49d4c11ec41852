package main

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
)

const (
	secretType = "floor_lease"
	// leaseTTL is set explicitly, as the engine sets its tokens' TTL: about
	// the life of a GitHub installation token.
	leaseTTL = time.Hour
)

func factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	if conf.System != nil {
		withView := *conf
		withView.System = newOnceReplicationView(conf.System)
		conf = &withView
	}
	b := newBackend()
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

func newBackend() *framework.Backend {
	b := &framework.Backend{
		Help:        "The lease floor of the GitHub App engine's benchmark: read lease.",
		BackendType: logical.TypeLogical,
		Secrets: []*framework.Secret{{
			Type: secretType,
			// No Renew: not renewable, as the engine's tokens are not.
			Revoke: func(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
				return nil, nil
			},
		}},
	}
	b.Paths = []*framework.Path{{
		Pattern: "lease",
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: &framework.PathOperation{
				Callback: func(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
					return lease(b), nil
				},
			},
		},
	}}
	return b
}

// lease is a fresh random string as a lease.
func lease(b *framework.Backend) *logical.Response {
	resp := b.Secret(secretType).Response(map[string]any{"value": rand.Text()}, nil)
	resp.Secret.TTL = leaseTTL
	return resp
}

// onceReplicationView asks Vault for the replication state once. The SDK
// asks for it on every request to a framework.Path operation, and for an
// external plugin each answer is a gRPC call back to Vault; the engine
// avoids that call (its system_view.go reuses an answer for a second), so
// the floor must not pay it either, or the engine's cost above the floor
// would look smaller than it is. A benchmark's mount never changes state.
type onceReplicationView struct {
	logical.SystemView
	state func() consts.ReplicationState
}

func newOnceReplicationView(sys logical.SystemView) *onceReplicationView {
	return &onceReplicationView{SystemView: sys, state: sync.OnceValue(sys.ReplicationState)}
}

func (v *onceReplicationView) ReplicationState() consts.ReplicationState { return v.state() }
