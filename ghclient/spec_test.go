package ghclient_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/githubspec"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

const mintRoute = "POST /app/installations/{installation_id}/access_tokens"

// specClient is a client of a sample emulator, with cfg's extra settings.
func specClient(t *testing.T, cfg ghclient.Config) (*ghclient.Client, *ghemu.Server, ghemu.Sample) {
	t.Helper()
	key := testkeys.RSA("app")
	gh := ghemu.NewTestServer(t)
	sample := gh.SeedSample(7, "Iv1.spec", &key.PublicKey)
	cfg.BaseURL, cfg.AppID, cfg.PrivateKey = gh.URL(), 7, key
	c, err := ghclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, gh, sample
}

func descriptions(t *testing.T) []*githubspec.Description {
	t.Helper()
	_, descs, err := githubspec.Load(githubspec.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	return descs
}

// The bodies the client sends to mint fit the request schema of every
// product's description.
func TestMintRequestBodiesFitGitHubsSchema(t *testing.T) {
	c, gh, sample := specClient(t, ghclient.Config{})
	ctx := context.Background()
	for _, req := range []ghclient.TokenRequest{
		{},
		{Repositories: []string{"api", "web"}},
		{RepositoryIDs: []int64{sample.Repositories["acme/docs"]}},
		{Repositories: []string{"api"}, RepositoryIDs: []int64{sample.Repositories["acme/web"]}, Permissions: map[string]string{"contents": "read", "issues": "write"}},
	} {
		if _, err := c.CreateInstallationToken(ctx, sample.OrgInstallationID, req); err != nil {
			t.Fatal(err)
		}
	}
	mints := slices.DeleteFunc(gh.Requests(), func(r ghemu.Request) bool { return r.Route != mintRoute })
	if len(mints) != 4 {
		t.Fatalf("%d mints recorded, want 4", len(mints))
	}
	for _, d := range descriptions(t) {
		v, err := d.Validator(githubspec.BaseVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range mints {
			if err := v.RequestBody(mintRoute, r.Body); err != nil {
				t.Errorf("%s: body %s: %v", d.Product, r.Body, err)
			}
		}
	}
}

// The client reads GitHub's own example replies, served by the emulator
// in place of its own, as GitHub means them.
func TestClientDecodesGitHubsExamples(t *testing.T) {
	for _, d := range descriptions(t) {
		c, gh, _ := specClient(t, ghclient.Config{})
		ctx := context.Background()
		example := func(name string, status int, path string) {
			body, err := d.Example(name)
			if err != nil {
				t.Fatal(err)
			}
			gh.FailNext(1, ghemu.Fault{Status: status, Body: string(body), PathPrefix: path})
		}

		// The example token expires at 2016-07-11T22:14:10Z; GitHub's
		// clock says it was minted an hour before.
		gh.SetNow(func() time.Time { return time.Date(2016, 7, 11, 21, 14, 10, 0, time.UTC) })
		example("installation-token", http.StatusCreated, "/app/installations/")
		tok, err := c.CreateInstallationToken(ctx, 1, ghclient.TokenRequest{
			Repositories: []string{"Hello-World"}, Permissions: map[string]string{"issues": "write", "contents": "read"}})
		if err != nil {
			t.Fatalf("%s: mint example: %v", d.Product, err)
		}
		if !strings.HasPrefix(tok.Token, "ghs_") || tok.Lifetime() != time.Hour || tok.RepositorySelection != "selected" ||
			tok.Permissions["issues"] != "write" || len(tok.Permissions) != 2 ||
			!slices.Equal(tok.Repositories, []ghclient.Repository{{ID: 1296269, Name: "Hello-World", FullName: "octocat/Hello-World"}}) {
			t.Errorf("%s: the example token decodes as %+v", d.Product, tok)
		}
		gh.SetNow(nil)

		example("installation", http.StatusOK, "/orgs/")
		inst, err := c.FindInstallationByOwner(ctx, "github")
		if err != nil || inst.ID != 1 || inst.AppID != 1 || inst.Account.Login != "github" || inst.Account.Type != "Organization" ||
			inst.TargetType != "Organization" || inst.Permissions["checks"] != "write" || inst.SuspendedAt != nil {
			t.Errorf("%s: the example installation decodes as %+v, %v", d.Product, inst, err)
		}

		example("base-installation-items", http.StatusOK, "/app/installations")
		list, err := c.ListInstallations(ctx)
		if err != nil || len(list) != 1 || list[0].ID != 1 || list[0].Account.Login != "octocat" || list[0].Permissions["checks"] != "write" {
			t.Errorf("%s: the example installation list decodes as %+v, %v", d.Product, list, err)
		}

		example("repository-paginated-2", http.StatusOK, "/installation/repositories")
		repos, err := c.ListInstallationRepositories(ctx, "ghs_example")
		if err != nil || !slices.Equal(repos, []ghclient.Repository{{ID: 1296269, Name: "Hello-World", FullName: "octocat/Hello-World"}}) {
			t.Errorf("%s: the example repository list decodes as %+v, %v", d.Product, repos, err)
		}
	}
}

// Every request names the configured REST API version, and GitHub (here
// the emulator) answers in it.
func TestClientSendsTheAPIVersion(t *testing.T) {
	for _, version := range []string{"", ghemu.APIVersion2022, ghemu.APIVersion2026} {
		c, gh, sample := specClient(t, ghclient.Config{APIVersion: version})
		tok, err := c.CreateInstallationToken(context.Background(), sample.OrgInstallationID, ghclient.TokenRequest{Repositories: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListInstallationRepositories(context.Background(), tok.Token); err != nil {
			t.Fatal(err)
		}
		want := version
		if want == "" {
			want = ghclient.DefaultAPIVersion
		}
		for _, r := range gh.Requests() {
			if got := r.Header.Values("X-GitHub-Api-Version"); !slices.Equal(got, []string{want}) {
				t.Errorf("APIVersion %q: %s %s sent version %q", version, r.Method, r.Path, got)
			}
		}
	}
}

// StatelessTokens chooses the token format on mints only; either format
// is minted, listed with and revoked.
func TestClientStatelessTokens(t *testing.T) {
	for _, c := range []struct {
		setting     string
		defaultLong bool
		wantLong    bool
	}{{"", false, false}, {"", true, true}, {"enabled", false, true}, {"disabled", true, false}} {
		client, gh, sample := specClient(t, ghclient.Config{StatelessTokens: c.setting})
		gh.SetTokenFormat(c.defaultLong)
		ctx := context.Background()
		tok, err := client.CreateInstallationToken(ctx, sample.OrgInstallationID, ghclient.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if long := strings.Count(tok.Token, ".") == 2 && len(tok.Token) > 400; long != c.wantLong {
			t.Errorf("StatelessTokens %q, emulator default long %v: token %q", c.setting, c.defaultLong, tok.Token)
		}
		if _, err := client.ListInstallationRepositories(ctx, tok.Token); err != nil {
			t.Fatal(err)
		}
		if err := client.RevokeInstallationToken(ctx, tok.Token); err != nil {
			t.Fatal(err)
		}
		if info, _ := gh.Token(tok.Token); !info.Revoked {
			t.Errorf("StatelessTokens %q: token not revoked", c.setting)
		}
		for _, r := range gh.Requests() {
			sent := r.Header.Values(ghclient.StatelessTokenHeader)
			want := []string(nil)
			if r.Route == mintRoute && c.setting != "" {
				want = []string{c.setting}
			}
			if !slices.Equal(sent, want) {
				t.Errorf("StatelessTokens %q: %s %s sent %s %q", c.setting, r.Method, r.Path, ghclient.StatelessTokenHeader, sent)
			}
		}
	}
}

// An App installed on an enterprise is found by its slug.
func TestFindInstallationByEnterprise(t *testing.T) {
	c, gh, _ := specClient(t, ghclient.Config{})
	gh.AddInstallation(ghemu.Installation{ID: 1004, AppID: 7, Account: ghemu.Account{Login: "octo-business", ID: 5004, Type: ghemu.AccountEnterprise},
		RepositorySelection: ghemu.SelectionSelected, Permissions: map[string]string{"enterprise_administration": "read"}})
	inst, err := c.FindInstallationByEnterprise(context.Background(), "Octo-Business")
	if err != nil || inst.ID != 1004 || inst.TargetType != "Enterprise" || inst.Account.Slug != "octo-business" || inst.Account.ID != 5004 {
		t.Fatalf("enterprise installation %+v, %v", inst, err)
	}
	if _, err := c.FindInstallationByEnterprise(context.Background(), "acme"); !ghclient.IsNotFound(err) {
		t.Errorf("an organization found as an enterprise: %v", err)
	}
}
