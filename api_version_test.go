package githubapp

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/githubspec"
)

// Minting, and listing for a role's patterns, work under both REST API
// versions; every request names the configured one, and the mint bodies
// fit GitHub's request schema.
func TestConfig_APIVersionMintsAndListsUnderBoth(t *testing.T) {
	for _, version := range []string{"", ghemu.APIVersion2022, ghemu.APIVersion2026} {
		e := newTestEnv(t)
		if version != "" {
			e.mustWrite("config", map[string]any{fieldAPIVersion: version})
		}
		want := cmp.Or(version, ghclient.DefaultAPIVersion)
		if got := e.mustRead("config").Data[fieldAPIVersion]; got != want {
			t.Errorf("api_version reads %v, want %s", got, want)
		}
		e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: []any{"a*", "web"}, fieldPermissions: "contents=read"})
		resp := e.mint("ci")
		if got := resp.Data[fieldRepositories]; !slices.Equal(got.([]string), []string{"api", "web"}) {
			t.Errorf("version %s: repositories %v", want, got)
		}
		e.requireRevokes(resp, "token not revoked")

		routes := map[string]bool{}
		for _, r := range e.emulator.Requests() {
			routes[r.Route] = true
			if got := r.Header.Get("X-GitHub-Api-Version"); got != want {
				t.Errorf("version %s: %s %s named version %q", want, r.Method, r.Path, got)
			}
			if r.Route == mintRoute {
				requireFitsMintSchema(t, want, r.Body)
			}
		}
		if !routes["GET /installation/repositories"] || !routes[mintRoute] {
			t.Errorf("version %s: the role's patterns did not list then mint: %v", want, routes)
		}
	}
}

// requireFitsMintSchema validates a mint request body against every
// description that has the version.
func requireFitsMintSchema(t *testing.T, version string, body []byte) {
	t.Helper()
	_, descs, err := githubspec.Load(githubspec.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range descs {
		if !slices.Contains(d.Versions(), version) {
			continue
		}
		v, err := d.Validator(version)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.RequestBody(mintRoute, body); err != nil {
			t.Errorf("%s %s: mint body %s: %v", d.Product, version, body, err)
		}
	}
}

// GitHub Enterprise Server knows only 2022-11-28: asking it for 2026-03-10
// would fail every request, so the config refuses it, whichever of
// api_version and base_url comes second.
func TestConfig_APIVersionRefusedWhereNotServed(t *testing.T) {
	e := newTestEnv(t)
	ghes := e.emulator.URL() + "/api/v3"
	resp, err := e.do(logical.UpdateOperation, "config", map[string]any{fieldAPIVersion: ghemu.APIVersion2026, fieldBaseURL: ghes, fieldPrivateKey: pkcs1PEM(e.key)})
	requireUserError(t, resp, err, "api_version 2026-03-10", ghes, "GitHub Enterprise Server", "set api_version=2022-11-28 in the same write")

	// Set in an earlier write, the version stays: leaving it out is no fix.
	e.mustWrite("config", map[string]any{fieldAPIVersion: ghemu.APIVersion2026})
	resp, err = e.do(logical.UpdateOperation, "config", map[string]any{fieldBaseURL: ghes, fieldPrivateKey: pkcs1PEM(e.key)})
	requireUserError(t, resp, err, "the stored api_version 2026-03-10", "GitHub Enterprise Server", "set api_version=2022-11-28 in the same write")
	if strings.Contains(resp.Error().Error(), "leave api_version out") {
		t.Errorf("the error tells to leave out the api_version the write left out: %v", resp.Error())
	}

	e.mustWrite("config", map[string]any{fieldAPIVersion: ghemu.APIVersion2022, fieldBaseURL: ghes, fieldPrivateKey: pkcs1PEM(e.key)})
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	e.requireRevokes(e.mint("ci"), "token not revoked")

	for _, bad := range []string{"", "2023-01-01", "v3"} {
		resp, err = e.do(logical.UpdateOperation, "config", map[string]any{fieldAPIVersion: bad})
		requireUserError(t, resp, err, "api_version", "2022-11-28, 2026-03-10")
	}
}

// Both token formats are minted, handed out, hashed as GitHub's audit log
// hashes them, and revoked, whichever format the operator asks for and
// whatever GitHub's default.
func TestConfig_TokenFormats(t *testing.T) {
	for _, c := range []struct {
		format      string
		defaultLong bool
		wantLong    bool
	}{
		{"", false, false}, {tokenFormatGitHub, true, true},
		{tokenFormatStateless, false, true}, {tokenFormatClassic, true, false},
	} {
		e := newTestEnv(t)
		e.emulator.SetTokenFormat(c.defaultLong)
		if c.format != "" {
			e.mustWrite("config", map[string]any{fieldTokenFormat: c.format})
		}
		if got := e.mustRead("config").Data[fieldTokenFormat]; got != cmp.Or(c.format, tokenFormatGitHub) {
			t.Errorf("token_format reads %v", got)
		}
		e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
		resp := e.mint("ci")
		tok := resp.Data[fieldToken].(string)
		if long := strings.HasPrefix(tok, "ghs_4242_") && strings.Count(tok, ".") == 2 && len(tok) > 400; long != c.wantLong {
			t.Errorf("token_format %q, GitHub's default long %v: token %q", c.format, c.defaultLong, tok)
		}
		sum := sha256.Sum256([]byte(tok))
		if got := resp.Data[fieldHashedToken]; got != base64.StdEncoding.EncodeToString(sum[:]) {
			t.Errorf("hashed_token %v is not GitHub's hash of the token", got)
		}
		if !strings.Contains(e.logs.String(), resp.Data[fieldHashedToken].(string)) {
			t.Error("the mint log line lacks the hashed_token")
		}
		e.requireRevokes(resp, "token not revoked")
	}
	e := newTestEnv(t)
	resp, err := e.do(logical.UpdateOperation, "config", map[string]any{fieldTokenFormat: "jwt"})
	requireUserError(t, resp, err, "token_format", "stateless", "classic")
	if got := e.emulator.Count(http.MethodPost, "/app/"); got != 0 {
		t.Errorf("%d mints", got)
	}
}

// A stateless token nobody received goes through the WAL like a classic
// one: kept while GitHub cannot revoke it, revoked once it can.
func TestWAL_StatelessTokenIsRevokedOnceGitHubAnswers(t *testing.T) {
	e := newRoleEnv(t, nil)
	e.mustWrite("config", map[string]any{fieldTokenFormat: tokenFormatStateless})
	e.revocationOutage(failedDiscard)
	e.mintForCallerWhoLeaves()
	tokens := e.emulator.TokenValues()
	if len(tokens) != 1 || len(tokens[0]) < 400 || len(e.walEntries()) != 1 {
		t.Fatalf("tokens %q, %d WAL entries; want one stateless token kept", tokens, len(e.walEntries()))
	}
	e.rollback()
	if info, _ := e.emulator.Token(tokens[0]); !info.Revoked || len(e.walEntries()) != 0 {
		t.Fatalf("after GitHub recovered: revoked %v, %d WAL entries", info.Revoked, len(e.walEntries()))
	}
}
