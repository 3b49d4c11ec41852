package githubapp

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
)

// jwtAccessor is the mount accessor of the JWT auth method in these tests.
const jwtAccessor = "auth_jwt_0123abcd"

// actionsEntity is the entity Vault's JWT auth method gives a GitHub
// Actions job whose OIDC token's repository claim is repository.
func actionsEntity(repository string) *logical.Entity {
	return &logical.Entity{
		ID:   "entity-" + repository,
		Name: "entity-" + repository,
		Aliases: []*logical.Alias{{
			MountAccessor: jwtAccessor,
			Name:          "repo:" + repository + ":ref:refs/heads/main",
			Metadata:      map[string]string{"repository": repository, "repository_owner": "acme"},
		}},
	}
}

// mintAs mints token/<role> as the given entity (nil: a request without
// one, as a root token makes).
func (e *testEnv) mintAs(entity *logical.Entity, role string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	e.system.EntityVal = entity
	req := &logical.Request{Operation: logical.ReadOperation, Path: "token/" + role, Data: data, Storage: e.storage}
	if entity != nil {
		req.EntityID = entity.ID
	}
	return e.b.HandleRequest(context.Background(), req)
}

const repositoryTemplate = "{{identity.entity.aliases." + jwtAccessor + ".metadata.repository}}"

// One role and one policy serve every job: each gets its own repository.
func TestIdentity_EachJobGetsItsOwnRepository(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/actions", map[string]any{
		fieldOwner:        "acme",
		fieldRepositories: repositoryTemplate,
		fieldPermissions:  "contents=read",
	})
	for _, repo := range []string{"api", "web"} {
		resp, err := e.mintAs(actionsEntity("acme/"+repo), "actions", nil)
		requireOK(t, resp, err)
		if got := e.tokenScope(resp).RepositoryNames; !reflect.DeepEqual(got, []string{repo}) {
			t.Fatalf("the job of acme/%s got a token reaching %v", repo, got)
		}
	}
	// The stored role keeps the template, not a resolved value.
	if got := e.mustRead("roles/actions").Data[fieldRepositories]; !reflect.DeepEqual(got, []string{repositoryTemplate}) {
		t.Fatalf("role repositories %v", got)
	}
}

func TestIdentity_UnresolvableTemplatesNeverWiden(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/actions", map[string]any{fieldOwner: "acme", fieldRepositories: repositoryTemplate})
	noMetadata := actionsEntity("acme/api")
	noMetadata.Aliases[0].Metadata = map[string]string{}
	emptyValue := actionsEntity("acme/api")
	emptyValue.Aliases[0].Metadata["repository"] = ""
	otherMount := actionsEntity("acme/api")
	otherMount.Aliases[0].MountAccessor = "auth_userpass_99"

	for name, tc := range map[string]struct {
		entity *logical.Entity
		wants  []string
	}{
		"no entity (a root token)": {nil, []string{repositoryTemplate, "no entity"}},
		"metadata key missing":     {noMetadata, []string{repositoryTemplate, "found no value"}},
		"empty value":              {emptyValue, []string{repositoryTemplate, "empty value"}},
		"alias on another mount":   {otherMount, []string{repositoryTemplate, "did not log in"}},
		"another owner":            {actionsEntity("evil/api"), []string{`"evil/api"`, "not the role's owner"}},
		"not a repository name":    {actionsEntity("acme/a b"), []string{"not a repository name"}},
		"a pattern from identity":  {actionsEntity("acme/*"), []string{"not a repository name"}},
		"a path step":              {actionsEntity("acme/.."), []string{"not a repository name"}},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := e.mintAs(tc.entity, "actions", nil)
			requireUserError(t, resp, err, tc.wants...)
		})
	}
	if n := e.emulator.Stats().TokensMinted; n != 0 {
		t.Fatalf("GitHub minted %d tokens for unresolvable templates", n)
	}
}

// Narrowing works inside the resolved scope, never beyond it.
func TestIdentity_NarrowingStaysInsideTheResolvedScope(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/actions", map[string]any{
		fieldOwner:        "acme",
		fieldRepositories: repositoryTemplate,
		fieldPermissions:  "contents=write",
	})
	job := actionsEntity("acme/api")
	resp, err := e.mintAs(job, "actions", map[string]any{fieldPermissions: "contents=read"})
	requireOK(t, resp, err)
	if info := e.tokenScope(resp); !reflect.DeepEqual(info.RepositoryNames, []string{"api"}) || info.Permissions["contents"] != "read" {
		t.Fatalf("narrowed token reaches %v with %v", info.RepositoryNames, info.Permissions)
	}
	resp, err = e.mintAs(job, "actions", map[string]any{fieldRepositories: "web"})
	requireUserError(t, resp, err, "outside the role")
}

// The owner may come from the identity too; the installation follows it.
func TestIdentity_OwnerTemplate(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/per-owner", map[string]any{
		fieldOwner: "{{identity.entity.aliases." + jwtAccessor + ".metadata.repository_owner}}",
	})
	resp, err := e.mintAs(actionsEntity("acme/api"), "per-owner", nil)
	requireOK(t, resp, err)
	if got := resp.Data[fieldInstallationID]; got != e.sample.OrgInstallationID {
		t.Fatalf("installation %v; want acme's %d", got, e.sample.OrgInstallationID)
	}
}

// A template yielding owner/name needs the role's owner to check it against.
func TestIdentity_OwnerSlashNameNeedsTheRolesOwner(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/by-id", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldRepositories: repositoryTemplate})
	resp, err := e.mintAs(actionsEntity("acme/api"), "by-id", nil)
	requireUserError(t, resp, err, "set the role's owner")
}

func TestIdentity_TemplatesAreValidatedOnWrite(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct{ field, value, want string }{
		{fieldRepositories, "{{identity.entity.name", "not a valid identity template"},
		{fieldRepositories, "{{time.now}}", "not an identity template that yields one value"},
		{fieldRepositories, "{{identity.entity.nmae}}", "not an identity template that yields one value"},
		{fieldRepositories, "{{identity.entity.groups.names}}", "not an identity template that yields one value"},
		{fieldRepositories, "{{identity.entity.metadata}}", "not an identity template that yields one value"},
		{fieldRepositories, "{{identity.entity.aliases.acc}}", "not an identity template that yields one value"},
		{fieldOwner, "{{identity.entity.metadata.org}}x}}", "not a valid identity template"},
		// Written text no repository name holds would fail every mint.
		{fieldRepositories, "acme/{{identity.entity.name}}", "written around its directives"},
		{fieldRepositories, "*{{identity.entity.name}}", "written around its directives"},
		{fieldOwner, "{{" + string(make([]byte, 600)) + "}}", "longer than"},
	} {
		data := map[string]any{fieldOwner: "acme", tc.field: tc.value}
		resp, err := e.do(logical.CreateOperation, "roles/bad", data)
		requireUserError(t, resp, err, tc.field, tc.want)
	}
}

// A refused template is the request's input: the 400 repeats at most
// quote.MaxBytes bytes of it, however long it is and however the SDK
// words its own complaint.
func TestIdentity_RefusedTemplatesAreQuotedShort(t *testing.T) {
	e := newTestEnv(t)
	filler := strings.Repeat("Z", 400)
	for _, field := range []string{fieldOwner, fieldRepositories} {
		for _, value := range []string{
			"{{identity.entity.metadata." + filler,          // unbalanced
			"{{identity.time.now." + filler + "}}",          // not a single-value directive
			"{{identity.entity.nmae" + filler + "}}",        // a misspelling
			"{{identity.groups.names." + filler + ".nope}}", // a bad group selector
		} {
			resp, err := e.do(logical.CreateOperation, "roles/bad", map[string]any{fieldOwner: "acme", field: value})
			requireUserError(t, resp, err, field)
			if n := strings.Count(resp.Error().Error(), "Z"); n > quote.MaxBytes {
				t.Errorf("%s: the 400 repeats %d bytes of the template; at most %d", field, n, quote.MaxBytes)
			}
		}
	}
}

// An empty value is refused even inside text, where the SDK's result would
// not be empty ("team-" is a name).
func TestIdentity_EmptyDirectiveInsideText(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/team", map[string]any{fieldOwner: "acme", fieldRepositories: "team-{{identity.entity.metadata.team}}"})
	entity := actionsEntity("acme/api")
	entity.Metadata = map[string]string{"team": ""}
	resp, err := e.mintAs(entity, "team", nil)
	requireUserError(t, resp, err, "{{identity.entity.metadata.team}}", "empty value")
	if n := e.emulator.Stats().TokensMinted; n != 0 {
		t.Fatalf("GitHub minted %d tokens", n)
	}
}

// Text written in a repositories template is what a policy on
// roles/<name> compared as part of a repository name: a writer allowed
// "a*" may write "a{{...}}". An owner/name value whose owner takes in that
// text would leave a name the policy never saw, so the owner must come
// whole from the template's first directive. ("acme/{{...}}" is refused on
// write: TestIdentity_TemplatesAreValidatedOnWrite.)
func TestIdentity_WrittenTextNeverBecomesTheOwner(t *testing.T) {
	e := newTestEnv(t)
	entity := actionsEntity("acme/api")
	entity.Metadata = map[string]string{"rest": "cme/infra"}
	tpl := "a{{identity.entity.metadata.rest}}"
	e.mustWrite("roles/team", map[string]any{fieldOwner: "acme", fieldRepositories: tpl})
	resp, err := e.mintAs(entity, "team", nil)
	requireUserError(t, resp, err, tpl, "first directive")
	if n := e.emulator.Stats().TokensMinted; n != 0 {
		t.Fatalf("GitHub minted %d tokens", n)
	}
	// Text after the directive stays in the name.
	e.mustWrite("roles/team", map[string]any{fieldOwner: "acme", fieldRepositories: "{{identity.entity.aliases." + jwtAccessor + ".metadata.repository}}-x"})
	resp, err = e.mintAs(entity, "team", nil)
	requireUserError(t, resp, err, "api-x") // no such repository at GitHub: the name kept its text
}
