package githubapp

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// parseFuzzScope reads a scope the way a request would carry it; ok is
// false when the framework or the plugin refuses it.
func parseFuzzScope(form scopeForm, repos, ids, perms string) (scope, bool) {
	d := &framework.FieldData{
		Raw:    map[string]any{fieldRepositories: repos, fieldRepositoryIDs: ids, fieldPermissions: perms},
		Schema: scopeFields(form, ""),
	}
	if d.Validate() != nil {
		return scope{}, false
	}
	in, _, err := readScope(d, form)
	return in.scope, err == nil
}

// requireValidScope checks what readScope promises of anything it accepts:
// names, and for a role, well-formed patterns and identity templates.
func requireValidScope(t *testing.T, s scope, form scopeForm) {
	t.Helper()
	if n := len(s.Repositories) + len(s.RepositoryIDs); n > maxRepositories {
		t.Fatalf("accepted %d repositories", n)
	}
	for _, entry := range s.Repositories {
		valid := isRepositoryName(entry)
		if form == roleScope {
			valid = valid || repositoryPattern.MatchString(entry) || (isTemplate(entry) && validateTemplate(fieldRepositories, entry) == nil)
		}
		if !valid {
			t.Fatalf("accepted repository entry %q", entry)
		}
	}
	for _, id := range s.RepositoryIDs {
		if id <= 0 {
			t.Fatalf("accepted repository id %d", id)
		}
	}
	for name, level := range s.Permissions {
		if !permissionPattern.MatchString(name) || !ghclient.IsLevel(level) {
			t.Fatalf("accepted permission %q=%q", name, level)
		}
	}
}

// requireInside checks that a narrowed scope grants nothing its role lacks.
func requireInside(t *testing.T, got, role scope) {
	t.Helper()
	if role.restrictsRepositories() {
		if !got.restrictsRepositories() {
			t.Fatal("narrowing widened a restricted role to every repository")
		}
		for _, name := range got.Repositories {
			if !slices.ContainsFunc(role.Repositories, func(r string) bool { return strings.EqualFold(r, name) || matchesPattern(r, name) }) {
				t.Fatalf("narrowed scope reaches %q outside the role", name)
			}
		}
		for _, id := range got.RepositoryIDs {
			if !slices.Contains(role.RepositoryIDs, id) {
				t.Fatalf("narrowed scope reaches id %d outside the role", id)
			}
		}
	}
	if len(role.Permissions) > 0 {
		if len(got.Permissions) == 0 {
			t.Fatal("narrowing widened a role to every permission")
		}
		for name, level := range got.Permissions {
			if granted, ok := role.Permissions[name]; !ok || !ghclient.LevelCovers(granted, level) {
				t.Fatalf("narrowed scope has %s=%s beyond the role", name, level)
			}
		}
	}
}

func FuzzScopeNarrowing(f *testing.F) {
	f.Add("api,web", "7,8", "contents=write,issues=read", "API", "", "contents=read")
	f.Add("", "", "", "docs", "9", "issues=admin")
	f.Add("api", "", "contents=read", "", "", "")
	f.Add("acme/api", "-1", "Contents=Read", "a b", "x", "contents")
	f.Add("api", "", "workflows=write", "api,api", "1,1", "=read,contents=read")
	f.Add("team-a-*,*-svc", "", "contents=read", "TEAM-A-web,x-svc", "", "")
	f.Add("a?c,[ab]", "", "", "abc", "", "")
	f.Add("{{identity.entity.name}}", "", "", "*", "", "")
	f.Fuzz(func(t *testing.T, roleRepos, roleIDs, rolePerms, reqRepos, reqIDs, reqPerms string) {
		role, ok := parseFuzzScope(roleScope, roleRepos, roleIDs, rolePerms)
		if !ok {
			return
		}
		requireValidScope(t, role, roleScope)
		req, ok := parseFuzzScope(requestScope, reqRepos, reqIDs, reqPerms)
		if !ok {
			return
		}
		requireValidScope(t, req, requestScope)
		got, err := role.narrow(req)
		if err != nil {
			return
		}
		requireInside(t, got, role)
		if hasPattern(role) || slices.ContainsFunc(role.Repositories, isTemplate) {
			return // patterns and templates are not names a request can send
		}
		if _, err := role.narrow(role); err != nil {
			t.Fatalf("a role cannot narrow to its own scope: %v", err)
		}
	})
}

// FuzzRoleWrite sends role names and owners through the real request path:
// no panic, and an accepted role is stored under exactly its valid name.
func FuzzRoleWrite(f *testing.F) {
	for _, seed := range []string{"ci", "deploy.prod", "a/b", "..", "rôle", "a b", "x\x00y", strings.Repeat("n", 200)} {
		f.Add(seed, "acme")
	}
	f.Add("ci", "-acme")
	f.Add("ci", "{{identity.entity.aliases.auth_jwt_1234.metadata.repository_owner}}")
	f.Add("ci", "{{time.now}}")
	f.Add("ci", "{{identity.entity.name")
	conf := logical.TestBackendConfig()
	b, err := Factory(context.Background(), conf)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, owner string) {
		storage := &logical.InmemStorage{}
		resp, err := b.HandleRequest(context.Background(), &logical.Request{
			Operation: logical.CreateOperation, Path: "roles/" + name, Storage: storage,
			Data: map[string]any{fieldOwner: owner},
		})
		keys, _ := logical.CollectKeys(context.Background(), storage)
		if err != nil || resp.IsError() {
			if len(keys) != 0 {
				t.Fatalf("a refused write stored %v", keys)
			}
			return
		}
		if validateRoleName(name) != nil || checkOwner(strings.TrimSpace(owner)) != nil {
			t.Fatalf("accepted role %q with owner %q", name, owner)
		}
		if len(keys) != 1 || keys[0] != roleStoragePrefix+name {
			t.Fatalf("role %q stored as %v", name, keys)
		}
	})
}
