package main

import (
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
)

// noStorage fails every call: the floor must not touch storage.
type noStorage struct{}

var errStorage = errors.New("the floor used storage")

func (noStorage) List(context.Context, string) ([]string, error)             { return nil, errStorage }
func (noStorage) Get(context.Context, string) (*logical.StorageEntry, error) { return nil, errStorage }
func (noStorage) Put(context.Context, *logical.StorageEntry) error           { return errStorage }
func (noStorage) Delete(context.Context, string) error                       { return errStorage }

// countingView counts the replication-state questions that reach Vault.
type countingView struct {
	logical.StaticSystemView
	asked int
}

func (v *countingView) ReplicationState() consts.ReplicationState {
	v.asked++
	return v.StaticSystemView.ReplicationState()
}

func TestFloorLeasesRandomStringsWithoutStorage(t *testing.T) {
	ctx := context.Background()
	sys := &countingView{}
	b, err := factory(ctx, &logical.BackendConfig{System: sys, StorageView: noStorage{}})
	if err != nil {
		t.Fatal(err)
	}
	handle := func(op logical.Operation, secret *logical.Secret) (*logical.Response, error) {
		return b.HandleRequest(ctx, &logical.Request{Operation: op, Path: "lease", Storage: noStorage{}, Secret: secret})
	}

	seen := map[string]bool{}
	var last *logical.Response
	for range 3 {
		resp, err := handle(logical.ReadOperation, nil)
		if err != nil || resp == nil || resp.Secret == nil {
			t.Fatalf("read lease: %v, %+v", err, resp)
		}
		value, _ := resp.Data["value"].(string)
		if value == "" || seen[value] {
			t.Errorf("value %q is empty or repeated", value)
		}
		seen[value] = true
		if resp.Secret.TTL != leaseTTL || resp.Secret.Renewable {
			t.Errorf("lease TTL %v renewable %v, want %v and not renewable", resp.Secret.TTL, resp.Secret.Renewable, leaseTTL)
		}
		last = resp
	}
	if sys.asked != 1 {
		t.Errorf("Vault was asked for the replication state %d times over 3 requests, want once", sys.asked)
	}

	if _, err := handle(logical.RevokeOperation, last.Secret); err != nil {
		t.Errorf("revoke: %v", err)
	}
	if _, err := handle(logical.RenewOperation, last.Secret); err == nil {
		t.Error("renew succeeded on a non-renewable lease")
	}
}
