package githubapp

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

const testEnterprise = "octo-business"

// addEnterpriseInstallation installs the sample App on an enterprise.
func (e *testEnv) addEnterpriseInstallation(id int64) {
	e.emulator.AddInstallation(ghemu.Installation{ID: id, AppID: testAppID,
		Account:             ghemu.Account{Login: testEnterprise, ID: 5004, Type: ghemu.AccountEnterprise},
		RepositorySelection: ghemu.SelectionSelected,
		Permissions:         map[string]string{"enterprise_organization_installations": "write", "enterprise_administration": "read"}})
}

// A role names its installation by enterprise: found through GitHub once,
// then from the cache; only as GitHub spells the slug.
func TestEnterprise_RoleMintsForTheEnterprisesInstallation(t *testing.T) {
	e := newTestEnv(t)
	e.addEnterpriseInstallation(1004)
	e.mustWrite("roles/ci", map[string]any{fieldEnterprise: testEnterprise, fieldPermissions: "enterprise_organization_installations=read"})
	e.mustWrite("roles/misspelt", map[string]any{fieldEnterprise: "Octo-Business"})
	e.mustWrite("roles/admin", map[string]any{fieldEnterprise: testEnterprise, fieldPermissions: "enterprise_administration=read"})
	got := e.mustRead("roles/ci").Data
	want := map[string]any{
		fieldEnterprise: testEnterprise, fieldRepositories: []string{}, fieldRepositoryIDs: []int64{},
		fieldPermissions: map[string]string{"enterprise_organization_installations": "read"}, fieldTTL: int64(0),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("role read\n got %#v\nwant %#v", got, want)
	}

	for _, role := range []string{"ci", "admin", "ci"} {
		resp := e.mint(role)
		if resp.Data[fieldInstallationID] != int64(1004) {
			t.Fatalf("role %s minted for installation %v", role, resp.Data[fieldInstallationID])
		}
		if info := e.tokenScope(resp); info.InstallationID != 1004 || len(info.Permissions) != 1 {
			t.Errorf("role %s: token %+v", role, info)
		}
	}
	if n := e.emulator.Count(http.MethodGet, "/enterprises/"); n != 1 {
		t.Errorf("%d enterprise lookups for three mints, want 1 (cached)", n)
	}
	resp, err := e.do(logical.ReadOperation, "token/misspelt", nil)
	requireUserError(t, resp, err, `GitHub spells the enterprise "Octo-Business" as "octo-business"`)
	if n := e.emulator.Count(http.MethodGet, "/orgs/") + e.emulator.Count(http.MethodGet, "/users/"); n != 0 {
		t.Errorf("%d owner lookups for an enterprise role", n)
	}
}

// An installation that moved is looked up again after GitHub refuses the
// cached one, as for an owner.
func TestEnterprise_MovedInstallationIsFoundAgain(t *testing.T) {
	e := newTestEnv(t)
	e.addEnterpriseInstallation(1004)
	e.mustWrite("roles/ci", map[string]any{fieldEnterprise: testEnterprise})
	e.mint("ci")
	e.emulator.RemoveInstallation(1004)
	e.addEnterpriseInstallation(1005)

	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	if err == nil && !resp.IsError() {
		t.Fatal("minting for the removed installation succeeded")
	}
	if resp := e.mint("ci"); resp.Data[fieldInstallationID] != int64(1005) {
		t.Errorf("minted for installation %v, want the new one", resp.Data[fieldInstallationID])
	}
}

func TestEnterprise_RoleValidation(t *testing.T) {
	e := newTestEnv(t)
	for _, c := range []struct {
		data map[string]any
		want string
	}{
		{map[string]any{fieldEnterprise: testEnterprise, fieldOwner: "acme"}, "exactly one of installation_id, owner or enterprise"},
		{map[string]any{fieldEnterprise: testEnterprise, fieldInstallationID: idOf(1)}, "exactly one of installation_id, owner or enterprise"},
		{map[string]any{fieldEnterprise: "octo business"}, "slug of a GitHub enterprise"},
		{map[string]any{fieldEnterprise: "{{identity.entity.name}}"}, "slug of a GitHub enterprise"},
		{map[string]any{fieldEnterprise: ""}, "slug of a GitHub enterprise"},
	} {
		resp, err := e.do(logical.CreateOperation, "roles/x", c.data)
		requireUserError(t, resp, err, c.want)
	}

	// A partial update to another kind of installation replaces the other.
	e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme"})
	e.mustWrite("roles/ci", map[string]any{fieldEnterprise: testEnterprise})
	if got := e.mustRead("roles/ci").Data; got[fieldEnterprise] != testEnterprise || got[fieldOwner] != nil {
		t.Errorf("after switching to enterprise: %v", got)
	}
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	if got := e.mustRead("roles/ci").Data; got[fieldEnterprise] != nil || got[fieldInstallationID] != e.sample.OrgInstallationID {
		t.Errorf("after switching to installation_id: %v", got)
	}
}

func TestEnterprise_NotInstalled(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldEnterprise: "elsewhere"})
	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, `not installed on enterprise "elsewhere"`, "fix the role's enterprise")
}

func TestEnterprise_ListedAmongInstallations(t *testing.T) {
	e := newTestEnv(t)
	e.addEnterpriseInstallation(1004)
	resp, err := e.do(logical.ListOperation, "installations/", nil)
	requireOK(t, resp, err)
	info := resp.Data["key_info"].(map[string]any)["1004"].(map[string]any)
	if info["account"] != testEnterprise || info["account_type"] != ghemu.AccountEnterprise || info[fieldRepositorySelection] != ghemu.SelectionSelected {
		t.Errorf("enterprise installation listed as %v", info)
	}
}
