package ghemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/githubspec"
)

// The emulator's replies are checked against GitHub's published
// descriptions (internal/githubspec): every product, every API version it
// describes, successes and errors alike.

const testEnterprise = "octo-business"

// specExchange is one request of the tour below and the route GitHub's
// description files it under.
type specExchange struct {
	route, method, path, auth string
	body                      any
	status                    int
}

// specTour is what a client of the emulator does, from minting to
// revoking, with the failures GitHub describes.
func (f *fixture) specTour(t *testing.T, enterprise bool) []specExchange {
	jwt := "Bearer " + f.appJWT(t)
	const mint = "POST /app/installations/{installation_id}/access_tokens"
	ex := []specExchange{
		{mint, "POST", mintPath(f.sample.OrgInstallationID), jwt,
			map[string]any{"repositories": []string{"api", "web"}, "permissions": map[string]string{"contents": "read"}}, 201},
		{mint, "POST", mintPath(f.sample.UserInstallationID), jwt, nil, 201},
		{mint, "POST", mintPath(999), jwt, nil, 404},
		{mint, "POST", mintPath(f.sample.OrgInstallationID), jwt, map[string]any{"permissions": map[string]string{"administration": "write"}}, 422},
		{mint, "POST", mintPath(f.sample.OrgInstallationID), jwt, map[string]any{"repositories": []string{"nope"}}, 422},
		{mint, "POST", mintPath(f.sample.SuspendedInstallationID), jwt, nil, 403},
		{mint, "POST", mintPath(f.sample.OrgInstallationID), "Bearer not-a-jwt", nil, 401},
		{"GET /app", "GET", "/app", jwt, nil, 200},
		{InstallationListRoute, "GET", "/app/installations", jwt, nil, 200},
		{"GET /app/installations/{installation_id}", "GET", "/app/installations/" + strconv.FormatInt(f.sample.SuspendedInstallationID, 10), jwt, nil, 200},
		{"GET /app/installations/{installation_id}", "GET", "/app/installations/999", jwt, nil, 404},
		{"GET /orgs/{org}/installation", "GET", "/orgs/acme/installation", jwt, nil, 200},
		{"GET /users/{username}/installation", "GET", "/users/octocat/installation", jwt, nil, 200},
		{"GET /repos/{owner}/{repo}/installation", "GET", "/repos/acme/api/installation", jwt, nil, 200},
		{"GET /repos/{owner}/{repo}/installation", "GET", "/repos/acme/billing/installation", jwt, nil, 404},
	}
	if enterprise {
		ex = append(ex, specExchange{"GET /enterprises/{enterprise}/installation", "GET", "/enterprises/" + testEnterprise + "/installation", jwt, nil, 200})
	}
	return ex
}

// InstallationListRoute is where the emulator's list must fit GitHub's
// installation schema (see githubspec.InstallationListRoute).
const InstallationListRoute = githubspec.InstallationListRoute

func addEnterpriseInstallation(s *Server) {
	s.AddInstallation(Installation{ID: 1004, AppID: testAppID, Account: Account{Login: testEnterprise, ID: 5004, Type: AccountEnterprise},
		RepositorySelection: SelectionSelected, Permissions: map[string]string{"enterprise_organization_installations": "write"}})
}

// send makes one request of the tour under an API version and a base path.
func (f *fixture) send(t *testing.T, prefix, version string, e specExchange) reply {
	t.Helper()
	var rd io.Reader
	if e.body != nil {
		b, _ := json.Marshal(e.body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(e.method, f.URL()+prefix+e.path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", testUA)
	req.Header.Set("Authorization", e.auth)
	req.Header.Set(apiVersionHeader, version)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("X-GitHub-Api-Version-Selected"); got != version {
		t.Errorf("%s %s: X-GitHub-Api-Version-Selected %q, want %q", e.method, e.path, got, version)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

func productPrefix(d *githubspec.Description) string {
	if strings.HasPrefix(d.Product, "GHES ") {
		return ghesPrefix
	}
	return ""
}

func TestRepliesFitGitHubsDescriptions(t *testing.T) {
	_, descs, err := githubspec.Load(githubspec.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range descs {
		prefix := productPrefix(d)
		for _, version := range d.Versions() {
			v, err := d.Validator(version)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t)
			addEnterpriseInstallation(f.Server)
			var tokens []string
			for _, e := range f.specTour(t, slices.Contains(d.Operations(), "GET /enterprises/{enterprise}/installation")) {
				r := f.send(t, prefix, version, e)
				if r.status != e.status {
					t.Fatalf("%s %s %s%s: status %d, want %d: %s", d.Product, version, e.method, e.path, r.status, e.status, r.body)
				}
				if err := v.Response(e.route, r.status, r.body); err != nil {
					t.Errorf("%s %s: %s%s: %v", d.Product, version, e.method, e.path, err)
				}
				if e.status == 201 {
					var m mintReply
					r.json(t, &m)
					tokens = append(tokens, m.Token)
					f.checkRepositoryShape(t, d, version, m.Repositories)
				}
			}
			// Using and revoking the tokens, then using one revoked.
			const list, revoke = "GET /installation/repositories", "DELETE /installation/token"
			for _, tok := range tokens {
				r := f.send(t, prefix, version, specExchange{list, "GET", "/installation/repositories", "token " + tok, nil, 200})
				if err := v.Response(list, r.status, r.body); r.status != 200 || err != nil {
					t.Errorf("%s %s: listing: %d %v", d.Product, version, r.status, err)
				}
				var page struct{ Repositories []map[string]any }
				r.json(t, &page)
				f.checkRepositoryShape(t, d, version, page.Repositories)
				if r := f.send(t, prefix, version, specExchange{revoke, "DELETE", "/installation/token", "token " + tok, nil, 204}); r.status != 204 || len(r.body) != 0 {
					t.Errorf("%s %s: revoking: %d %s", d.Product, version, r.status, r.body)
				}
			}
			r := f.send(t, prefix, version, specExchange{list, "GET", "/installation/repositories", "token " + tokens[0], nil, 401})
			if err := v.Response(list, r.status, r.body); r.status != 401 || err != nil {
				t.Errorf("%s %s: listing with a revoked token: %d %v", d.Product, version, r.status, err)
			}
		}
	}
}

// checkRepositoryShape checks what the schema cannot, since it allows
// properties it does not list: a version's removed fields are gone, and
// the base version has them.
func (f *fixture) checkRepositoryShape(t *testing.T, d *githubspec.Description, version string, repos []map[string]any) {
	t.Helper()
	removed := d.RemovedProperties("repository", githubspec.BaseVersion)
	if version != githubspec.BaseVersion {
		removed = d.RemovedProperties("repository", version)
	}
	for _, repo := range repos {
		for _, field := range removed {
			if _, ok := repo[field]; ok {
				t.Errorf("%s %s: repository %v carries %s, which that version removed", d.Product, version, repo["name"], field)
			}
		}
		if _, ok := repo["has_downloads"]; version == githubspec.BaseVersion && !ok {
			t.Errorf("%s %s: repository %v lacks has_downloads", d.Product, version, repo["name"])
		}
	}
}

// The emulator removes what GitHub's descriptions say 2026-03-10 removes.
func TestRemovedRepositoryFieldsAreTheDescriptions(t *testing.T) {
	_, descs, err := githubspec.Load(githubspec.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range descs {
		if !slices.Contains(d.Versions(), APIVersion2026) {
			continue
		}
		if got := d.RemovedProperties("repository", APIVersion2026); !slices.Equal(got, removedInAPIVersion2026) {
			t.Errorf("%s: 2026-03-10 removes %v from repositories; the emulator removes %v", d.File, got, removedInAPIVersion2026)
		}
	}
}

// Each product answers the versions it knows, and refuses the others with
// GitHub's 400.
func TestAPIVersions(t *testing.T) {
	_, descs, err := githubspec.Load(githubspec.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	app := specExchange{"GET /app", "GET", "/app", "Bearer " + f.appJWT(t), nil, 200}
	for _, d := range descs {
		prefix := productPrefix(d)
		if got, _ := selectAPIVersion("", prefix); got != APIVersion2022 {
			t.Errorf("%s: no version header selects %s", d.Product, got)
		}
		for _, version := range []string{APIVersion2022, APIVersion2026} {
			_, ok := selectAPIVersion(version, prefix)
			if want := slices.Contains(d.Versions(), version); ok != want {
				t.Errorf("%s: version %s accepted %v; its description has it: %v", d.Product, version, ok, want)
			}
		}
	}
	for _, c := range []struct{ prefix, version string }{{"", "v3"}, {ghesPrefix, APIVersion2026}} {
		req, _ := http.NewRequest(http.MethodGet, f.URL()+c.prefix+"/app", nil)
		req.Header.Set("User-Agent", testUA)
		req.Header.Set("Authorization", app.auth)
		req.Header.Set(apiVersionHeader, c.version)
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := reply{status: resp.StatusCode, body: body}
		if r.status != http.StatusBadRequest || !strings.Contains(r.message(t), `"`+c.version+`", is not a supported version`) {
			t.Errorf("%s version %s: %d %s", c.prefix, c.version, r.status, body)
		}
	}
}
