package githubapp

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

func TestRoles_CRUDAndList(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{
		fieldOwner:        "acme",
		fieldRepositories: []any{"api", "web"},
		fieldPermissions:  []string{"contents=read", "pull_requests=write"},
		fieldTTL:          "30m",
	})
	e.mustWrite("roles/deploy.prod", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldRepositoryIDs: []any{"7", "8"}})

	got := e.mustRead("roles/ci").Data
	want := map[string]any{
		fieldOwner:         "acme",
		fieldRepositories:  []string{"api", "web"},
		fieldRepositoryIDs: []int64{},
		fieldPermissions:   map[string]string{"contents": "read", "pull_requests": "write"},
		fieldTTL:           int64(1800),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("role read\n got %#v\nwant %#v", got, want)
	}
	if got := e.mustRead("roles/deploy.prod").Data; got[fieldInstallationID] != e.sample.OrgInstallationID || !reflect.DeepEqual(got[fieldRepositoryIDs], []int64{7, 8}) {
		t.Fatalf("role read %v", got)
	}

	resp, err := e.do(logical.ListOperation, "roles/", nil)
	requireOK(t, resp, err)
	if keys := resp.Data["keys"]; !reflect.DeepEqual(keys, []string{"ci", "deploy.prod"}) {
		t.Fatalf("list %v", keys)
	}

	if _, err := e.do(logical.DeleteOperation, "roles/ci", nil); err != nil {
		t.Fatal(err)
	}
	resp, err = e.do(logical.ReadOperation, "roles/ci", nil)
	if err != nil || resp != nil {
		t.Fatalf("read after delete: %v %v", resp, err)
	}
	resp, err = e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, `role "ci" does not exist`)
}

func TestRoles_PartialUpdate(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: "api", fieldPermissions: []any{"contents=read"}})

	e.mustWrite("roles/ci", map[string]any{fieldTTL: 600})
	got := e.mustRead("roles/ci").Data
	if got[fieldOwner] != "acme" || !reflect.DeepEqual(got[fieldRepositories], []string{"api"}) || got[fieldTTL] != int64(600) {
		t.Fatalf("partial update lost fields: %v", got)
	}

	// Switching to installation_id replaces owner; * gives every repository.
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldRepositories: "*"})
	got = e.mustRead("roles/ci").Data
	if _, hasOwner := got[fieldOwner]; hasOwner || got[fieldInstallationID] != e.sample.OrgInstallationID {
		t.Fatalf("installation switch: %v", got)
	}
	if !reflect.DeepEqual(got[fieldRepositories], []string{}) {
		t.Fatalf("repositories not cleared: %v", got[fieldRepositories])
	}
}

func TestRoles_UnknownPermissionWarns(t *testing.T) {
	e := newTestEnv(t)
	resp := e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme", fieldPermissions: "hovercraft_pilots=write"})
	if resp == nil || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "hovercraft_pilots") {
		t.Fatalf("want one warning naming the permission, got %#v", resp)
	}
}

func TestRoles_ValidationMatrix(t *testing.T) {
	tooMany := make([]string, 501)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("repo-%d", i)
	}
	cases := []struct {
		name string
		path string
		data map[string]any
		want []string
	}{
		{"no installation", "roles/ci", map[string]any{fieldRepositories: "api"}, []string{"installation_id or owner"}},
		{"both installation and owner", "roles/ci", map[string]any{fieldOwner: "acme", fieldInstallationID: idOf(1)}, []string{"installation_id or owner", "not both"}},
		{"zero installation", "roles/ci", map[string]any{fieldInstallationID: idOf(0)}, []string{"installation_id"}},
		{"installation not a number", "roles/ci", map[string]any{fieldInstallationID: "abc"}, []string{"installation_id"}},
		{"installation as a JSON number", "roles/ci", map[string]any{fieldInstallationID: json.Number("5")}, []string{"installation_id", "as a string"}},
		{"installation with a leading zero", "roles/ci", map[string]any{fieldInstallationID: "05"}, []string{"installation_id", "leading zero"}},
		{"owner with white space", "roles/ci", map[string]any{fieldOwner: " acme"}, []string{"owner"}},
		{"bad owner", "roles/ci", map[string]any{fieldOwner: "ac me"}, []string{"owner"}},
		{"owner as a list", "roles/ci", map[string]any{fieldOwner: []any{"acme"}}, []string{"owner must be a string", "a JSON array"}},
		{"enterprise as a number", "roles/ci", map[string]any{fieldEnterprise: json.Number("5")}, []string{"enterprise must be a string", "a number"}},
		{"owner/repo in repositories", "roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: "acme/api"}, []string{"repositories", `"api"`}},
		{"bad repository name", "roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: "a b"}, []string{"repositories", `"a b"`}},
		{"repository named .", "roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: "."}, []string{"repositories", `"."`}},
		{"repository named ..", "roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: []any{"api", ".."}}, []string{"repositories", `".."`}},
		{"duplicate repository, mixed case", "roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: []any{"api", "API"}}, []string{"repositories", "twice"}},
		{"duplicate repository id", "roles/ci", map[string]any{fieldOwner: "acme", fieldRepositoryIDs: []any{"5", "5"}}, []string{"repository_ids", "twice"}},
		{"negative repository id", "roles/ci", map[string]any{fieldOwner: "acme", fieldRepositoryIDs: "-5"}, []string{"repository_ids"}},
		{"501 repositories", "roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: tooMany}, []string{"repositories", "500"}},
		{"bad level", "roles/ci", map[string]any{fieldOwner: "acme", fieldPermissions: "contents=owner"}, []string{"permissions", `"owner"`, "read, write or admin"}},
		{"capitalised level", "roles/ci", map[string]any{fieldOwner: "acme", fieldPermissions: "contents=Write"}, []string{"permissions", `"Write"`}},
		{"malformed permission name", "roles/ci", map[string]any{fieldOwner: "acme", fieldPermissions: "Contents!=read"}, []string{"permissions", `"Contents!"`}},
		{"level a permission does not take", "roles/ci", map[string]any{fieldOwner: "acme", fieldPermissions: "workflows=read"}, []string{"permissions", "workflows", "write"}},
		{"permissions not pairs", "roles/ci", map[string]any{fieldOwner: "acme", fieldPermissions: "contents"}, []string{"permissions"}},
		{"ttl above 1h", "roles/ci", map[string]any{fieldOwner: "acme", fieldTTL: "2h"}, []string{"ttl", "1h"}},
		{"ttl negative", "roles/ci", map[string]any{fieldOwner: "acme", fieldTTL: "-5m"}, []string{"ttl"}},
		{"ttl zero", "roles/ci", map[string]any{fieldOwner: "acme", fieldTTL: "0"}, []string{"ttl"}},
		{"ttl garbage", "roles/ci", map[string]any{fieldOwner: "acme", fieldTTL: "soon"}, []string{"ttl"}},
		{"unknown field", "roles/ci", map[string]any{fieldOwner: "acme", "repositores": "api"}, []string{"unknown field", "repositores"}},
		{"name with slash", "roles/a/b", map[string]any{fieldOwner: "acme"}, []string{"role name", `"a/b"`}},
		{"name with space", "roles/a b", map[string]any{fieldOwner: "acme"}, []string{"role name"}},
		{"name dot dot", "roles/..", map[string]any{fieldOwner: "acme"}, []string{"role name"}},
		{"name unicode", "roles/rôle", map[string]any{fieldOwner: "acme"}, []string{"role name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			before := storageSnapshot(t, e.storage)
			resp, err := e.do(logical.CreateOperation, tc.path, tc.data)
			requireUserError(t, resp, err, tc.want...)
			requireSameStorage(t, before, storageSnapshot(t, e.storage))
		})
	}
}

func TestRoles_RejectedUpdateKeepsStoredRole(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: "api"})
	before := storageSnapshot(t, e.storage)
	resp, err := e.do(logical.UpdateOperation, "roles/ci", map[string]any{fieldRepositories: "web", fieldTTL: "3h"})
	requireUserError(t, resp, err, "ttl")
	requireSameStorage(t, before, storageSnapshot(t, e.storage))
	if got := e.mustRead("roles/ci").Data[fieldRepositories]; !reflect.DeepEqual(got, []string{"api"}) {
		t.Fatalf("cached role changed by a rejected write: %v", got)
	}
}
