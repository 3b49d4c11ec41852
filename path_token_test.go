package githubapp

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
)

// mint reads token/<role> and returns the response, failing on error.
func (e *testEnv) mint(role string) *logical.Response {
	e.t.Helper()
	resp := e.mustRead("token/" + role)
	if resp.Secret == nil {
		e.t.Fatal("token response carries no lease")
	}
	return resp
}

// tokenScope asks the emulator what the minted token can really reach.
func (e *testEnv) tokenScope(resp *logical.Response) ghemu.TokenInfo {
	e.t.Helper()
	info, ok := e.emulator.Token(resp.Data[fieldToken].(string))
	if !ok {
		e.t.Fatal("the emulator never minted this token")
	}
	return info
}

func (e *testEnv) revoke(secret *logical.Secret) (*logical.Response, error) {
	return e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RevokeOperation,
		Path:      "token/ci",
		Secret:    secret,
		Storage:   e.storage,
	})
}

// requireRevokes revokes the lease of a mint response, as Vault does, and
// fails with msg unless that succeeds and GitHub no longer honours the token.
func (e *testEnv) requireRevokes(resp *logical.Response, msg string) {
	e.t.Helper()
	_, err := e.revoke(resp.Secret)
	requireOK(e.t, nil, err)
	if !e.tokenScope(resp).Revoked {
		e.t.Fatal(msg)
	}
}

func TestToken_MintForInstallationIDRole(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{
		fieldInstallationID: idOf(e.sample.OrgInstallationID),
		fieldRepositories:   []any{"api", "web"},
		fieldPermissions:    "contents=read",
	})
	resp := e.mint("ci")

	tok := resp.Data[fieldToken].(string)
	if !strings.HasPrefix(tok, "ghs_") {
		t.Fatalf("token %q", tok)
	}
	if got := resp.Data[fieldInstallationID]; got != e.sample.OrgInstallationID {
		t.Errorf("installation_id %v", got)
	}
	if got := resp.Data[fieldRepositories]; !reflect.DeepEqual(got, []string{"api", "web"}) {
		t.Errorf("repositories %#v, want names only", got)
	}
	if got := resp.Data[fieldPermissions]; !reflect.DeepEqual(got, map[string]string{"contents": "read"}) {
		t.Errorf("permissions %v", got)
	}
	if got := resp.Data[fieldRepositorySelection]; got != "selected" {
		t.Errorf("repository_selection %v", got)
	}
	expiresAt, err := time.Parse(time.RFC3339, resp.Data[fieldExpiresAt].(string))
	if err != nil {
		t.Fatal(err)
	}

	info := e.tokenScope(resp)
	if !info.ExpiresAt.Equal(expiresAt) {
		t.Errorf("expires_at %v, emulator says %v", expiresAt, info.ExpiresAt)
	}
	if got := sortedCopy(info.RepositoryNames); !reflect.DeepEqual(got, []string{"api", "web"}) {
		t.Errorf("token reaches %v", got)
	}
	if !reflect.DeepEqual(info.Permissions, map[string]string{"contents": "read"}) {
		t.Errorf("token permissions %v", info.Permissions)
	}

	if resp.Secret.Renewable {
		t.Error("lease is renewable")
	}
	if ttl := resp.Secret.TTL; ttl > time.Hour || ttl < 59*time.Minute {
		t.Errorf("lease TTL %v, want the token's ~1h life", ttl)
	}
	if resp.Secret.MaxTTL != resp.Secret.TTL {
		t.Errorf("max TTL %v != TTL %v", resp.Secret.MaxTTL, resp.Secret.TTL)
	}
}

func TestToken_RoleWithoutScopeGetsWholeInstallation(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/all", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	resp := e.mint("all")
	info := e.tokenScope(resp)
	if len(info.RepositoryNames) != len(acmeSelected) {
		t.Fatalf("token reaches %v, want all of %v", info.RepositoryNames, acmeSelected)
	}
	if got := resp.Data[fieldRepositories]; !reflect.DeepEqual(got, []string{}) {
		t.Fatalf("repositories %#v", got)
	}
}

func TestToken_OwnerRoleResolvedOnce(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: "api"})
	for range 3 {
		if got := e.mint("ci").Data[fieldInstallationID]; got != e.sample.OrgInstallationID {
			t.Fatalf("installation_id %v, want %d", got, e.sample.OrgInstallationID)
		}
	}
	if n := e.emulator.Count(http.MethodGet, "/orgs/"); n != 1 {
		t.Errorf("%d installation lookups for 3 tokens, want 1", n)
	}
	if n := e.emulator.Count(http.MethodPost, "/app/installations/"); n != 3 {
		t.Errorf("%d mints, want 3", n)
	}
}

// GitHub finds an owner whatever its case; a Vault policy on roles/<name>
// compared the role's spelling, so only GitHub's is taken.
func TestToken_OwnerSpelledOtherwiseIsRefused(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "ACME"})
	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, `GitHub spells the owner "ACME" as "acme"`)
	if n := e.emulator.Count(http.MethodPost, "/app/installations/"); n != 0 {
		t.Errorf("%d mints for a misspelt owner, want 0", n)
	}
}

// A repository asked for in another case than GitHub's reaches a token
// GitHub spells its own way: revoked, and the caller told the spelling.
func TestToken_RepositorySpelledOtherwiseIsRevoked(t *testing.T) {
	e := newRoleEnv(t, nil)
	resp, err := e.do(logical.UpdateOperation, "token/ci", map[string]any{fieldRepositories: "API"})
	requireUserError(t, resp, err, `GitHub spells "API" as "api"`)
	if n := e.emulator.Count(http.MethodPost, "/app/installations/"); n != 1 {
		t.Errorf("%d mints, want 1", n)
	}
	if live := e.emulator.LiveTokens(); live != 0 {
		t.Errorf("%d live tokens after a refused spelling, want 0", live)
	}
}

func TestToken_OwnerRoleOnUserAccount(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/personal", map[string]any{fieldOwner: "octocat"})
	if got := e.mint("personal").Data[fieldInstallationID]; got != e.sample.UserInstallationID {
		t.Fatalf("installation_id %v, want %d", got, e.sample.UserInstallationID)
	}
}

func TestToken_OwnerCacheDroppedWhenInstallationGone(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme"})
	e.mint("ci")
	e.emulator.RemoveInstallation(e.sample.OrgInstallationID)

	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, "404")
	resp, err = e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, "acme")
	if n := e.emulator.Count(http.MethodGet, "/orgs/"); n != 2 {
		t.Fatalf("%d owner lookups, want a fresh one after the 404", n)
	}
}

func TestToken_Narrowing(t *testing.T) {
	cases := []struct {
		name      string
		role      map[string]any
		request   map[string]any
		wantRepos []string
		wantPerms map[string]string
		wantErr   []string
	}{
		{
			name:      "subset of repositories and lower permission",
			role:      map[string]any{fieldRepositories: []any{"api", "web"}, fieldPermissions: []any{"contents=write", "issues=read"}},
			request:   map[string]any{fieldRepositories: "api", fieldPermissions: "contents=read"},
			wantRepos: []string{"api"}, wantPerms: map[string]string{"contents": "read"},
		},
		{
			name:      "permissions only keeps the role's repositories",
			role:      map[string]any{fieldRepositories: []any{"api", "web"}, fieldPermissions: "contents=write"},
			request:   map[string]any{fieldPermissions: "contents=read"},
			wantRepos: []string{"api", "web"}, wantPerms: map[string]string{"contents": "read"},
		},
		{
			name:    "repository outside the role",
			role:    map[string]any{fieldRepositories: []any{"api", "web"}},
			request: map[string]any{fieldRepositories: []any{"api", "docs"}},
			wantErr: []string{"docs", "outside"},
		},
		{
			name:    "repository id outside the role",
			role:    map[string]any{fieldRepositories: "api"},
			request: map[string]any{fieldRepositoryIDs: "12345"},
			wantErr: []string{"repository_ids", "12345"},
		},
		{
			name:    "permission above the role",
			role:    map[string]any{fieldPermissions: "contents=read"},
			request: map[string]any{fieldPermissions: "contents=write"},
			wantErr: []string{"contents=write", "exceeds", "contents=read"},
		},
		{
			name:    "permission the role lacks",
			role:    map[string]any{fieldPermissions: "contents=read"},
			request: map[string]any{fieldPermissions: "issues=read"},
			wantErr: []string{"issues", "outside"},
		},
		{
			name:      "role without repositories allows any repository of the installation",
			role:      map[string]any{},
			request:   map[string]any{fieldRepositories: "docs"},
			wantRepos: []string{"docs"},
		},
		{
			name:      "role without permissions allows any granted permission",
			role:      map[string]any{},
			request:   map[string]any{fieldPermissions: "issues=write"},
			wantPerms: map[string]string{"issues": "write"},
		},
		{
			name:    "an empty request list is refused, never read as no narrowing",
			role:    map[string]any{fieldRepositories: "api"},
			request: map[string]any{fieldRepositories: []any{}},
			wantErr: []string{"repositories names nothing"},
		},
		{
			name:    "bad level in request",
			role:    map[string]any{},
			request: map[string]any{fieldPermissions: "contents=all"},
			wantErr: []string{"permissions", `"all"`},
		},
		{
			name:    "unknown field in request",
			role:    map[string]any{},
			request: map[string]any{"repository": "api"},
			wantErr: []string{"unknown field", "repository"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			role := map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)}
			for k, v := range tc.role {
				role[k] = v
			}
			e.mustWrite("roles/ci", role)

			resp, err := e.do(logical.UpdateOperation, "token/ci", tc.request)
			if tc.wantErr != nil {
				requireUserError(t, resp, err, tc.wantErr...)
				if n := e.emulator.Count(http.MethodPost, "/app/installations/"); n != 0 {
					t.Fatalf("a refused narrowing still called GitHub %d times", n)
				}
				return
			}
			requireOK(t, resp, err)
			info := e.tokenScope(resp)
			if tc.wantRepos != nil && !reflect.DeepEqual(sortedCopy(info.RepositoryNames), tc.wantRepos) {
				t.Errorf("token reaches %v, want %v", info.RepositoryNames, tc.wantRepos)
			}
			if tc.wantPerms != nil && !reflect.DeepEqual(info.Permissions, tc.wantPerms) {
				t.Errorf("token permissions %v, want %v", info.Permissions, tc.wantPerms)
			}
		})
	}
}

func TestToken_LeaseTTLFromRole(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldTTL: "2m"})
	if ttl := e.mint("ci").Secret.TTL; ttl != 2*time.Minute {
		t.Fatalf("lease TTL %v, want 2m", ttl)
	}
}

func TestLeaseTTL(t *testing.T) {
	cases := []struct {
		name     string
		roleTTL  time.Duration
		lifetime time.Duration
		want     time.Duration
	}{
		{"no role ttl: the token's life less Date's resolution", 0, time.Hour, time.Hour - time.Second},
		{"role ttl below the token's life", 10 * time.Minute, time.Hour, 10 * time.Minute},
		{"token dies before the role ttl", 50 * time.Minute, 20*time.Minute + 1500*time.Millisecond, 20 * time.Minute},
		{"a reply claiming decades", 0, 70 * 365 * 24 * time.Hour, time.Hour},
		{"under a second left", 0, 300 * time.Millisecond, time.Second},
	}
	for _, tc := range cases {
		if got := leaseTTL(tc.roleTTL, tc.lifetime); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestToken_RevokeRevokesAtGitHub(t *testing.T) {
	e := newRoleEnv(t, nil)
	resp := e.mint("ci")

	e.requireRevokes(resp, "token still live at GitHub after revocation")

	// GitHub answers 401 for a token it no longer knows: that counts as done.
	_, err := e.revoke(resp.Secret)
	requireOK(t, nil, err)
	if n := e.emulator.Count(http.MethodDelete, "/installation/token"); n != 2 {
		t.Fatalf("%d revocation calls, want 2", n)
	}
}

func TestToken_RevokeFromJSONRoundTrippedLease(t *testing.T) {
	e := newRoleEnv(t, nil)
	resp := e.mint("ci")

	// Vault keeps lease data as JSON and hands it back with numbers as
	// json.Number; revocation must work from that alone.
	raw, err := json.Marshal(resp.Secret.InternalData)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var internal map[string]any
	if err := dec.Decode(&internal); err != nil {
		t.Fatal(err)
	}
	// A new backend whose config points at another GitHub: revocation must
	// go to the GitHub the lease's token came from.
	fresh := newTestEnv(t)
	_, err = fresh.revoke(&logical.Secret{InternalData: internal})
	requireOK(t, nil, err)
	if !e.tokenScope(resp).Revoked {
		t.Fatal("token not revoked from round-tripped lease data")
	}
}

func TestToken_RevokeOfExpiredTokenSkipsGitHub(t *testing.T) {
	e := newRoleEnv(t, nil)
	resp := e.mint("ci")
	resp.Secret.InternalData[fieldExpiresLocal] = time.Now().Add(-expiredMargin - time.Second).UTC().Format(time.RFC3339)

	_, err := e.revoke(resp.Secret)
	requireOK(t, nil, err)
	if n := e.emulator.Count(http.MethodDelete, "/installation/token"); n != 0 {
		t.Fatalf("revoking an expired token called GitHub %d times", n)
	}
}

func TestToken_RevokeFailureIsRetryable(t *testing.T) {
	e := newRoleEnv(t, nil)
	resp := e.mint("ci")
	e.emulator.FailNext(10, ghemu.Fault{Status: http.StatusServiceUnavailable, PathPrefix: "/installation/token"})

	if _, err := e.revoke(resp.Secret); err == nil {
		t.Fatal("revocation reported success while GitHub was down")
	}
	if e.tokenScope(resp).Revoked {
		t.Fatal("token revoked despite the faults")
	}
}

func TestToken_GitHubRefusalsReachTheUser(t *testing.T) {
	cases := []struct {
		name string
		role func(e *testEnv) map[string]any
		want []string
	}{
		{"422 repository outside installation", func(e *testEnv) map[string]any {
			return map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldRepositories: "dotfiles"}
		}, []string{"422", "not accessible to the parent installation", "repositories dotfiles"}},
		{"422 permission not granted", func(e *testEnv) map[string]any {
			return map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldPermissions: "administration=write"}
		}, []string{"422", "not granted to this installation", "permissions administration=write"}},
		{"403 suspended", func(e *testEnv) map[string]any {
			return map[string]any{fieldInstallationID: idOf(e.sample.SuspendedInstallationID)}
		}, []string{"403", "suspended"}},
		{"404 unknown installation", func(e *testEnv) map[string]any {
			return map[string]any{fieldInstallationID: idOf(987654321)}
		}, []string{"404", "Not Found", "987654321"}},
		{"404 owner without installation", func(e *testEnv) map[string]any {
			return map[string]any{fieldOwner: "nobody-here"}
		}, []string{"404", `owner "nobody-here"`, "not installed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.mustWrite("roles/ci", tc.role(e))
			resp, err := e.do(logical.ReadOperation, "token/ci", nil)
			requireUserError(t, resp, err, tc.want...)
		})
	}
}

func TestToken_KeyOfAnotherApp(t *testing.T) {
	e := newTestEnv(t)
	_, other := testKeys(t)
	e.mustWrite("config", map[string]any{fieldPrivateKey: pkcs1PEM(other), fieldBaseURL: e.emulator.URL()})
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, "the private key does not belong to app 4242")
}

func TestToken_UnknownRoleAndBadName(t *testing.T) {
	e := newTestEnv(t)
	resp, err := e.do(logical.ReadOperation, "token/nope", nil)
	requireUserError(t, resp, err, `role "nope" does not exist`)
	resp, err = e.do(logical.ReadOperation, "token/a/b", nil)
	requireUserError(t, resp, err, "role name")
	// The longest valid name is quoted no more than any other input.
	resp, err = e.do(logical.ReadOperation, "token/"+strings.Repeat("r", 128), nil)
	requireUserError(t, resp, err, "does not exist")
	if n := strings.Count(resp.Error().Error(), "rr"); n > quote.MaxBytes/2 {
		t.Errorf("the 400 repeats the unknown role name at length: %s", resp.Error())
	}
}

func TestToken_OpaqueLongTokens(t *testing.T) {
	e := newTestEnv(t)
	e.emulator.SetTokenFormat(true)
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	resp := e.mint("ci")
	if tok := resp.Data[fieldToken].(string); len(tok) < 400 {
		t.Fatalf("token %d chars; want GitHub's long format passed through", len(tok))
	}
	e.requireRevokes(resp, "long-format token not revoked")
}

// cancelledAfter is a request context that reports cancellation once cond
// holds, without closing Done: it models Vault dropping a request at the
// instant GitHub's reply arrives, after the HTTP exchange completed.
type cancelledAfter struct {
	context.Context
	cond func() bool
}

func (c cancelledAfter) Err() error {
	if c.cond() {
		return context.Canceled
	}
	return nil
}

func TestToken_UndeliveredTokenIsRevoked(t *testing.T) {
	e := newRoleEnv(t, nil)
	var minted atomic.Bool
	ctx := cancelledAfter{Context: context.Background(), cond: func() bool {
		if e.emulator.Count(http.MethodPost, "/app/installations/") > 0 {
			minted.Store(true)
		}
		return minted.Load()
	}}

	resp, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "token/ci", Storage: e.storage})
	if err == nil {
		t.Fatalf("want the cancellation error, got %v", resp)
	}
	if live := e.emulator.LiveTokens(); live != 0 {
		t.Fatalf("%d live tokens after an undelivered mint, want 0", live)
	}
	if !strings.Contains(e.logs.String(), "revoked a token whose request was cancelled") {
		t.Fatal("the clean-up was not logged")
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// acmeSelected are the repositories the sample installation on acme covers.
var acmeSelected = []string{"api", "docs", "infra", "web"}
