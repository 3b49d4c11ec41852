package scope

import (
	"slices"
	"strings"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// listOf turns a fuzzed string into a field value: a list of the pieces
// between newlines, or the string itself when it has none.
func listOf(s string) any {
	if !strings.Contains(s, "\n") {
		return s
	}
	pieces := strings.Split(s, "\n")
	out := make([]any, len(pieces))
	for i, p := range pieces {
		out[i] = p
	}
	return out
}

func fieldsOf(repos, ids, perms string) map[string]any {
	raw := map[string]any{}
	for field, value := range map[string]string{FieldRepositories: repos, FieldRepositoryIDs: ids, FieldPermissions: perms} {
		if value != "-" {
			raw[field] = listOf(value)
		}
	}
	return raw
}

// requireValid checks what the parsers promise of anything they accept.
func requireValid(t *testing.T, s Scope, f form) {
	t.Helper()
	if n := len(s.Repositories) + len(s.RepositoryIDs); n > MaxRepositories {
		t.Fatalf("accepted %d repositories", n)
	}
	for _, entry := range s.Repositories {
		valid := IsRepositoryName(entry)
		if f == roleForm {
			valid = valid || repositoryPattern.MatchString(entry) || (IsTemplate(entry) && ValidateTemplate(FieldRepositories, entry) == nil)
		}
		if !valid || strings.ContainsAny(entry, ", \t") {
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

// requireInside checks that a narrowed scope grants nothing its role lacks,
// comparing names exactly (or by a role's pattern, case-sensitively).
func requireInside(t *testing.T, got, role Scope) {
	t.Helper()
	if role.RestrictsRepositories() {
		if !got.RestrictsRepositories() {
			t.Fatal("narrowing widened a restricted role to every repository")
		}
		for _, name := range got.Repositories {
			if !slices.ContainsFunc(role.Repositories, func(r string) bool { return r == name || (IsPattern(r) && matchesPattern(r, name)) }) {
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

// A role parsed from any input narrows only inside itself, and a request
// parsed from any input is well formed. "-" leaves a field out; a newline
// splits a value into a list.
func FuzzNarrowing(f *testing.F) {
	f.Add("api\nweb", "7\n8", "contents=write\nissues=read", "API", "-", "contents=read")
	f.Add("-", "-", "-", "docs", "9", "issues=admin")
	f.Add("api", "-", "contents=read", "", "", "")
	f.Add("acme/api", "-1", "Contents=Read", "a b", "x", "contents")
	f.Add("api", "-", "workflows=write", "api\napi", "1\n1", "=read\ncontents=read")
	f.Add("team-a-*\n*-svc", "-", "contents=read", "TEAM-A-web\nx-svc", "-", "-")
	f.Add("*", "-", "*", "api,web", "007", "issues=write,contents=read")
	f.Add("{{identity.entity.name}}", "-", "-", "*", "-", "-")
	f.Fuzz(func(t *testing.T, roleRepos, roleIDs, rolePerms, reqRepos, reqIDs, reqPerms string) {
		u, err := ParseRoleUpdate(fieldsOf(roleRepos, roleIDs, rolePerms))
		if err != nil {
			return
		}
		role, err := u.Apply(Scope{})
		if err != nil {
			return
		}
		requireValid(t, role, roleForm)
		for _, src := range []Source{Body, Query} {
			req, _, err := ParseRequest(fieldsOf(reqRepos, reqIDs, reqPerms), src)
			if err != nil {
				continue
			}
			requireValid(t, req, requestForm)
			if got, err := role.Narrow(req); err == nil {
				requireInside(t, got, role)
			}
		}
	})
}
