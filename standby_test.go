package githubapp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
)

// forwardedOperations are the operations a performance standby refuses
// for the active server: the ones that mint or write storage.
var forwardedOperations = []string{
	"create config", "update config", "delete config",
	"create roles/(?P<name>.+)", "update roles/(?P<name>.+)", "delete roles/(?P<name>.+)",
	"read token/(?P<name>.+)", "update token/(?P<name>.+)",
	"read metrics",
}

// TestForwardedOperations holds the list: an operation that mints or
// writes and is not marked would run on a standby and fail after the fact.
func TestForwardedOperations(t *testing.T) {
	e := newUnconfiguredEnv(t)
	var marked []string
	for _, p := range e.b.Paths {
		for op, handler := range p.Operations {
			props := handler.Properties()
			if props.ForwardPerformanceStandby {
				marked = append(marked, fmt.Sprintf("%s %s", op, p.Pattern))
			}
			if props.ForwardPerformanceSecondary {
				t.Errorf("%s %s is forwarded from a performance secondary, which mints with its own leases", op, p.Pattern)
			}
		}
	}
	slices.Sort(marked)
	want := slices.Sorted(slices.Values(forwardedOperations))
	if !slices.Equal(marked, want) {
		t.Errorf("operations forwarded from a standby:\n%q\nwant\n%q", marked, want)
	}
}

// newStandby is the engine as a performance standby runs it: another
// backend on the same (replicated) storage, whose server reports it a
// standby. The storage is writable here, so that its staying unchanged
// shows that nothing was attempted.
func (e *testEnv) newStandby() *testEnv {
	e.t.Helper()
	conf := logical.TestBackendConfig()
	conf.StorageView = e.storage
	system := logical.TestSystemView()
	system.ReplicationStateVal = consts.ReplicationPerformanceStandby
	conf.System = system
	b, err := Factory(context.Background(), conf)
	if err != nil {
		e.t.Fatal(err)
	}
	standby := *e
	standby.b, standby.system = b.(*backend), system
	return &standby
}

// TestStandbyForwardsMintsAndWrites: on a standby, minting and every write
// are refused with ErrReadOnly before they run (the server forwards them),
// so GitHub sees no request and storage is untouched; reads are served.
func TestStandbyForwardsMintsAndWrites(t *testing.T) {
	active := newRoleEnv(t, nil)
	standby := active.newStandby()
	stored := storageSnapshot(t, active.storage)
	active.emulator.ResetRequests()

	refused := []struct {
		op   logical.Operation
		path string
		data map[string]any
	}{
		{logical.ReadOperation, "token/ci", nil},
		{logical.ReadOperation, "token/ci", map[string]any{fieldRepositories: "api"}},
		{logical.UpdateOperation, "token/ci", map[string]any{fieldRepositories: "api"}},
		{logical.UpdateOperation, "config", map[string]any{fieldAppID: testAppID + 1}},
		{logical.CreateOperation, "config", map[string]any{fieldAppID: testAppID + 1}},
		{logical.DeleteOperation, "config", nil},
		{logical.CreateOperation, "roles/new", map[string]any{fieldInstallationID: idOf(active.sample.OrgInstallationID)}},
		{logical.UpdateOperation, "roles/ci", map[string]any{fieldRepositories: "api"}},
		{logical.DeleteOperation, "roles/ci", nil},
		{logical.ReadOperation, "metrics", nil},
	}
	for _, r := range refused {
		resp, err := standby.do(r.op, r.path, r.data)
		if !errors.Is(err, logical.ErrReadOnly) {
			// Not the reply itself: it may hold a token.
			t.Errorf("%s %s %v on a standby: error %v, a reply: %t; want ErrReadOnly, for the server to forward", r.op, r.path, r.data, err, resp != nil)
		}
	}
	if reqs := active.emulator.Requests(); len(reqs) != 0 {
		t.Errorf("GitHub received %d requests from the standby (first: %s); want none", len(reqs), reqs[0].Route)
	}
	requireSameStorage(t, stored, storageSnapshot(t, active.storage))

	standby.mustRead("config")
	if got := standby.mustRead("roles/ci").Data[fieldInstallationID]; got != active.sample.OrgInstallationID {
		t.Errorf("role ci read on the standby: installation_id %v, want %d", got, active.sample.OrgInstallationID)
	}
	if resp, err := standby.do(logical.ListOperation, "roles/", nil); err != nil || !slices.Equal(resp.Data["keys"].([]string), []string{"ci"}) {
		t.Errorf("listing roles on the standby: %v, %v; want [ci]", resp, err)
	}
	active.mustRead("token/ci") // the active server still mints
}

// TestStandbyLeavesTheWALToTheActive: a standby's rollback manager runs too
// (OpenBao's does), over the replicated WAL it cannot delete from. It must
// not revoke at GitHub what the active server is retrying: every minute,
// once per standby, for nothing.
func TestStandbyLeavesTheWALToTheActive(t *testing.T) {
	active := newRoleEnv(t, nil)
	active.revocationOutage(failedDiscard)
	active.mintForCallerWhoLeaves()
	if n := len(active.walEntries()); n != 1 {
		t.Fatalf("%d WAL entries after a failed discard; want 1", n)
	}
	standby := active.newStandby()
	active.emulator.ResetRequests()

	standby.rollback()
	if reqs := active.emulator.Requests(); len(reqs) != 0 {
		t.Errorf("the standby's rollback sent %d requests to GitHub (first: %s); want none", len(reqs), reqs[0].Route)
	}
	if live, wal := active.emulator.LiveTokens(), len(active.walEntries()); live != 1 || wal != 1 {
		t.Errorf("after the standby's rollback: %d live tokens, %d WAL entries; want the entry left to the active server", live, wal)
	}
	active.rollback()
	if live, wal := active.emulator.LiveTokens(), len(active.walEntries()); live != 0 || wal != 0 {
		t.Errorf("after the active server's rollback: %d live tokens, %d WAL entries; want none", live, wal)
	}
}
