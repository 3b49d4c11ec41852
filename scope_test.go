package githubapp

import (
	"reflect"
	"strings"
	"testing"
)

// narrow needs no network: every rule of narrowing, as a table.
func TestScopeNarrow(t *testing.T) {
	role := scope{
		Repositories:  []string{"api", "Web", "team-*"},
		RepositoryIDs: []int64{7},
		Permissions:   map[string]string{"contents": "write", "issues": "read"},
	}
	for _, tc := range []struct {
		name string
		req  scope
		want scope  // when err is ""
		err  string // part of the error, or "" for success
	}{
		{name: "nothing asked keeps the role's scope", req: scope{}, want: role},
		{name: "empty lists keep the role's scope, never widen", req: scope{Repositories: []string{}, Permissions: map[string]string{}}, want: role},
		{name: "a name, case-insensitively",
			req:  scope{Repositories: []string{"WEB"}},
			want: scope{Repositories: []string{"WEB"}, Permissions: role.Permissions}},
		{name: "a name a pattern matches",
			req:  scope{Repositories: []string{"team-x"}},
			want: scope{Repositories: []string{"team-x"}, Permissions: role.Permissions}},
		{name: "an ID of the role's",
			req:  scope{RepositoryIDs: []int64{7}},
			want: scope{RepositoryIDs: []int64{7}, Permissions: role.Permissions}},
		{name: "a lower level",
			req:  scope{Permissions: map[string]string{"contents": "read"}},
			want: scope{Repositories: role.Repositories, RepositoryIDs: role.RepositoryIDs, Permissions: map[string]string{"contents": "read"}}},
		{name: "a name outside", req: scope{Repositories: []string{"infra"}}, err: "infra"},
		{name: "a name outside next to one inside", req: scope{Repositories: []string{"api", "infra"}}, err: "infra"},
		{name: "an ID outside", req: scope{RepositoryIDs: []int64{8}}, err: "repository_ids 8"},
		{name: "a higher level", req: scope{Permissions: map[string]string{"issues": "write"}}, err: "exceeds"},
		{name: "a permission the role lacks", req: scope{Permissions: map[string]string{"actions": "read"}}, err: "actions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := role.narrow(tc.req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("narrow = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}

	// A role without restrictions allows any narrowing.
	open := scope{}
	req := scope{Repositories: []string{"anything"}, Permissions: map[string]string{"contents": "admin"}}
	if got, err := open.narrow(req); err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("an open role narrowed to %+v, %v", got, err)
	}
}
