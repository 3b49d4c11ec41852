package ghclient_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

// dialingEmulator is an HTTP client that reaches the emulator whatever host
// and port a URL names: port 443 goes to its TLS listener, any other to
// its plain one. It lets a base URL name api.github.com:443 or
// 127.0.0.1:80 in a test.
func dialingEmulator(t *testing.T, plainURL, tlsURL string, ca *ghemu.CA) *http.Client {
	t.Helper()
	plain, secure := strings.TrimPrefix(plainURL, "http://"), strings.TrimPrefix(tlsURL, "https://")
	var dialer net.Dialer
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if strings.HasSuffix(addr, ":443") {
				return dialer.DialContext(ctx, network, secure)
			}
			return dialer.DialContext(ctx, network, plain)
		},
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12},
	}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

// GitHub's pagination links omit the scheme's default port and name the
// host without a trailing dot. A base URL that spells either out lists
// past the first page all the same.
func TestPaginationUnderDefaultPortsAndTrailingDots(t *testing.T) {
	const appID = 9
	key := testkeys.RSA("app")
	gh := ghemu.NewTestServer(t)
	gh.SeedSample(appID, "Iv1.ports", &key.PublicKey)
	gh.SeedBulk(appID, 150)
	for i := range 120 {
		gh.AddInstallation(ghemu.Installation{ID: int64(50_000 + i), AppID: appID,
			Account:             ghemu.Account{Login: fmt.Sprintf("user%d", i), ID: int64(60_000 + i), Type: ghemu.AccountUser},
			RepositorySelection: ghemu.SelectionAll})
	}
	ca, err := ghemu.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert("api.github.com", "ghe.example.com")
	if err != nil {
		t.Fatal(err)
	}
	tlsURL, err := gh.StartTLS("127.0.0.1:0", cert)
	if err != nil {
		t.Fatal(err)
	}
	hc := dialingEmulator(t, gh.URL(), tlsURL, ca)

	for _, base := range []string{
		"https://api.github.com:443",
		"https://ghe.example.com:443/api/v3",
		"https://ghe.example.com./api/v3",
		"https://GHE.example.com.:443/api/v3/",
		"http://127.0.0.1:80",
		"http://ghe.example.com.:80/api/v3",
	} {
		t.Run(base, func(t *testing.T) {
			c, err := ghclient.New(ghclient.Config{BaseURL: base, AllowHTTP: true, AppID: appID, PrivateKey: key, HTTPClient: hc})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			installations, err := c.ListInstallations(ctx)
			if err != nil || len(installations) < 120 {
				t.Fatalf("%d installations, %v; want them all, past the first page", len(installations), err)
			}
			tok, err := c.CreateInstallationToken(ctx, ghemu.BulkInstallationID, ghclient.TokenRequest{})
			if err != nil {
				t.Fatal(err)
			}
			repos, err := c.ListInstallationRepositories(ctx, tok.Token)
			if err != nil || len(repos) != 150 {
				t.Fatalf("%d repositories, %v; want 150, past the first page", len(repos), err)
			}
			if err := c.RevokeInstallationToken(ctx, tok.Token); err != nil {
				t.Fatal(err)
			}
		})
	}
}
