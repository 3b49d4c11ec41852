package githubapp

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/tests/ghemu"
)

// githubCalls counts the GitHub requests the emulator has seen.
func (e *testEnv) githubCalls() int { return e.gh.Stats().Requests }

// A pattern role reaches exactly the installation's repositories that
// match; the list is fetched with a metadata:read token revoked at once,
// and reused until it expires.
func TestPatterns_MatchTheInstallationsRepositories(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldOwner: "acme", fieldRepositories: "a*,WE?,infra"})
	e.mint("team") // resolves and caches acme's installation
	e.gh.ResetRequests()

	resp := e.mint("team")
	if got := sortedCopy(e.tokenScope(resp).RepositoryNames); !reflect.DeepEqual(got, []string{"api", "infra", "web"}) {
		t.Fatalf("token reaches %v; want api, infra (named) and web", got)
	}
	if n := e.githubCalls(); n != 1 {
		t.Errorf("a mint with a cached list made %d GitHub calls, want 1", n)
	}
	if live := e.gh.LiveTokens(); live != 2 {
		t.Errorf("%d live tokens; the listing token must be revoked, leaving the two minted", live)
	}

	e.b.github.repositories.forget(e.sample.OrgInstallationID)
	e.gh.ResetRequests()
	e.mint("team")
	// Listing token, one page, its revocation, the mint.
	if n := e.githubCalls(); n != 4 {
		t.Errorf("a mint that lists the repositories made %d GitHub calls, want 4", n)
	}
	if reqs := e.gh.Requests(); len(reqs) == 4 {
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
		e.gh.AddRepository(ghemu.Repository{ID: int64(9000 + i), Owner: "octocat", Name: fmt.Sprintf("svc-%03d", i)})
	}
	e.mustWrite("roles/many", map[string]any{fieldOwner: "octocat", fieldRepositories: "svc-*"})
	resp, err = e.do(logical.ReadOperation, "token/many", nil)
	requireUserError(t, resp, err, "501", "at most 500")
	if n := e.gh.Stats().LiveTokens; n != 0 {
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
	e.gh.RemoveRepository(e.sample.Repositories["octocat/blog"])
	e.gh.AddRepository(ghemu.Repository{ID: 2199, Owner: "octocat", Name: "notes"})
	resp := e.mint("team")
	if got := sortedCopy(e.tokenScope(resp).RepositoryNames); !reflect.DeepEqual(got, []string{"dotfiles", "notes"}) {
		t.Fatalf("after a refresh the token reaches %v; want dotfiles and the new notes", got)
	}
}

// Narrowing a pattern role by a matching name needs no listing; a name the
// patterns do not match is outside the role.
func TestPatterns_Narrowing(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldInstallationID: e.sample.OrgInstallationID, fieldRepositories: "a*"})
	resp, err := e.do(logical.UpdateOperation, "token/team", map[string]any{fieldRepositories: "API"})
	requireOK(t, resp, err)
	if got := e.tokenScope(resp).RepositoryNames; !reflect.DeepEqual(got, []string{"api"}) {
		t.Fatalf("token reaches %v", got)
	}
	if n := e.gh.Count(http.MethodGet, "/installation/repositories"); n != 0 {
		t.Errorf("narrowing by name listed the repositories %d times", n)
	}
	resp, err = e.do(logical.UpdateOperation, "token/team", map[string]any{fieldRepositories: "web"})
	requireUserError(t, resp, err, "outside the role")
	resp, err = e.do(logical.UpdateOperation, "token/team", map[string]any{fieldRepositories: "a*"})
	requireUserError(t, resp, err, "patterns and templates belong in a role")
}

func TestExpandPatterns(t *testing.T) {
	repos := []ghclient.Repository{{ID: 1, Name: "team-a-web"}, {ID: 2, Name: "Team-A-API"}, {ID: 3, Name: "billing-service"}, {ID: 4, Name: "team-b"}}
	for _, tc := range []struct {
		entries []string
		want    []string
		err     bool
	}{
		{[]string{"team-a-*"}, []string{"team-a-web", "Team-A-API"}, false},
		{[]string{"*-service", "team-b"}, []string{"team-b", "billing-service"}, false},
		{[]string{"team-?"}, []string{"team-b"}, false},
		{[]string{"TEAM-B", "team-*"}, []string{"TEAM-B", "team-a-web", "Team-A-API"}, false},
		{[]string{"nothing-*"}, nil, true},
		{[]string{"api"}, []string{"api"}, false}, // no pattern: left as is
	} {
		got, err := expandPatterns(scope{Repositories: tc.entries}, repos)
		if (err != nil) != tc.err || (err == nil && !reflect.DeepEqual(got.Repositories, tc.want)) {
			t.Errorf("expandPatterns(%v) = %v, %v; want %v (error %t)", tc.entries, got.Repositories, err, tc.want, tc.err)
		}
	}
}
