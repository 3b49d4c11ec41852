package githubapp

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

// listingPath is the endpoint whose pages a pattern role's listing reads.
const listingPath = "/installation/repositories"

// newBulkPatternEnv is a configured environment whose App is also
// installed on an organisation of n repositories, with role "big" matching
// 9 of them by a pattern.
func newBulkPatternEnv(t *testing.T, n int) *testEnv {
	t.Helper()
	e := newTestEnv(t)
	e.emulator.SeedBulk(testAppID, n)
	e.mustWrite("roles/big", map[string]any{fieldInstallationID: idOf(ghemu.BulkInstallationID), fieldRepositories: "repo-000?"})
	return e
}

// renderListingOnce has the emulator serve one listing, which renders its
// repository objects (the first rendering costs the emulator more than the
// listing costs the plugin); nothing of it stays cached or recorded.
func (e *testEnv) renderListingOnce() {
	e.mint("big")
	e.b.client.repositories.forget(ghemu.BulkInstallationID)
	e.emulator.ResetRequests()
}

// mintWithin mints a token of role big for a caller whose deadline is
// timeout away.
func (e *testEnv) mintWithin(timeout time.Duration) (*logical.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "token/big", Storage: e.storage})
}

// A pattern role on a large installation whose GitHub is slow mints within
// a caller's deadline that listing its pages one after another would
// outlast: 10 pages at 600 ms are 6 s.
func TestListing_LargeSlowInstallationWithinTheDeadline(t *testing.T) {
	e := newBulkPatternEnv(t, 1000)
	e.renderListingOnce()
	e.emulator.SetLatencyFor(listingPath, 600*time.Millisecond)
	resp, err := e.mintWithin(4 * time.Second)
	requireOK(t, resp, err)
	if got := len(e.tokenScope(resp).RepositoryNames); got != 9 {
		t.Fatalf("the token reaches %d repositories; want the 9 the pattern matches", got)
	}
}

// A listing outlives a caller whose deadline comes first: the caller is
// told so, and the next caller gets its token from the listing's result,
// without another listing.
func TestListing_OutlivesItsCaller(t *testing.T) {
	e := newBulkPatternEnv(t, 1000)
	e.emulator.SetLatencyFor(listingPath, 300*time.Millisecond)
	resp, err := e.mintWithin(200 * time.Millisecond)
	if err == nil && !resp.IsError() {
		t.Fatal("a token came before the listing could have ended")
	}
	if msg := errorText(resp, err); !strings.Contains(msg, "the listing goes on") {
		t.Errorf("the caller is not told the listing goes on: %s", msg)
	}
	waitFor(t, "the listing token to be revoked", func() bool {
		return e.emulator.Count(http.MethodDelete, "/installation/token") == 1
	})
	e.emulator.SetLatencyFor(listingPath, 0)
	resp, err = e.mintWithin(2 * time.Second)
	requireOK(t, resp, err)
	if pages := e.emulator.Count(http.MethodGet, listingPath); pages != 10 {
		t.Errorf("%d pages read for 1,000 repositories; want one listing of 10", pages)
	}
}

// A list of many pages is kept longer, so that listing it again spends at
// most listingPagesPerMinute requests a minute of the installation's rate
// limit: 20 pages, 2 minutes.
func TestListing_LargeListIsKeptLonger(t *testing.T) {
	e := newBulkPatternEnv(t, 2000)
	e.mint("big")
	for _, tc := range []struct {
		after time.Duration
		pages int
	}{{90 * time.Second, 0}, {2*time.Minute + time.Second, 20}} {
		e.b.client.repositories.now = func() time.Time { return time.Now().Add(tc.after) }
		e.emulator.ResetRequests()
		e.mint("big")
		if pages := e.emulator.Count(http.MethodGet, listingPath); pages != tc.pages {
			t.Errorf("%v after a listing of 20 pages: %d pages read; want %d", tc.after, pages, tc.pages)
		}
	}
}

func TestRepositoryListLife(t *testing.T) {
	for repos, want := range map[int]time.Duration{0: time.Minute, 1000: time.Minute, 1001: 66 * time.Second, 10_000: 10 * time.Minute, 50_000: 50 * time.Minute} {
		if got := repositoryListLife(make([]ghclient.Repository, repos)); got != want {
			t.Errorf("a list of %d repositories is kept %v; want %v", repos, got, want)
		}
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// errorText is what a caller is told of a failure.
func errorText(resp *logical.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Error().Error()
}
