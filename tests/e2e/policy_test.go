package e2e

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

// teamsInstallationID is an installation on organisation "teams", whose
// repositories belong to two teams and to nobody's team.
const teamsInstallationID = 1010

// seedTeams installs the App on "teams": team-a-api, team-a-web, team-b-api
// and secrets, every one selected.
func seedTeams(emu *Emulator) {
	teams := ghemu.Account{Login: "teams", ID: 5010, Type: ghemu.AccountOrganization}
	var ids []int64
	for i, name := range []string{"team-a-api", "team-a-web", "team-b-api", "secrets"} {
		id := int64(3001 + i)
		emu.AddRepository(ghemu.Repository{ID: id, Owner: "teams", Name: name, Private: true})
		ids = append(ids, id)
	}
	emu.AddInstallation(ghemu.Installation{ID: teamsInstallationID, AppID: appID, Account: teams,
		RepositorySelection: ghemu.SelectionSelected, RepositoryIDs: ids,
		Permissions: map[string]string{"contents": "write", "metadata": "read", "pull_requests": "write", "issues": "write"}})
}

// startTeams starts a dev Vault with the plugin mounted on an emulator
// seeded by seedTeams.
func startTeams(t *testing.T) (*Vault, *Emulator) {
	t.Helper()
	emu := StartEmulator(t)
	seedTeams(emu)
	v := StartDevVault(t)
	v.MountGitHub(t, emu)
	return v, emu
}

// apiStatus writes to path through the HTTP API with a JSON body and
// returns the status Vault answered and, on success, the minted token.
func apiStatus(t *testing.T, client *api.Client, path string, data map[string]any) (int, string) {
	t.Helper()
	secret, err := client.Logical().Write(path, data)
	var respErr *api.ResponseError
	switch {
	case errors.As(err, &respErr):
		return respErr.StatusCode, ""
	case err != nil:
		t.Fatalf("writing %s: %v", path, err)
	}
	if secret == nil { // a role write answers 204
		return http.StatusNoContent, ""
	}
	token, _ := secret.Data["token"].(string)
	return http.StatusOK, token
}

// The README's recipe, on a real Vault, held by a token with only that
// policy: what Vault lets through mints inside the policy, what it does not
// never reaches GitHub, and the spellings Vault compares otherwise than the
// plugin would read them (the empty list, the comma) are refused by the
// plugin. Checked at the emulator, token by token.
func TestPolicyRecipe_ReadOnlyTokensForATeam(t *testing.T) {
	t.Parallel()
	v, emu := startTeams(t)
	v.MustCLI(t, "write", "github/roles/ci", "owner=teams") // every repository and permission of teams
	v.MustCLI(t, "policy", "write", "team-a", v.writeFile(t, "team-a.hcl",
		readmeBlock(t, "team-read-only-policy")))
	team := v.MustCLI(t, "token", "create", "-policy=team-a", "-field=token")
	client := v.Client(t, team)
	handedOut := 0

	t.Run("inside the policy", func(t *testing.T) {
		m := v.Mint(t, team, "write", "github/token/ci", "repositories=team-a-api", "permissions=contents=read")
		wantMinted(t, emu, m, teamsInstallationID, []string{"team-a-api"}, map[string]string{"contents": "read"})
		m = v.Mint(t, team, "write", "github/token/ci", "repositories=team-a-api", "repositories=team-a-web",
			"permissions=contents=read", "permissions=pull_requests=read")
		wantMinted(t, emu, m, teamsInstallationID, []string{"team-a-api", "team-a-web"},
			map[string]string{"contents": "read", "pull_requests": "read"})
		handedOut += 2
	})

	before := emu.Count(http.MethodPost, "/app/installations/")
	for _, tc := range []struct {
		name string
		data map[string]any
		want int
	}{
		{"another team's repository", map[string]any{"repositories": "team-b-api", "permissions": "contents=read"}, http.StatusForbidden},
		{"a write permission", map[string]any{"repositories": "team-a-api", "permissions": "contents=write"}, http.StatusForbidden},
		{"no permissions", map[string]any{"repositories": "team-a-api"}, http.StatusForbidden},
		{"empty lists, which Vault allows", map[string]any{"repositories": []any{}, "permissions": []any{}}, http.StatusBadRequest},
		{"empty strings, which Vault allows", map[string]any{"repositories": "", "permissions": ""}, http.StatusBadRequest},
		{"a comma string a glob matches whole", map[string]any{"repositories": "team-a-api,secrets", "permissions": "contents=read"}, http.StatusBadRequest},
		{"IDs, which the policy does not allow", map[string]any{"repositories": "team-a-api", "repository_ids": []any{"3004"}, "permissions": "contents=read"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, _ := apiStatus(t, client, "github/token/ci", tc.data); status != tc.want {
				t.Errorf("HTTP %d; want %d", status, tc.want)
			}
		})
	}
	if n := emu.Count(http.MethodPost, "/app/installations/") - before; n != 0 {
		t.Errorf("refused requests minted %d tokens at GitHub", n)
	}
	if live := emu.LiveTokens(); live != handedOut {
		t.Errorf("%d live tokens at GitHub; want the %d handed out", live, handedOut)
	}
}

// The second example and a case variant, each under the policy
// that lets it through Vault: the plugin refuses it, and nothing stays
// live at GitHub.
func TestPolicyParameterSpellings(t *testing.T) {
	t.Parallel()
	v, emu := startTeams(t)
	v.MustCLI(t, "write", "github/roles/ci", "owner=teams")
	v.MustCLI(t, "policy", "write", "read-only", v.writeFile(t, "read-only.hcl", `
path "github/token/ci" {
  capabilities       = ["update", "read"]
  allowed_parameters = { "permissions" = ["*=read"], "repositories" = [] }
  denied_parameters  = { "repositories" = ["secrets"] }
}`))
	token := v.MustCLI(t, "token", "create", "-policy=read-only", "-field=token")
	client := v.Client(t, token)

	status, _ := apiStatus(t, client, "github/token/ci", map[string]any{"permissions": []any{"issues=write,contents=read"}})
	if status != http.StatusBadRequest {
		t.Errorf(`permissions ["issues=write,contents=read"] under *=read: HTTP %d; want 400`, status)
	}
	status, _ = apiStatus(t, client, "github/token/ci", map[string]any{"repositories": "SECRETS", "permissions": "contents=read"})
	if status != http.StatusBadRequest {
		t.Errorf("repositories SECRETS under a denied secrets: HTTP %d; want 400", status)
	}
	// A repeated query parameter reaches Vault's ACL as a list it never
	// compares with the denied value.
	r := v.RunAs(t, token, "read", "github/token/ci", "repositories=team-a-api", "repositories=secrets", "permissions=contents=read")
	if r.Code == 0 || !strings.Contains(r.Stderr, "repeated in the query string") {
		t.Errorf("a read repeating repositories: exit %d, %q; want the plugin's refusal", r.Code, r.Stderr)
	}
	status, tok := apiStatus(t, client, "github/token/ci", map[string]any{"repositories": "team-a-api", "permissions": "contents=read"})
	if status != http.StatusOK {
		t.Fatalf("a request inside the policy: HTTP %d", status)
	}
	if live := emu.LiveTokens(); live != 1 || emu.TokenInfo(t, tok).Revoked {
		t.Errorf("%d live tokens at GitHub; want only the one handed out (the misspelt one revoked)", live)
	}
}

// A delegated role writer whose policy denies repositories=* cannot give a
// role every repository by a pattern of wildcards alone, which Vault's ACL
// compares as another value than the denied "*".
func TestPolicyRoleWriterCannotWidenByWildcards(t *testing.T) {
	t.Parallel()
	v, _ := startTeams(t)
	v.MustCLI(t, "write", "github/roles/team-a-ci", "owner=teams", "repositories=team-a-*", "permissions=contents=read")
	v.MustCLI(t, "policy", "write", "team-a-roles", v.writeFile(t, "team-a-roles.hcl", `
path "github/roles/team-a-*" {
  capabilities      = ["create", "update", "read"]
  denied_parameters = { "repositories" = ["*"] }
}`))
	client := v.Client(t, v.MustCLI(t, "token", "create", "-policy=team-a-roles", "-field=token"))

	if status, _ := apiStatus(t, client, "github/roles/team-a-ci", map[string]any{"repositories": "*"}); status != http.StatusForbidden {
		t.Fatalf(`repositories "*": HTTP %d; want Vault's 403`, status)
	}
	for _, pattern := range []string{"**", "*?", "?*"} {
		if status, _ := apiStatus(t, client, "github/roles/team-a-ci", map[string]any{"repositories": []any{pattern}}); status != http.StatusBadRequest {
			t.Errorf("repositories [%q]: HTTP %d; want the plugin's 400", pattern, status)
		}
	}
	role, err := client.Logical().Read("github/roles/team-a-ci")
	if err != nil {
		t.Fatal(err)
	}
	if got := role.Data["repositories"]; len(got.([]any)) != 1 || got.([]any)[0] != "team-a-*" {
		t.Errorf("the role's repositories are now %v; want [team-a-*]", got)
	}
}
