package e2e

import (
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

// The recipe "GitHub Actions → Vault → a token for this repository only",
// end to end: Vault's own JWT auth method validates tokens shaped like
// GitHub Actions' OIDC tokens (signed by a key the test holds, so no
// network), maps the repository claim into the entity alias's metadata,
// and one plugin role and one policy serve every job.

const actionsIssuer = "https://token.actions.githubusercontent.com"

// actionsOIDC signs the kind of token a GitHub Actions job gets from
// $ACTIONS_ID_TOKEN_REQUEST_URL, for a run of repository (owner/name).
func actionsOIDC(t *testing.T, key *rsa.PrivateKey, repository string) string {
	t.Helper()
	return actionsOIDCOf(t, key, repository, "ci")
}

// actionsOIDCOf is actionsOIDC for a run of the workflow named workflow,
// a name whoever may push to the repository chooses.
func actionsOIDCOf(t *testing.T, key *rsa.PrivateKey, repository, workflow string) string {
	t.Helper()
	owner, _, _ := strings.Cut(repository, "/")
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": actionsIssuer, "aud": "https://github.com/" + owner,
		"sub":        "repo:" + repository + ":ref:refs/heads/main",
		"repository": repository, "repository_owner": owner,
		"repository_id": "700123", "repository_owner_id": "5001",
		"ref": "refs/heads/main", "sha": "4f6b2f4c1c0e", "workflow": workflow,
		"job_workflow_ref": repository + "/.github/workflows/ci.yml@refs/heads/main",
		"event_name":       "push", "actor": "octocat", "run_id": "9001", "run_attempt": "1",
		"jti": fmt.Sprint(now.UnixNano()),
		"iat": now.Unix(), "nbf": now.Unix() - 5, "exp": now.Add(5 * time.Minute).Unix(),
	}
	signed, err := testkeys.JWT(key, claims, "actions-test")
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// setupActionsLogin enables the JWT auth method with the OIDC key and two
// roles: "actions", whose bound_claims pin the owner acme, and "any-owner",
// which does not (to show the plugin refuses another owner by itself). It
// returns the method's mount accessor.
func setupActionsLogin(t *testing.T, v *Vault, key *rsa.PrivateKey) string {
	t.Helper()
	pub, err := testkeys.PublicPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v.MustCLI(t, "auth", "enable", "jwt")
	c := v.Client(t, v.Token)
	if _, err := c.Logical().Write("auth/jwt/config", map[string]any{
		"jwt_validation_pubkeys": []string{string(pub)},
		"bound_issuer":           actionsIssuer,
	}); err != nil {
		t.Fatal(err)
	}
	for name, bound := range map[string]map[string]any{
		"actions":   {"repository_owner": "acme"},
		"any-owner": nil,
	} {
		role := map[string]any{
			"role_type":       "jwt",
			"user_claim":      "repository",
			"bound_audiences": []string{"https://github.com/acme", "https://github.com/evil"},
			"claim_mappings":  map[string]string{"repository": "repository", "repository_owner": "repository_owner", "workflow": "workflow"},
			"token_policies":  []string{"github-actions"},
			"token_ttl":       "10m",
		}
		if bound != nil {
			role["bound_claims"] = bound
		}
		if _, err := c.Logical().Write("auth/jwt/role/"+name, role); err != nil {
			t.Fatal(err)
		}
	}
	auths, err := c.Sys().ListAuth()
	if err != nil {
		t.Fatal(err)
	}
	return auths["jwt/"].Accessor
}

func TestIdentityTemplatedRoleForGitHubActions(t *testing.T) {
	t.Parallel()
	emu := StartEmulator(t)
	for id, name := range map[int64]string{3001: "widgets", 3002: "gadgets"} {
		emu.AddRepository(ghemu.Repository{ID: id, Owner: "acme", Name: name})
		emu.SelectRepositories(emu.Sample.OrgInstallationID, id)
	}
	v := StartDevVault(t)
	v.MountGitHub(t, emu)
	oidcKey := testkeys.RSA("oidc")
	accessor := setupActionsLogin(t, v, oidcKey)
	v.MustCLI(t, "write", "github/roles/actions", "owner=acme",
		"repositories={{identity.entity.aliases."+accessor+".metadata.repository}}", "permissions=contents=read")
	v.MustCLI(t, "policy", "write", "github-actions", v.writeFile(t, "actions.hcl", `path "github/token/actions" { capabilities = ["read"] }`))

	login := func(role, repository string) Result {
		return v.RunAs(t, "", "write", "-field=token", "auth/jwt/login", "role="+role, "jwt="+actionsOIDC(t, oidcKey, repository))
	}
	for _, repo := range []string{"widgets", "gadgets"} {
		r := login("actions", "acme/"+repo)
		if r.Code != 0 {
			t.Fatalf("login as acme/%s: %s", repo, r.Stderr)
		}
		m := v.Mint(t, strings.TrimSpace(r.Stdout), "read", "github/token/actions")
		info := emu.TokenInfo(t, m.Token)
		if !slices.Equal(info.RepositoryNames, []string{repo}) || !slices.Equal(m.Repositories, []string{repo}) {
			t.Errorf("the job of acme/%s got a token reaching %v (Vault says %v); want %s only", repo, info.RepositoryNames, m.Repositories, repo)
		}
		t.Logf("job of acme/%s: the emulator's token reaches %v with %v", repo, info.RepositoryNames, info.Permissions)
	}

	if r := login("actions", "evil/widgets"); r.Code == 0 {
		t.Error("a job of another owner logged in through the role bound to acme")
	}
	r := login("any-owner", "evil/widgets")
	if r.Code != 0 {
		t.Fatalf("login through the unbound role: %s", r.Stderr)
	}
	if res := v.RunAs(t, strings.TrimSpace(r.Stdout), "read", "github/token/actions"); res.Code == 0 || !strings.Contains(res.Stderr, "not the role's owner") {
		t.Errorf("a job of evil/widgets reading token/actions: exit %d, %q; want a refusal naming the owner", res.Code, res.Stderr)
	} else {
		t.Logf("job of evil/widgets: %s", lastLine(res.Stderr))
	}
	if res := v.CLI(t, "read", "github/token/actions"); res.Code == 0 || !strings.Contains(res.Stderr, "no entity") {
		t.Errorf("a root token reading token/actions: exit %d, %q; want a 400 saying it has no identity", res.Code, res.Stderr)
	} else {
		t.Logf("root token: %s", lastLine(res.Stderr))
	}
	if n := emu.Stats().TokensMinted; n != 2 {
		t.Errorf("GitHub minted %d tokens; want one per acme job", n)
	}
}

// lastLine is the last non-empty line of a CLI's output: the error itself.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// A team allowed to write roles whose repositories start with "acme" (a
// policy on roles/team-*) writes a template after that text. A job whose
// workflow name (its own choice) is "/infra" makes it yield acme/infra: the
// text the policy compared must not become the owner, leaving infra.
func TestIdentityTemplateTextStaysInTheName(t *testing.T) {
	t.Parallel()
	emu := StartEmulator(t)
	v := StartDevVault(t)
	v.MountGitHub(t, emu)
	oidcKey := testkeys.RSA("oidc")
	accessor := setupActionsLogin(t, v, oidcKey)
	v.MustCLI(t, "policy", "write", "team-roles", v.writeFile(t, "team-roles.hcl", `
path "github/roles/team-*" {
  capabilities       = ["create", "update"]
  required_parameters = ["repositories", "permissions"]
  allowed_parameters = { "owner" = ["acme"], "repositories" = ["acme*"], "permissions" = ["contents=read"] }
}`))
	v.MustCLI(t, "policy", "write", "github-actions", v.writeFile(t, "actions.hcl", `path "github/token/team-x" { capabilities = ["read"] }`))
	writer := v.MustCLI(t, "token", "create", "-policy=team-roles", "-field=token")
	v.MustRunAs(t, writer, "write", "github/roles/team-x", "owner=acme",
		"repositories=acme{{identity.entity.aliases."+accessor+".metadata.workflow}}", "permissions=contents=read")

	r := v.RunAs(t, "", "write", "-field=token", "auth/jwt/login", "role=actions", "jwt="+actionsOIDCOf(t, oidcKey, "acme/api", "/infra"))
	if r.Code != 0 {
		t.Fatalf("login: %s", r.Stderr)
	}
	res := v.RunAs(t, strings.TrimSpace(r.Stdout), "read", "github/token/team-x")
	if res.Code == 0 || !strings.Contains(res.Stderr, "first directive") {
		t.Errorf("a job whose workflow is /infra reading token/team-x: exit %d, %q; want a 400", res.Code, res.Stderr)
	}
	if n := emu.Stats().TokensMinted; n != 0 {
		t.Errorf("GitHub minted %d tokens", n)
	}
}
