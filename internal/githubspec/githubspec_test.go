package githubspec

import (
	"slices"
	"strings"
	"testing"
)

func load(t *testing.T) (*Manifest, []*Description) {
	t.Helper()
	m, descs, err := Load(Embedded())
	if err != nil {
		t.Fatal(err)
	}
	return m, descs
}

func TestExtractCoversTheProducts(t *testing.T) {
	m, descs := load(t)
	if m.Package != "@octokit/openapi" || m.Version == "" || !strings.HasPrefix(m.Integrity, "sha512-") {
		t.Errorf("manifest %+v", m)
	}
	var products []string
	for _, d := range descs {
		products = append(products, d.Product)
		if got := Lookup(d.Doc, "info", "version"); got != m.Version {
			t.Errorf("%s is version %v, the manifest says %s", d.File, got, m.Version)
		}
	}
	if len(products) < 3 || products[0] != "github.com" || products[1] != "GHEC" || !strings.HasPrefix(products[2], "GHES ") {
		t.Errorf("products %v, want github.com, GHEC and GHES releases", products)
	}
}

func TestSortDescriptionFiles(t *testing.T) {
	files := []string{"ghes-3.10.json", "ghec.json", "ghes-3.9.json", "api.github.com.json"}
	SortDescriptionFiles(files)
	if want := []string{"api.github.com.json", "ghec.json", "ghes-3.9.json", "ghes-3.10.json"}; !slices.Equal(files, want) {
		t.Errorf("sorted %v, want %v", files, want)
	}
}

// GitHub's examples of the replies the plugin reads validate against
// GitHub's schemas, at every version: the validator reads the schemas as
// GitHub means them (nullable, formats, references, breaking changes).
func TestGitHubsExamplesValidate(t *testing.T) {
	_, descs := load(t)
	examples := []struct {
		route   string
		status  int
		example string
	}{
		{"POST /app/installations/{installation_id}/access_tokens", 201, "installation-token"},
		{"GET /app/installations/{installation_id}", 200, "base-installation"},
		{"GET /orgs/{org}/installation", 200, "installation"},
		{InstallationListRoute, 200, "base-installation-items"},
		{"GET /installation/repositories", 200, "repository-paginated-2"},
	}
	for _, d := range descs {
		for _, version := range d.Versions() {
			v, err := d.Validator(version)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range examples {
				body, err := d.Example(e.example)
				if err != nil {
					t.Fatal(err)
				}
				if err := v.Response(e.route, e.status, body); err != nil {
					t.Errorf("%s at %s: example %s: %v", d.File, version, e.example, err)
				}
			}
		}
	}
}

// The validator refuses what GitHub's schemas refuse: a token that is not
// a string, a missing expires_at, a level GitHub does not know, null where
// the schema is not nullable; and accepts null where it is.
func TestValidatorRefusesWhatTheSchemaRefuses(t *testing.T) {
	_, descs := load(t)
	v, err := descs[0].Validator(BaseVersion)
	if err != nil {
		t.Fatal(err)
	}
	const mint = "POST /app/installations/{installation_id}/access_tokens"
	for _, body := range []string{
		`{"token":1,"expires_at":"2016-07-11T22:14:10Z"}`,
		`{"token":"ghs_x"}`,
		`{"token":"ghs_x","expires_at":"2016-07-11T22:14:10Z","permissions":{"contents":"owner"}}`,
		`{"token":"ghs_x","expires_at":"2016-07-11T22:14:10Z","repository_selection":null}`,
	} {
		if err := v.Response(mint, 201, []byte(body)); err == nil {
			t.Errorf("accepted %s", body)
		}
	}
	if err := v.RequestBody(mint, []byte(`{"repository_ids":["1"]}`)); err == nil {
		t.Error("accepted a repository ID given as a string")
	}
	if err := v.Schema("basic-error", []byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest","status":"404"}`)); err != nil {
		t.Error(err)
	}
	if err := v.Schema("nullable-simple-user", []byte(`null`)); err != nil {
		t.Errorf("null refused where the schema is nullable: %v", err)
	}
	if err := v.Schema("simple-user", []byte(`null`)); err == nil {
		t.Error("null accepted where the schema is not nullable")
	}
}

// See InstallationListRoute: the day GitHub's example fits its own list
// schema, the exception can go.
func TestInstallationListSchemaStillRefusesGitHubsExample(t *testing.T) {
	_, descs := load(t)
	for _, d := range descs {
		v, err := d.Validator(BaseVersion)
		if err != nil {
			t.Fatal(err)
		}
		body, err := d.Example("base-installation-items")
		if err != nil {
			t.Fatal(err)
		}
		ptr, err := v.operation(InstallationListRoute)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.validate(ptr+"/responses/200/content/application~1json/schema", body); err == nil {
			t.Errorf("%s: GitHub's installation list example now fits its schema: drop the InstallationListRoute exception", d.File)
		}
	}
}

// The 2026-03-10 version removes fields of the repository object (the
// reason the emulator renders it in two shapes).
func TestBreakingChangesRemoveRepositoryFields(t *testing.T) {
	_, descs := load(t)
	for _, d := range descs {
		removed := d.RemovedProperties("repository", "2026-03-10")
		if !slices.Contains(d.Versions(), "2026-03-10") {
			if removed != nil {
				t.Errorf("%s knows no 2026-03-10 but removes %v", d.File, removed)
			}
			continue
		}
		for _, field := range []string{"has_downloads", "use_squash_pr_title_as_default", "master_branch"} {
			if !slices.Contains(removed, field) {
				t.Errorf("%s: 2026-03-10 removes %v from the repository, not %s", d.File, removed, field)
			}
		}
		if d.RemovedProperties("repository", BaseVersion) != nil {
			t.Errorf("%s: the base version removes fields", d.File)
		}
	}
}
