package ghemu

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var orgGrant = map[string]string{
	"contents": "write", "metadata": "read", "issues": "write",
	"pull_requests": "write", "actions": "read", "checks": "write",
}

func TestMintFullToken(t *testing.T) {
	f := newFixture(t)
	fixed := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.SetNow(func() time.Time { return fixed })

	tests := []struct {
		name          string
		installation  int64
		wantSelection string
		wantPerms     map[string]string
		wantRepos     []string
	}{
		{"selected org", f.sample.OrgInstallationID, SelectionSelected, orgGrant, []string{"api", "web", "docs", "infra"}},
		{"all-repos user", f.sample.UserInstallationID, SelectionAll,
			map[string]string{"contents": "read", "metadata": "read"}, []string{"dotfiles", "blog"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodPost, mintPath(tc.installation), "Bearer "+f.appJWT(t), nil)
			if r.status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var raw map[string]any
			r.json(t, &raw)
			if _, ok := raw["repositories"]; ok {
				t.Error("repositories present although none were named")
			}
			if raw["expires_at"] != "2026-05-01T13:00:00Z" {
				t.Errorf("expires_at = %v, want one hour after the emulator clock", raw["expires_at"])
			}
			var m mintReply
			r.json(t, &m)
			if m.RepositorySelection != tc.wantSelection || !maps.Equal(m.Permissions, tc.wantPerms) {
				t.Errorf("reply selection %q permissions %v", m.RepositorySelection, m.Permissions)
			}
			if !regexp.MustCompile(`^ghs_[A-Za-z0-9]{36}$`).MatchString(m.Token) {
				t.Errorf("token %q is not in the classic format", m.Token)
			}
			info, ok := f.Token(m.Token)
			if !ok {
				t.Fatal("minted token unknown to the emulator")
			}
			if info.InstallationID != tc.installation || info.RepositoriesNamed ||
				!slices.Equal(info.RepositoryNames, tc.wantRepos) || !maps.Equal(info.Permissions, tc.wantPerms) ||
				!info.ExpiresAt.Equal(fixed.Add(time.Hour)) {
				t.Errorf("scope = %+v", info)
			}
		})
	}
}

func TestMintNarrowedToken(t *testing.T) {
	f := newFixture(t)
	m := f.mint(t, f.sample.OrgInstallationID, map[string]any{
		"repositories":   []string{"API", "web", "api"}, // case-insensitive, deduplicated
		"repository_ids": []int64{f.sample.Repositories["acme/docs"]},
		"permissions":    map[string]string{"contents": "read", "issues": "write"},
	})
	wantPerms := map[string]string{"contents": "read", "issues": "write"}
	if m.RepositorySelection != SelectionSelected || !maps.Equal(m.Permissions, wantPerms) {
		t.Errorf("reply selection %q permissions %v", m.RepositorySelection, m.Permissions)
	}
	var names []string
	for _, repo := range m.Repositories {
		names = append(names, repo["full_name"].(string))
		// Full objects, several KB each, as GitHub sends them.
		size := len(must(json.Marshal(repo)))
		owner, _ := repo["owner"].(map[string]any)
		if size < 4000 || owner["login"] != "acme" || owner["type"] != AccountOrganization || repo["node_id"] == "" ||
			!strings.HasSuffix(repo["url"].(string), "/repos/"+repo["full_name"].(string)) {
			t.Errorf("repository object (%d bytes) is not a full GitHub object: %v", size, repo)
		}
	}
	if want := []string{"acme/api", "acme/web", "acme/docs"}; !slices.Equal(names, want) {
		t.Errorf("repositories %v, want %v", names, want)
	}

	info, _ := f.Token(m.Token)
	if !info.RepositoriesNamed || !slices.Equal(info.RepositoryNames, []string{"api", "web", "docs"}) ||
		!slices.Equal(info.RepositoryIDs, []int64{2001, 2002, 2003}) || !maps.Equal(info.Permissions, wantPerms) {
		t.Errorf("scope = %+v", info)
	}

	// The token sees exactly its repositories, with either scheme.
	for _, scheme := range []string{"token ", "Bearer "} {
		r := f.do(t, http.MethodGet, "/installation/repositories", scheme+m.Token, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%sauth: status %d: %s", scheme, r.status, r.body)
		}
		var list struct {
			TotalCount          int              `json:"total_count"`
			RepositorySelection string           `json:"repository_selection"`
			Repositories        []map[string]any `json:"repositories"`
		}
		r.json(t, &list)
		var got []string
		for _, repo := range list.Repositories {
			got = append(got, repo["name"].(string))
		}
		if list.TotalCount != 3 || list.RepositorySelection != SelectionSelected || !slices.Equal(got, []string{"api", "web", "docs"}) {
			t.Errorf("%sauth: listed %d %q %v", scheme, list.TotalCount, list.RepositorySelection, got)
		}
	}
}

func TestMintRefused(t *testing.T) {
	f := newFixture(t)
	other := App{ID: 77, ClientID: "Iv1.other", Slug: "other", Name: "Other", PublicKey: &f.key.PublicKey}
	f.AddApp(other)
	f.AddInstallation(Installation{ID: 7001, AppID: other.ID, Account: Account{Login: "elsewhere", ID: 9, Type: AccountUser},
		RepositorySelection: SelectionAll, Permissions: map[string]string{"metadata": "read"}})

	many := make([]string, 501)
	for i := range many {
		many[i] = fmt.Sprintf("repo-%d", i)
	}
	org := f.sample.OrgInstallationID
	tests := []struct {
		name         string
		installation int64
		body         any
		status       int
		message      string
	}{
		{"repo outside the selection", org, map[string]any{"repositories": []string{"billing"}}, 422, errRepoAccess.message},
		{"repo that does not exist", org, map[string]any{"repositories": []string{"nope"}}, 422, errRepoAccess.message},
		{"full name instead of name", org, map[string]any{"repositories": []string{"acme/api"}}, 422, errRepoAccess.message},
		{"repo id of another account", org, map[string]any{"repository_ids": []int64{2101}}, 422, errRepoAccess.message},
		{"501 repositories", org, map[string]any{"repositories": many}, 422, errTooManyRepos.message},
		{"unknown permission", org, map[string]any{"permissions": map[string]string{"teleport": "read"}}, 422, errNotGranted.message},
		{"permission not granted", org, map[string]any{"permissions": map[string]string{"administration": "read"}}, 422, errNotGranted.message},
		{"above the grant", org, map[string]any{"permissions": map[string]string{"actions": "write"}}, 422, errNotGranted.message},
		{"admin over write", org, map[string]any{"permissions": map[string]string{"contents": "admin"}}, 422, errNotGranted.message},
		{"bad level", org, map[string]any{"permissions": map[string]string{"contents": "execute"}}, 422, errBadLevel.message},
		{"wrong JSON type", org, map[string]any{"repository_ids": []string{"2001"}}, 422, errInvalidRequest.message},
		{"malformed JSON", org, `{"repositories": [`, 400, errBadJSON.message},
		{"suspended", f.sample.SuspendedInstallationID, nil, 403, errSuspended.message},
		{"unknown installation", 999999, nil, 404, "Not Found"},
		{"another App's installation", 7001, nil, 404, "Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodPost, mintPath(tc.installation), "Bearer "+f.appJWT(t), tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if got := r.message(t); got != tc.message {
				t.Errorf("message %q, want %q", got, tc.message)
			}
		})
	}
	if n := f.LiveTokens(); n != 0 {
		t.Errorf("refused requests minted %d tokens", n)
	}
}

func TestRevokeToken(t *testing.T) {
	f := newFixture(t)
	m := f.mint(t, f.sample.UserInstallationID, nil)
	if f.LiveTokens() != 1 {
		t.Fatalf("LiveTokens = %d, want 1", f.LiveTokens())
	}
	if r := f.do(t, http.MethodDelete, "/installation/token", "token "+m.Token, nil); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("revoke: status %d: %s", r.status, r.body)
	}
	for _, req := range [][2]string{{http.MethodDelete, "/installation/token"}, {http.MethodGet, "/installation/repositories"}} {
		r := f.do(t, req[0], req[1], "token "+m.Token, nil)
		if r.status != http.StatusUnauthorized || r.message(t) != "Bad credentials" {
			t.Errorf("%s after revoke: status %d: %s", req[0], r.status, r.body)
		}
	}
	if info, _ := f.Token(m.Token); !info.Revoked || f.LiveTokens() != 0 {
		t.Errorf("after revoke: %+v, live %d", info, f.LiveTokens())
	}
	// A JWT is not an installation token.
	if r := f.do(t, http.MethodGet, "/installation/repositories", "Bearer "+f.appJWT(t), nil); r.status != http.StatusUnauthorized {
		t.Errorf("JWT on a token endpoint: status %d", r.status)
	}
	if r := f.do(t, http.MethodGet, "/installation/repositories", "", nil); r.status != http.StatusUnauthorized || r.message(t) != "Requires authentication" {
		t.Errorf("no credentials: status %d: %s", r.status, r.body)
	}
}

func TestExpiredToken(t *testing.T) {
	f := newFixture(t)
	start := time.Now()
	m := f.mint(t, f.sample.UserInstallationID, nil)
	f.SetNow(func() time.Time { return start.Add(time.Hour + time.Second) })
	r := f.do(t, http.MethodGet, "/installation/repositories", "token "+m.Token, nil)
	if r.status != http.StatusUnauthorized || r.message(t) != "Bad credentials" {
		t.Errorf("expired token: status %d: %s", r.status, r.body)
	}
	if r := f.do(t, http.MethodDelete, "/installation/token", "token "+m.Token, nil); r.status != http.StatusUnauthorized {
		t.Errorf("revoking an expired token: status %d", r.status)
	}
	if info, _ := f.Token(m.Token); !info.Expired || info.Revoked || f.LiveTokens() != 0 {
		t.Errorf("expired token info %+v, live %d", info, f.LiveTokens())
	}
}

func TestInstallationChanges(t *testing.T) {
	f := newFixture(t)
	m := f.mint(t, f.sample.OrgInstallationID, nil)

	f.SetInstallationSuspended(f.sample.OrgInstallationID, true)
	r := f.do(t, http.MethodGet, "/installation/repositories", "token "+m.Token, nil)
	if r.status != http.StatusForbidden || r.message(t) != errSuspended.message {
		t.Errorf("token of a suspended installation: status %d: %s", r.status, r.body)
	}
	f.SetInstallationSuspended(f.sample.OrgInstallationID, false)
	if r := f.do(t, http.MethodGet, "/installation/repositories", "token "+m.Token, nil); r.status != http.StatusOK {
		t.Errorf("after unsuspending: status %d", r.status)
	}

	f.RemoveInstallation(f.sample.OrgInstallationID)
	if r := f.do(t, http.MethodGet, "/installation/repositories", "token "+m.Token, nil); r.status != http.StatusUnauthorized {
		t.Errorf("token of a removed installation: status %d", r.status)
	}
	if r := f.do(t, http.MethodPost, mintPath(f.sample.OrgInstallationID), "Bearer "+f.appJWT(t), nil); r.status != http.StatusNotFound {
		t.Errorf("minting on a removed installation: status %d", r.status)
	}
}

func TestEnterpriseServerPrefix(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodPost, "/api/v3"+mintPath(f.sample.OrgInstallationID), "Bearer "+f.appJWT(t),
		map[string]any{"repositories": []string{"infra"}})
	if r.status != http.StatusCreated {
		t.Fatalf("GHES mint: status %d: %s", r.status, r.body)
	}
	var m mintReply
	r.json(t, &m)
	if url := m.Repositories[0]["url"].(string); url != f.URL()+"/api/v3/repos/acme/infra" {
		t.Errorf("repository url %q does not keep the /api/v3 base", url)
	}
	if r := f.do(t, http.MethodGet, "/api/v3/installation/repositories", "token "+m.Token, nil); r.status != http.StatusOK {
		t.Errorf("GHES list: status %d", r.status)
	}
	r = f.do(t, http.MethodGet, "/api/v3/app/installations?per_page=1", "Bearer "+f.appJWT(t), nil)
	if want := `<` + f.URL() + `/api/v3/app/installations?page=2&per_page=1>; rel="next"`; !strings.HasPrefix(r.header.Get("Link"), want) {
		t.Errorf("GHES Link %q, want it to start with %q", r.header.Get("Link"), want)
	}
	if got := f.Count(http.MethodPost, "/app/installations/"); got != 1 {
		t.Errorf("Count of GHES mints = %d, want 1", got)
	}
	if reqs := f.Requests(); reqs[0].Path != "/api/v3"+mintPath(f.sample.OrgInstallationID) {
		t.Errorf("recorded path %q, want the path as sent", reqs[0].Path)
	}
	for _, p := range []string{"/api/v3", "/api/v3/", "/api/v3app", "/api/v3//app"} {
		if r := f.do(t, http.MethodGet, p, "Bearer "+f.appJWT(t), nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, r.status)
		}
	}
}

func TestLongTokenFormat(t *testing.T) {
	f := newFixture(t)
	f.SetTokenFormat(true)
	m := f.mint(t, f.sample.UserInstallationID, nil)
	if !strings.HasPrefix(m.Token, fmt.Sprintf("ghs_%d_", testAppID)) || strings.Count(m.Token, ".") != 2 ||
		len(m.Token) < 480 || len(m.Token) > 560 {
		t.Errorf("long token %q (%d chars) does not have the stateless shape", m.Token, len(m.Token))
	}
	if !regexp.MustCompile(`^ghs_\d+_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`).MatchString(m.Token) {
		t.Errorf("long token has characters outside base64url: %q", m.Token)
	}
	if r := f.do(t, http.MethodGet, "/installation/repositories", "Bearer "+m.Token, nil); r.status != http.StatusOK {
		t.Errorf("long token rejected: status %d", r.status)
	}
	if r := f.do(t, http.MethodDelete, "/installation/token", "token "+m.Token, nil); r.status != http.StatusNoContent {
		t.Errorf("revoking a long token: status %d", r.status)
	}
}

// The mint header forces a format either way, whatever the default.
func TestStatelessTokenHeaderForcesTheFormat(t *testing.T) {
	f := newFixture(t)
	long := regexp.MustCompile(fmt.Sprintf(`^ghs_%d_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`, testAppID))
	classic := regexp.MustCompile(`^ghs_[A-Za-z0-9]{36}$`)
	for _, c := range []struct {
		defaultLong bool
		header      string
		want        *regexp.Regexp
	}{
		{false, "", classic}, {false, "enabled", long}, {false, "disabled", classic},
		{true, "", long}, {true, "enabled", long}, {true, "disabled", classic},
	} {
		f.SetTokenFormat(c.defaultLong)
		req, _ := http.NewRequest(http.MethodPost, f.URL()+mintPath(f.sample.UserInstallationID), nil)
		req.Header.Set("User-Agent", testUA)
		req.Header.Set("Authorization", "Bearer "+f.appJWT(t))
		if c.header != "" {
			req.Header.Set(StatelessTokenHeader, c.header)
		}
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m mintReply
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusCreated || !c.want.MatchString(m.Token) {
			t.Errorf("default long %v, header %q: status %d, token %q", c.defaultLong, c.header, resp.StatusCode, m.Token)
		}
	}
}
