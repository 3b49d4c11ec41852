package e2e

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

// appID is the emulated App's ID; the plugin signs its JWTs with it as
// issuer because the config names the App by app_id.
const appID = 424242

// Emulator is an in-process GitHub emulator with the sample App installed.
type Emulator struct {
	*ghemu.Server
	URL     string
	Sample  ghemu.Sample
	Key     *rsa.PrivateKey
	KeyFile string // the App's private key as the PEM GitHub hands out
}

// StartEmulator starts an emulator seeded with the sample fixture (org
// "acme": repositories api, web, docs and infra) for an App holding Key.
func StartEmulator(t *testing.T) *Emulator {
	t.Helper()
	key := testkeys.RSA("app")
	s := ghemu.NewTestServer(t)
	keyFile := filepath.Join(t.TempDir(), "app.private-key.pem")
	if err := os.WriteFile(keyFile, testkeys.PKCS1PEM(key), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Emulator{
		Server:  s,
		URL:     s.URL(),
		Sample:  s.SeedSample(appID, "Iv1.e2e0123456789ab", &key.PublicKey),
		Key:     key,
		KeyFile: keyFile,
	}
}

// TokenInfo returns the emulator's record of a token it minted.
func (g *Emulator) TokenInfo(t *testing.T, token string) ghemu.TokenInfo {
	t.Helper()
	info, ok := g.Token(token)
	if !ok {
		t.Fatal("the emulator never minted the token Vault returned")
	}
	return info
}

// RequireLive fails unless the token is unrevoked and usable at the API.
func (g *Emulator) RequireLive(t *testing.T, token string) {
	t.Helper()
	if g.TokenInfo(t, token).Revoked {
		t.Fatal("the token is revoked at GitHub; want it live")
	}
	if status, _ := g.Repositories(t, token); status != http.StatusOK {
		t.Fatalf("GET /installation/repositories with the token: HTTP %d; want 200", status)
	}
}

// RequireRevoked fails unless the token was revoked at GitHub and the API
// refuses it.
func (g *Emulator) RequireRevoked(t *testing.T, token string) {
	t.Helper()
	if !g.TokenInfo(t, token).Revoked {
		t.Fatalf("the token is still live at GitHub; want it revoked (revocation requests: %s)", g.revocations())
	}
	if status, _ := g.Repositories(t, token); status != http.StatusUnauthorized {
		t.Fatalf("GET /installation/repositories with the revoked token: HTTP %d; want 401", status)
	}
}

// revocations describes the revocation requests GitHub received, for
// failure messages.
func (g *Emulator) revocations() string {
	var out []string
	for _, r := range g.Requests() {
		if r.Method == http.MethodDelete {
			out = append(out, fmt.Sprintf("%s %s at %s: HTTP %d", r.Method, r.Path, r.Time.Format("15:04:05.000"), r.Status))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

// revokeTimeout bounds the wait for a revocation Vault runs in the
// background: `vault lease revoke` returns before the revocation is done.
const revokeTimeout = 30 * time.Second

// WaitRevoked waits until GitHub sees the token revoked, for work Vault
// does in the background (lease expiry, vault lease revoke).
func (g *Emulator) WaitRevoked(t *testing.T, token string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !g.TokenInfo(t, token).Revoked {
		if time.Now().After(deadline) {
			t.Fatalf("the token was not revoked at GitHub within %s", timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
	g.RequireRevoked(t, token)
}

// Repositories calls GET /installation/repositories with the token, as a
// CI job would, and returns the status and the repository names.
func (g *Emulator) Repositories(t *testing.T, token string) (status int, names []string) {
	t.Helper()
	resp := g.call(t, http.MethodGet, "/installation/repositories", token)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	var body struct {
		Repositories []struct{ Name string } `json:"repositories"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	for _, r := range body.Repositories {
		names = append(names, r.Name)
	}
	return resp.StatusCode, names
}

// RevokeDirectly revokes the token at GitHub behind Vault's back, as its
// holder may.
func (g *Emulator) RevokeDirectly(t *testing.T, token string) {
	t.Helper()
	resp := g.call(t, http.MethodDelete, "/installation/token", token)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /installation/token: HTTP %d; want 204", resp.StatusCode)
	}
}

// call sends an API request authenticated with an installation token.
func (g *Emulator) call(t *testing.T, method, path, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", "vault-plugin-e2e")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// RequireVerifiedJWTs checks every request that must authenticate as the
// App: the emulator verified its JWT as issued by this App and answered
// with success. The test verifies each signature against the App's public
// key itself too, so that a lax emulator cannot hide a badly signed JWT.
func (g *Emulator) RequireVerifiedJWTs(t *testing.T) {
	t.Helper()
	n := 0
	for _, r := range g.Requests() {
		if !appRoute(r.Route) {
			continue
		}
		n++
		switch {
		case r.JWT == nil:
			t.Errorf("%s %s: no verified App JWT", r.Method, r.Path)
		case r.JWT.Issuer != fmt.Sprint(appID) || r.JWT.AppID != appID:
			t.Errorf("%s %s: JWT issuer %q (App %d); want %d", r.Method, r.Path, r.JWT.Issuer, r.JWT.AppID, appID)
		case r.Status >= 300:
			t.Errorf("%s %s: HTTP %d", r.Method, r.Path, r.Status)
		}
		if err := g.verifyJWT(r.Header.Get("Authorization")); err != nil {
			t.Errorf("%s %s: %v", r.Method, r.Path, err)
		}
	}
	if n == 0 {
		t.Error("GitHub received no App-authenticated request")
	}
}

// verifyJWT checks an "Authorization: Bearer <JWT>" header: an RS256 JWT
// signed with the App's key whose issuer is the App ID.
func (g *Emulator) verifyJWT(authorization string) error {
	raw, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok {
		return errors.New("no Bearer credential")
	}
	token, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return &g.Key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	if err != nil {
		return fmt.Errorf("the App JWT does not verify: %w", err)
	}
	// GitHub takes the App ID as a string or a number.
	if iss := fmt.Sprint(token.Claims.(jwt.MapClaims)["iss"]); iss != fmt.Sprint(appID) {
		return fmt.Errorf("the App JWT's issuer is %q; want %d", iss, appID)
	}
	return nil
}

// appRoute reports whether a route authenticates with an App JWT rather
// than an installation token.
func appRoute(route string) bool {
	_, p, _ := strings.Cut(route, " ")
	return slices.ContainsFunc([]string{"/app", "/orgs/", "/users/", "/repos/"}, func(prefix string) bool {
		return strings.HasPrefix(p, prefix)
	})
}
