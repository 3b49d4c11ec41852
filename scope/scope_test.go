package scope

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// Every rule of narrowing, as a table.
func TestNarrow(t *testing.T) {
	role := Scope{
		Repositories:  []string{"api", "Web", "team-*"},
		RepositoryIDs: []int64{7},
		Permissions:   map[string]string{"contents": "write", "issues": "read"},
	}
	for _, tc := range []struct {
		name string
		req  Scope
		want Scope  // when err is ""
		err  string // part of the error, or "" for success
	}{
		{name: "nothing asked keeps the role's scope", req: Scope{}, want: role},
		{name: "a name as the role spells it",
			req:  Scope{Repositories: []string{"Web"}},
			want: Scope{Repositories: []string{"Web"}, Permissions: role.Permissions}},
		{name: "a name spelled otherwise names the role's spelling", req: Scope{Repositories: []string{"WEB"}}, err: `the role spells "WEB" as "Web"`},
		{name: "a name a pattern matches",
			req:  Scope{Repositories: []string{"team-x"}},
			want: Scope{Repositories: []string{"team-x"}, Permissions: role.Permissions}},
		{name: "patterns match case-sensitively, as Vault's globs do", req: Scope{Repositories: []string{"TEAM-x"}}, err: "outside"},
		{name: "an ID of the role's",
			req:  Scope{RepositoryIDs: []int64{7}},
			want: Scope{RepositoryIDs: []int64{7}, Permissions: role.Permissions}},
		{name: "a lower level",
			req:  Scope{Permissions: map[string]string{"contents": "read"}},
			want: Scope{Repositories: role.Repositories, RepositoryIDs: role.RepositoryIDs, Permissions: map[string]string{"contents": "read"}}},
		{name: "a name outside", req: Scope{Repositories: []string{"infra"}}, err: "infra"},
		{name: "a name outside next to one inside", req: Scope{Repositories: []string{"api", "infra"}}, err: "infra"},
		{name: "an ID outside", req: Scope{RepositoryIDs: []int64{8}}, err: "repository_ids 8"},
		{name: "a higher level", req: Scope{Permissions: map[string]string{"issues": "write"}}, err: "exceeds"},
		{name: "a permission the role lacks", req: Scope{Permissions: map[string]string{"actions": "read"}}, err: "actions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := role.Narrow(tc.req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Narrow = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}

	// A role without restrictions allows any narrowing.
	open := Scope{}
	req := Scope{Repositories: []string{"anything"}, Permissions: map[string]string{"contents": "admin"}}
	if got, err := open.Narrow(req); err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("an open role narrowed to %+v, %v", got, err)
	}
}

// A token whose repository GitHub spells otherwise than it was asked is
// refused; names asked by ID, and exact names, pass.
func TestCheckSpelling(t *testing.T) {
	granted := []ghclient.Repository{{ID: 1, Name: "api"}, {ID: 2, Name: "Web"}}
	for _, tc := range []struct {
		asked []string
		ids   []int64
		err   string
	}{
		{asked: []string{"api", "Web"}},
		{asked: []string{"api"}, ids: []int64{2}},
		{asked: []string{"API", "Web"}, err: `GitHub spells "API" as "api"`},
		{asked: []string{"api", "web"}, err: `GitHub spells "web" as "Web"`},
	} {
		err := CheckSpelling(tc.asked, tc.ids, granted)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("CheckSpelling(%v, %v) = %v; want %q", tc.asked, tc.ids, err, tc.err)
		}
	}
}
