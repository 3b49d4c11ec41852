package githubapp

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

// dataResidencyHost is an API host of GitHub Enterprise Cloud with data
// residency: api.SUBDOMAIN.ghe.com, with no /api/v3.
const dataResidencyHost = "api.octocorp.ghe.com"

// serveAs makes the emulator answer, over TLS, for host: it gets a
// certificate for the name from a CA of its own, and the backend's HTTP
// client dials the emulator for it and trusts that CA. Nothing else of the
// client changes: the name is in the URL, the TLS handshake and the Host
// header as it would be for GitHub.
func (e *testEnv) serveAs(host string) {
	e.t.Helper()
	ca, err := ghemu.NewCA()
	if err != nil {
		e.t.Fatal(err)
	}
	cert, err := ca.ServerCert(host)
	if err != nil {
		e.t.Fatal(err)
	}
	tlsURL, err := e.emulator.StartTLS("127.0.0.1:0", cert)
	if err != nil {
		e.t.Fatal(err)
	}
	loopback := strings.TrimPrefix(tlsURL, "https://")
	hc := ghclient.NewHTTPClient()
	transport := hc.Transport.(*http.Transport)
	transport.TLSClientConfig = &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	dialer := &net.Dialer{}
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != host+":443" {
			e.t.Errorf("dialled %s, not %s", addr, host)
		}
		return dialer.DialContext(ctx, network, loopback)
	}
	e.t.Cleanup(transport.CloseIdleConnections)
	e.b.httpClient = hc
}

// GitHub Enterprise Cloud with data residency serves its API at
// https://api.SUBDOMAIN.ghe.com: minting (with the owner lookup and the
// listing a pattern needs) and revoking work there, at either API version.
func TestDataResidency_MintsThroughAGHEComBaseURL(t *testing.T) {
	for _, version := range []string{ghemu.APIVersion2022, ghemu.APIVersion2026} {
		e := newUnconfiguredEnv(t)
		e.serveAs(dataResidencyHost)
		e.mustWrite("config", map[string]any{
			fieldAppID: testAppID, fieldPrivateKey: pkcs1PEM(e.key),
			fieldBaseURL: "https://" + dataResidencyHost, fieldAPIVersion: version,
		})
		e.mustWrite("roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: "a*", fieldPermissions: "contents=read"})
		resp := e.mint("ci")
		if got := resp.Data[fieldRepositories].([]string); len(got) != 1 || got[0] != "api" {
			t.Errorf("repositories %v", got)
		}
		e.requireRevokes(resp, "token not revoked")

		reqs := e.emulator.Requests()
		if len(reqs) < 4 { // owner lookup, listing token, listing, mint, revocations
			t.Fatalf("%d requests", len(reqs))
		}
		for _, r := range reqs {
			if strings.HasPrefix(r.Path, "/api/v3") || r.Header.Get("X-GitHub-Api-Version") != version {
				t.Errorf("%s %s with version %q", r.Method, r.Path, r.Header.Get("X-GitHub-Api-Version"))
			}
		}
		if st := e.emulator.Stats(); st.TLSRequestsHTTP1+st.TLSRequestsHTTP2 != int64(len(reqs)) {
			t.Errorf("%d of %d requests came over TLS", st.TLSRequestsHTTP1+st.TLSRequestsHTTP2, len(reqs))
		}
	}
}

// Such a host is GitHub Enterprise Cloud: a role asking for a permission
// only GitHub Enterprise Server has is warned about.
func TestDataResidency_IsGHEC(t *testing.T) {
	base := "https://" + dataResidencyHost
	if got := ghclient.ProductsAt(base); len(got) != 1 || got[0] != ghclient.GHEC {
		t.Fatalf("ProductsAt(%s) = %v", base, got)
	}
	e := newUnconfiguredEnv(t)
	e.mustWrite("config", map[string]any{fieldAppID: testAppID, fieldPrivateKey: pkcs1PEM(e.key), fieldBaseURL: base})
	resp := e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(1), fieldPermissions: "enterprise_custom_properties=read"})
	if resp == nil || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "GHEC (no such permission)") {
		t.Errorf("warnings %v", resp)
	}
}
