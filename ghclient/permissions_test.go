package ghclient

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/githubspec"
)

// The committed table is what scripts/openapi generates from the committed
// extract: an edit by hand to either, or an extract refreshed without its
// table, fails here.
func TestPermissionTableIsGeneratedFromTheExtract(t *testing.T) {
	want, err := githubspec.GenerateTable(githubspec.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("permissions_table.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("permissions_table.go differs from what the extract in internal/githubspec/descriptions generates; run: go run ./scripts/openapi")
	}
}

// Every name and level any product's app-permissions schema accepts is
// accepted, and attributed to exactly the products that list it.
func TestPermissionLevelsAcceptEveryLevelGitHubDescribes(t *testing.T) {
	_, descs, err := githubspec.Load(githubspec.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string][]Product{}
	for _, d := range descs {
		perms, err := d.Permissions()
		if err != nil {
			t.Fatal(err)
		}
		for name, levels := range perms {
			listed[name] = append(listed[name], Product(d.Product))
			allowed, known := PermissionLevels(name)
			for _, level := range levels {
				if !known || !slices.Contains(allowed, level) {
					t.Errorf("%s lists %s=%s; PermissionLevels accepts %v (known %v)", d.File, name, level, allowed, known)
				}
			}
			if !slices.ContainsFunc(PermissionProducts(name), func(p ProductLevels) bool {
				return p.Product == Product(d.Product) && slices.Equal(p.Levels, levels)
			}) {
				t.Errorf("%s lists %s with %v; PermissionProducts says %v", d.File, name, levels, PermissionProducts(name))
			}
		}
	}
	for name, want := range listed {
		var got []Product
		for _, p := range PermissionProducts(name) {
			got = append(got, p.Product)
		}
		if !slices.Equal(got, want) {
			t.Errorf("PermissionProducts(%s) names %v; the descriptions listing it are %v", name, got, want)
		}
	}
	if len(listed) != len(permissionTable) {
		t.Errorf("the table has %d permissions, the descriptions %d", len(permissionTable), len(listed))
	}
}

// The cases that the hand-written table got wrong, as a user met them.
func TestPermissionLevelsOfNamesOnceRefused(t *testing.T) {
	for name, want := range map[string][]string{
		"organization_copilot_seat_management":              {"read", "write"},
		"code_quality":                                      {"read", "write"},
		"enterprise_administration":                         {"read", "write"},
		"enterprise_custom_properties":                      {"read", "write"},
		"enterprise_organization_installations":             {"read", "write"},
		"enterprise_organization_installation_repositories": {"read", "write"},
		"enterprise_custom_properties_for_organizations":    {"read", "write", "admin"},
		"workflows":         {"write"},
		"organization_plan": {"read"},
	} {
		if got, known := PermissionLevels(name); !known || !slices.Equal(got, want) {
			t.Errorf("PermissionLevels(%s) = %v, %v; want %v", name, got, known, want)
		}
	}
	if levels, known := PermissionLevels("no_such_permission"); known || levels != nil {
		t.Errorf("an unknown name is known: %v", levels)
	}
}

func TestProductsAt(t *testing.T) {
	servers := slices.DeleteFunc(Products(), func(p Product) bool { return !p.IsServer() })
	if len(servers) == 0 {
		t.Fatal("the table describes no GitHub Enterprise Server release")
	}
	for base, want := range map[string][]Product{
		"https://api.github.com":            {GitHubCom, GHEC},
		"https://API.GitHub.com/":           {GitHubCom, GHEC},
		"https://api.octocorp.ghe.com":      {GHEC},
		"https://api.github.com.:443/":      {GitHubCom, GHEC}, // the same host, as a base_url may write it
		"https://api.octocorp.ghe.com.":     {GHEC},
		"https://ghe.example.com/api/v3":    servers,
		"https://ghe.example.com/api/v3/":   servers,
		"http://127.0.0.1:8080":             nil,
		"https://proxy.example.com/github":  nil,
		"https://octocorp.ghe.com":          nil, // the web host, not the API
		"https://api.github.com.evil.test/": nil,
	} {
		if got := ProductsAt(base); !slices.Equal(got, want) {
			t.Errorf("ProductsAt(%s) = %v, want %v", base, got, want)
		}
	}
}

func TestAPIVersions(t *testing.T) {
	if got := APIVersions(); !slices.Equal(got, []string{DefaultAPIVersion, "2026-03-10"}) {
		t.Errorf("APIVersions() = %v", got)
	}
	for _, p := range Products() {
		versions := APIVersionsOf(p)
		if versions[0] != DefaultAPIVersion || slices.Contains(versions, "2026-03-10") == p.IsServer() {
			t.Errorf("%s knows versions %v", p, versions)
		}
	}
	if APIVersionsOf("GHES 2.0") != nil {
		t.Error("an unknown product knows versions")
	}
}
