package githubapp

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

// githubCalls counts the GitHub requests the emulator has seen.
func (e *testEnv) githubCalls() int { return e.emulator.Stats().Requests }

// A pattern role reaches exactly the installation's repositories that
// match; the list is fetched with a metadata:read token revoked at once,
// and reused until it expires.
func TestPatterns_MatchTheInstallationsRepositories(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldOwner: "acme", fieldRepositories: []any{"a*", "we?", "infra"}})
	e.mint("team") // resolves and caches acme's installation
	e.emulator.ResetRequests()

	resp := e.mint("team")
	if got := sortedCopy(e.tokenScope(resp).RepositoryNames); !reflect.DeepEqual(got, []string{"api", "infra", "web"}) {
		t.Fatalf("token reaches %v; want api, infra (named) and web", got)
	}
	if n := e.githubCalls(); n != 1 {
		t.Errorf("a mint with a cached list made %d GitHub calls, want 1", n)
	}
	if live := e.emulator.LiveTokens(); live != 2 {
		t.Errorf("%d live tokens; the listing token must be revoked, leaving the two minted", live)
	}

	e.b.client.repositories.forget(e.sample.OrgInstallationID)
	e.emulator.ResetRequests()
	e.mint("team")
	// Listing token, one page, its revocation, the mint.
	if n := e.githubCalls(); n != 4 {
		t.Errorf("a mint that lists the repositories made %d GitHub calls, want 4", n)
	}
	if reqs := e.emulator.Requests(); len(reqs) == 4 {
		if body := string(reqs[0].Body); reqs[0].Method != http.MethodPost || body != `{"permissions":{"metadata":"read"}}` {
			t.Errorf("the listing token was minted with %s %s; want metadata:read only", reqs[0].Method, body)
		}
		if reqs[2].Method != http.MethodDelete {
			t.Errorf("the listing token was not revoked before the mint: %s %s", reqs[2].Method, reqs[2].Path)
		}
	}
}

func TestPatterns_NoneOrTooManyMatchesAreErrors(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/none", map[string]any{fieldOwner: "acme", fieldRepositories: "zz-*"})
	resp, err := e.do(logical.ReadOperation, "token/none", nil)
	requireUserError(t, resp, err, "zz-*", "match none")

	for i := range 501 {
		e.emulator.AddRepository(ghemu.Repository{ID: int64(9000 + i), Owner: "octocat", Name: fmt.Sprintf("svc-%03d", i)})
	}
	e.mustWrite("roles/many", map[string]any{fieldOwner: "octocat", fieldRepositories: "svc-*"})
	resp, err = e.do(logical.ReadOperation, "token/many", nil)
	requireUserError(t, resp, err, "501", "at most 500")
	if n := e.emulator.Stats().LiveTokens; n != 0 {
		t.Fatalf("%d live tokens after refused pattern mints", n)
	}
}

// A repository deleted since the list was cached makes GitHub answer 422;
// the list is fetched again once, and the mint retried.
func TestPatterns_StaleListIsRefreshedOnceOn422(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldOwner: "octocat", fieldRepositories: "*o*"})
	first := e.mint("team")
	if got := sortedCopy(e.tokenScope(first).RepositoryNames); !reflect.DeepEqual(got, []string{"blog", "dotfiles"}) {
		t.Fatalf("token reaches %v", got)
	}
	// The list must be old enough to be fetched again on a 422.
	e.b.client.repositories.now = func() time.Time { return time.Now().Add(repositoryListTTL / 2) }
	e.emulator.RemoveRepository(e.sample.Repositories["octocat/blog"])
	e.emulator.AddRepository(ghemu.Repository{ID: 2199, Owner: "octocat", Name: "notes"})
	resp := e.mint("team")
	if got := sortedCopy(e.tokenScope(resp).RepositoryNames); !reflect.DeepEqual(got, []string{"dotfiles", "notes"}) {
		t.Fatalf("after a refresh the token reaches %v; want dotfiles and the new notes", got)
	}
}

// Narrowing a pattern role by a matching name needs no listing; a name the
// patterns do not match is outside the role.
func TestPatterns_Narrowing(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldRepositories: "a*"})
	resp, err := e.do(logical.UpdateOperation, "token/team", map[string]any{fieldRepositories: "API"})
	requireUserError(t, resp, err, "outside the role") // patterns match case-sensitively, as Vault's globs
	resp, err = e.do(logical.UpdateOperation, "token/team", map[string]any{fieldRepositories: "api"})
	requireOK(t, resp, err)
	if got := e.tokenScope(resp).RepositoryNames; !reflect.DeepEqual(got, []string{"api"}) {
		t.Fatalf("token reaches %v", got)
	}
	if n := e.emulator.Count(http.MethodGet, "/installation/repositories"); n != 0 {
		t.Errorf("narrowing by name listed the repositories %d times", n)
	}
	resp, err = e.do(logical.UpdateOperation, "token/team", map[string]any{fieldRepositories: "web"})
	requireUserError(t, resp, err, "outside the role")
	resp, err = e.do(logical.UpdateOperation, "token/team", map[string]any{fieldRepositories: "a*"})
	requireUserError(t, resp, err, "patterns and templates belong in a role")
}

// A 422 that is not about a repository, or one that comes soon after a
// listing, does not make the plugin list again: no caller can turn every
// request into a listing.
func TestPatterns_CallersCannotForceListings(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldOwner: "octocat", fieldRepositories: "*o*"})
	e.mint("team")
	e.emulator.ResetRequests()
	for range 5 {
		// The installation grants contents:read only: GitHub answers 422.
		resp, err := e.do(logical.UpdateOperation, "token/team", map[string]any{fieldPermissions: "contents=write"})
		requireUserError(t, resp, err, "422")
	}
	if n := e.emulator.Count(http.MethodGet, "/installation/repositories"); n != 0 {
		t.Fatalf("permission refusals listed the repositories %d times", n)
	}

	e.emulator.RemoveRepository(e.sample.Repositories["octocat/blog"])
	for range 5 {
		resp, err := e.do(logical.ReadOperation, "token/team", nil)
		requireUserError(t, resp, err, "422")
	}
	if n := e.emulator.Count(http.MethodGet, "/installation/repositories"); n != 0 {
		t.Fatalf("repository refusals against a young list listed %d times", n)
	}
}

// A listing that fails is remembered for a while, not redone per request.
func TestPatterns_FailedListingIsNotRedonePerRequest(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldOwner: "octocat", fieldRepositories: "*o*"})
	e.emulator.FailNext(100, ghemu.Fault{Status: http.StatusNotFound, PathPrefix: "/installation/repositories"})
	for range 3 {
		resp, err := e.do(logical.ReadOperation, "token/team", nil)
		if err == nil && !resp.IsError() {
			t.Fatal("minted although the listing failed")
		}
	}
	if n := e.emulator.Count(http.MethodGet, "/installation/repositories"); n != 1 {
		t.Fatalf("%d listings for 3 requests; a failed listing must be kept for a while", n)
	}
	if live := e.emulator.LiveTokens(); live != 0 {
		t.Fatalf("%d live tokens: the listing tokens must be revoked", live)
	}
}

// GitHub's 422 is reported with the repositories GitHub was sent, not the
// patterns they came from.
func TestPatterns_RefusalNamesWhatWasSent(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldOwner: "octocat", fieldRepositories: "b*"})
	e.mint("team")
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusUnprocessableEntity, PathPrefix: mintPath})
	resp, err := e.do(logical.ReadOperation, "token/team", nil)
	requireUserError(t, resp, err, "repositories blog")
}

// A listing GitHub refuses is reported as the listing, not as a mint of
// the patterns, which GitHub was never sent.
func TestPatterns_RefusedListingIsReportedAsTheListing(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldOwner: "octocat", fieldRepositories: "b*"})
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusUnprocessableEntity, PathPrefix: "/installation/repositories"})
	resp, err := e.do(logical.ReadOperation, "token/team", nil)
	requireUserError(t, resp, err, "listing the repositories of installation")
	if msg := resp.Error().Error(); strings.Contains(msg, "b*") {
		t.Errorf("the error names the patterns as if GitHub had refused them: %s", msg)
	}
}
