package githubapp

import (
	"slices"
	"strings"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// A permission and level that GitHub's schema accepts is accepted without a
// word, whatever the plugin's own list once said.
func TestRoles_PermissionsGitHubDescribesAreAccepted(t *testing.T) {
	e := newTestEnv(t)
	resp := e.mustWrite("roles/ci", map[string]any{
		fieldInstallationID: idOf(e.sample.OrgInstallationID),
		fieldPermissions: []any{"organization_copilot_seat_management=read", "code_quality=write",
			"enterprise_administration=read", "enterprise_organization_installations=write"},
	})
	if resp != nil && len(resp.Warnings) > 0 {
		t.Errorf("warnings %q", resp.Warnings)
	}
	perms := e.mustRead("roles/ci").Data[fieldPermissions].(map[string]string)
	if perms["organization_copilot_seat_management"] != "read" || perms["code_quality"] != "write" {
		t.Errorf("stored permissions %v", perms)
	}
}

// permissionLackedBy finds a permission that the products matching lacks
// lacks, and some other product has.
func permissionLackedBy(t *testing.T, lacks func(ghclient.Product) bool) (string, []string) {
	t.Helper()
	for _, name := range []string{"custom_properties_for_organizations", "enterprise_custom_properties"} {
		support := ghclient.PermissionProducts(name)
		if len(support) > 0 && !slices.ContainsFunc(support, func(s ghclient.ProductLevels) bool { return lacks(s.Product) }) {
			var lacking []string
			for _, p := range ghclient.Products() {
				if lacks(p) {
					lacking = append(lacking, string(p)+" (no such permission)")
				}
			}
			return name, lacking
		}
	}
	t.Fatal("no permission is missing from those products any more: pick another for this test")
	return "", nil
}

func TestRoles_WarnWhenTheBaseURLsProductLacksAPermission(t *testing.T) {
	server := ghclient.Product.IsServer
	notServer := func(p ghclient.Product) bool { return !p.IsServer() }
	for _, c := range []struct {
		baseURL func(*testEnv) string
		lacks   func(ghclient.Product) bool
	}{
		{func(e *testEnv) string { return e.emulator.URL() + "/api/v3" }, server},
		{func(*testEnv) string { return "https://api.github.com" }, notServer},
	} {
		e := newUnconfiguredEnv(t)
		baseURL := c.baseURL(e)
		e.mustWrite("config", map[string]any{fieldAppID: testAppID, fieldPrivateKey: pkcs1PEM(e.key), fieldBaseURL: baseURL})
		name, lacking := permissionLackedBy(t, c.lacks)

		resp := e.mustWrite("roles/ci", map[string]any{
			fieldInstallationID: idOf(e.sample.OrgInstallationID),
			fieldPermissions:    []any{"contents=read", name + "=read"},
		})
		if resp == nil || len(resp.Warnings) != 1 {
			t.Fatalf("%s, %s=read: warnings %v, want one", baseURL, name, resp)
		}
		for _, want := range append(lacking, "permissions "+name+"=read", "base_url "+baseURL, ghclient.DescriptionSource()) {
			if !strings.Contains(resp.Warnings[0], want) {
				t.Errorf("warning %q does not say %q", resp.Warnings[0], want)
			}
		}
		if strings.Contains(resp.Warnings[0], "contents") {
			t.Errorf("warning %q names a permission every product has", resp.Warnings[0])
		}
	}
}

// A URL that does not tell its product (a proxy, this test's emulator)
// draws no product warning.
func TestRoles_NoProductWarningWhereTheBaseURLDoesNotTell(t *testing.T) {
	e := newTestEnv(t)
	resp := e.mustWrite("roles/ci", map[string]any{
		fieldInstallationID: idOf(e.sample.OrgInstallationID),
		fieldPermissions:    []any{"custom_properties_for_organizations=read", "enterprise_custom_properties=read"},
	})
	if resp != nil && len(resp.Warnings) > 0 {
		t.Errorf("warnings %q", resp.Warnings)
	}
}

func TestRefusingProductsNamesOtherLevels(t *testing.T) {
	support := []ghclient.ProductLevels{
		{Product: "GHES 3.18", Levels: []string{"read", "write"}},
		{Product: "GHES 3.19", Levels: []string{"read", "write", "admin"}},
	}
	got := refusingProducts([]ghclient.Product{"GHES 3.17", "GHES 3.18", "GHES 3.19"}, support, "admin")
	want := []string{"GHES 3.17 (no such permission)", "GHES 3.18 (only read or write)"}
	if !slices.Equal(got, want) {
		t.Errorf("refusingProducts = %q, want %q", got, want)
	}
}

// Enterprises exist on GitHub Enterprise Cloud, not on github.com: at
// https://api.github.com an enterprise role's installation is GHEC's, and
// an enterprise permission draws no warning about github.com; an owner's
// installation may be either.
func TestRoles_EnterpriseRoleIsGHECAtAPIGitHubCom(t *testing.T) {
	e := newUnconfiguredEnv(t)
	e.mustWrite("config", map[string]any{fieldAppID: testAppID, fieldPrivateKey: pkcs1PEM(e.key), fieldBaseURL: ghclient.DefaultBaseURL})
	perms := "enterprise_organization_installations=write"
	if resp := e.mustWrite("roles/ent", map[string]any{fieldEnterprise: testEnterprise, fieldPermissions: perms}); resp != nil && len(resp.Warnings) > 0 {
		t.Errorf("enterprise role at %s: warnings %q", ghclient.DefaultBaseURL, resp.Warnings)
	}
	resp := e.mustWrite("roles/org", map[string]any{fieldOwner: "acme", fieldPermissions: perms})
	if resp == nil || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "github.com (no such permission)") {
		t.Errorf("owner role at %s: warnings %v, want one naming github.com", ghclient.DefaultBaseURL, resp)
	}
}

// A config write that moves base_url to a product warns about the roles
// already written whose permissions that product may not accept: they
// were checked against the old base_url, or none.
func TestConfig_BaseURLChangeWarnsAboutRolesItsProductsMayRefuse(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldPermissions: []any{"contents=read", "custom_properties_for_organizations=read"}})
	e.mustWrite("roles/plain", map[string]any{fieldOwner: "acme", fieldPermissions: "contents=read"})
	ghes := e.emulator.URL() + "/api/v3"
	resp := e.mustWrite("config", map[string]any{fieldBaseURL: ghes, fieldPrivateKey: pkcs1PEM(e.key)})
	if resp == nil || len(resp.Warnings) != 1 {
		t.Fatalf("moving base_url to %s: warnings %v, want one", ghes, resp)
	}
	for _, want := range []string{"base_url " + ghes, "GitHub Enterprise Server", "ci", "vault read <mount>/roles/<name>"} {
		if !strings.Contains(resp.Warnings[0], want) {
			t.Errorf("warning %q does not say %q", resp.Warnings[0], want)
		}
	}
	if strings.Contains(resp.Warnings[0], "plain") {
		t.Errorf("warning %q names a role every product accepts", resp.Warnings[0])
	}
	// A write that leaves base_url as it was says nothing more.
	if resp := e.mustWrite("config", map[string]any{fieldTokenFormat: "classic"}); resp != nil && len(resp.Warnings) > 0 {
		t.Errorf("a write keeping base_url warns %q", resp.Warnings)
	}
}
