package githubapp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

// TestConcurrency_MintReadAndRewriteAtOnce runs 32 goroutines that mint
// tokens, read the config and roles, and rewrite both, at the same time.
// Run under -race (make test does): no race, no torn config, and every
// lease minted along the way can be revoked.
func TestConcurrency_MintReadAndRewriteAtOnce(t *testing.T) {
	e := newTestEnv(t)
	keyPEM := pkcs1PEM(e.key)
	// Two complete configs, both valid for the emulator's App; a reader
	// that sees client_id with the github.com-style URL, or app_id alone
	// with the /api/v3 URL, has seen half of one write and half of another.
	configs := []map[string]any{
		{fieldAppID: testAppID, fieldClientID: "", fieldBaseURL: e.emulator.URL(), fieldPrivateKey: keyPEM},
		{fieldClientID: testClientID, fieldBaseURL: e.emulator.URL() + "/api/v3", fieldPrivateKey: keyPEM},
	}
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: "api"})
	e.mustWrite("roles/id", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})

	const workers, rounds = 32, 8
	var (
		mu     sync.Mutex
		leases []*logical.Secret
		wg     sync.WaitGroup
		errs   = make(chan error, workers*rounds)
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				if err := concurrentStep(e, w, i, configs, func(s *logical.Secret) {
					mu.Lock()
					leases = append(leases, s)
					mu.Unlock()
				}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if len(leases) == 0 {
		t.Fatal("no token was minted")
	}
	for _, lease := range leases {
		if _, err := e.revoke(lease); err != nil {
			t.Fatalf("revoking a lease: %v", err)
		}
	}
	if live := e.emulator.LiveTokens(); live != 0 {
		t.Fatalf("%d tokens still live after revoking all %d leases", live, len(leases))
	}
}

// concurrentStep does one of five things, chosen by worker and round.
func concurrentStep(e *testEnv, worker, round int, configs []map[string]any, keep func(*logical.Secret)) error {
	ctx := context.Background()
	req := func(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
		resp, err := e.b.HandleRequest(ctx, &logical.Request{Operation: op, Path: path, Data: data, Storage: e.storage})
		if err == nil && resp != nil && resp.IsError() {
			err = resp.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op, path, err)
		}
		return resp, nil
	}
	switch (worker + round) % 5 {
	case 0, 1:
		role := []string{"ci", "id"}[worker%2]
		resp, err := req(logical.ReadOperation, "token/"+role, nil)
		if err != nil {
			return err
		}
		keep(resp.Secret)
	case 2:
		resp, err := req(logical.ReadOperation, "config", nil)
		if err != nil {
			return err
		}
		_, hasClientID := resp.Data[fieldClientID]
		enterprise := strings.HasSuffix(resp.Data[fieldBaseURL].(string), "/api/v3")
		if hasClientID != enterprise {
			return fmt.Errorf("torn config read: %v", resp.Data)
		}
	case 3:
		_, err := req(logical.UpdateOperation, "config", configs[round%2])
		return err
	case 4:
		repo := []string{"api", "web"}[round%2]
		if _, err := req(logical.UpdateOperation, "roles/ci", map[string]any{fieldRepositories: repo}); err != nil {
			return err
		}
		e.b.invalidate(ctx, roleStoragePrefix+"ci")
	}
	return nil
}
