package ghclient_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

// routeLog keeps the route and status of every attempt.
type routeLog struct {
	mu      sync.Mutex
	entries []string
}

func (l *routeLog) ObserveAttempt(a ghclient.Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, a.Route)
}
func (l *routeLog) ObserveRetry(ghclient.Retry) {}
func (l *routeLog) ObserveJWTSigned()           {}

// TestObserver_RoutesAreGitHubs calls every API method against the
// emulator, whose routes are written as GitHub's docs write them, and
// checks that each request's observed route is the one the emulator
// matched: the labels name GitHub's endpoints, not paths holding IDs or
// owner names.
func TestObserver_RoutesAreGitHubs(t *testing.T) {
	key := testkeys.RSA("app")
	gh := ghemu.NewTestServer(t)
	sample := gh.SeedSample(7, "Iv1.observe", &key.PublicKey)
	gh.AddInstallation(ghemu.Installation{ID: 1004, AppID: 7, Account: ghemu.Account{Login: "octo-business", ID: 5004, Type: ghemu.AccountEnterprise},
		RepositorySelection: ghemu.SelectionSelected, Permissions: map[string]string{"enterprise_administration": "read"}})
	log := &routeLog{}
	c, err := ghclient.New(ghclient.Config{BaseURL: gh.URL(), AppID: 7, PrivateKey: key, Observer: log})
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	calls := []func() error{
		func() error { _, err := c.FindInstallationByOwner(ctx, "acme"); return err },
		func() error { _, err := c.ListInstallations(ctx); return err },
		func() error { _, err := c.FindInstallationByOwner(ctx, "acme"); return err },
		func() error { _, err := c.FindInstallationByOwner(ctx, "octocat"); return err }, // an org 404, then the user
		func() error { _, err := c.FindInstallationByEnterprise(ctx, "octo-business"); return err },
		func() error {
			tok, err := c.CreateInstallationToken(ctx, sample.OrgInstallationID, ghclient.TokenRequest{})
			if err != nil {
				return err
			}
			if _, err := c.ListInstallationRepositories(ctx, tok.Token); err != nil {
				return err
			}
			return c.RevokeInstallationToken(ctx, tok.Token)
		},
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	var matched []string
	for _, r := range gh.Requests() {
		matched = append(matched, r.Route)
	}
	if !slices.Equal(log.entries, matched) {
		t.Fatalf("observed routes\n  %q\nemulator matched\n  %q", log.entries, matched)
	}
	// Every route the client knows is one of GitHub's it calls.
	for _, route := range ghclient.Routes() {
		if !slices.Contains(log.entries, route) {
			t.Errorf("no call exercised route %q", route)
		}
	}
}
