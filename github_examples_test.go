package githubapp

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/githubspec"
)

// GitHub's own example of a mint reply, from its published description, is
// handed out as GitHub means it: the token, its hour, its grant.
func TestToken_GitHubsExampleMintReply(t *testing.T) {
	_, descs, err := githubspec.Load(githubspec.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	example, err := descs[0].Example("installation-token")
	if err != nil {
		t.Fatal(err)
	}
	e := newRoleEnv(t, map[string]any{fieldRepositories: "Hello-World", fieldPermissions: []any{"issues=write", "contents=read"}})
	// The example expires at 2016-07-11T22:14:10Z: GitHub's clock says it
	// was minted an hour before.
	e.emulator.SetNow(func() time.Time { return time.Date(2016, 7, 11, 21, 14, 10, 0, time.UTC) })
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusCreated, Body: string(example), PathPrefix: "/app/installations/"})
	resp := e.mint("ci")

	want := map[string]any{
		fieldToken:               "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
		fieldExpiresAt:           "2016-07-11T22:14:10Z",
		fieldInstallationID:      e.sample.OrgInstallationID,
		fieldPermissions:         map[string]string{"issues": "write", "contents": "read"},
		fieldRepositorySelection: "selected",
		fieldRepositories:        []string{"Hello-World"},
		fieldHashedToken:         ghclient.HashedToken("ghs_16C7e42F292c6912E7710c838347Ae178B4a"),
	}
	if !reflect.DeepEqual(resp.Data, want) {
		t.Errorf("handed out\n %#v\nwant\n %#v", resp.Data, want)
	}
	if resp.Secret.TTL != time.Hour-time.Second {
		t.Errorf("lease TTL %s, want the token's hour less a second", resp.Secret.TTL)
	}
}
