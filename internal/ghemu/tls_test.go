package ghemu

import (
	"crypto/tls"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// tlsFixture is the sample emulator serving plain HTTP (f.URL()) and TLS
// (url) at once, and the CA that signed its certificate.
func tlsFixture(t *testing.T) (f *fixture, url string, ca *CA) {
	t.Helper()
	f = newFixture(t)
	ca, err := NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	url, err = f.StartTLS("127.0.0.1:0", cert)
	if err != nil {
		t.Fatal(err)
	}
	return f, url, ca
}

// getApp makes n authenticated API requests with client and fails the
// test unless each is answered 200.
func (f *fixture) getApp(t *testing.T, client *http.Client, url string, n int) {
	t.Helper()
	auth := "Bearer " + f.appJWT(t)
	for range n {
		req, _ := http.NewRequest(http.MethodGet, url+"/app", nil)
		req.Header.Set("Authorization", auth)
		req.Header.Set("User-Agent", testUA)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /app over TLS: %d", resp.StatusCode)
		}
	}
}

func TestTLSCountsHandshakesAndProtocols(t *testing.T) {
	f, url, ca := tlsFixture(t)

	// A client that keeps its connection, as the plugin's does: one
	// handshake, HTTP/2 negotiated through ALPN.
	reusing := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}
	t.Cleanup(reusing.CloseIdleConnections)
	f.getApp(t, &http.Client{Transport: reusing}, url, 50)
	st := f.Stats()
	if st.TLSHandshakes != 1 || st.TLSRequestsHTTP2 != 50 || st.TLSRequestsHTTP1 != 0 {
		t.Errorf("reusing HTTP/2 client: %d handshakes, %d HTTP/2 and %d HTTP/1.1 requests; want 1, 50, 0",
			st.TLSHandshakes, st.TLSRequestsHTTP2, st.TLSRequestsHTTP1)
	}

	// One that does not, over HTTP/1.1 only: a handshake per request.
	fresh := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca.Pool()},
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
		DisableKeepAlives: true,
	}
	f.getApp(t, &http.Client{Transport: fresh}, url, 10)
	st = f.Stats()
	if st.TLSHandshakes != 11 || st.TLSRequestsHTTP2 != 50 || st.TLSRequestsHTTP1 != 10 {
		t.Errorf("after 10 HTTP/1.1 requests without keep-alive: %d handshakes, %d HTTP/2, %d HTTP/1.1; want 11, 50, 10",
			st.TLSHandshakes, st.TLSRequestsHTTP2, st.TLSRequestsHTTP1)
	}

	// Plain HTTP counts in neither.
	f.getApp(t, f.client, f.URL(), 5)
	if st2 := f.Stats(); st2.TLSHandshakes != st.TLSHandshakes || st2.TLSRequestsHTTP1 != st.TLSRequestsHTTP1 {
		t.Errorf("plain requests changed the TLS counts: %+v", st2)
	}
}

func TestTLSListenerSharesTheEmulator(t *testing.T) {
	f, url, ca := tlsFixture(t)
	if f.URL() == url || url[:8] != "https://" {
		t.Fatalf("URL() = %q, TLS URL %q", f.URL(), url)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	f.getApp(t, client, url, 1)
	if n := f.Count(http.MethodGet, "/app"); n != 1 {
		t.Errorf("the plain listener's emulator recorded %d GET /app, want 1", n)
	}

	cert, _ := ca.ServerCert("127.0.0.1")
	if _, err := f.StartTLS("127.0.0.1:0", cert); err == nil {
		t.Error("a second TLS listener was accepted")
	}
}

// The end-to-end benchmark makes the plugin, which uses the system roots,
// trust the emulator's CA through SSL_CERT_FILE alone. This checks that Go
// honours it, in a fresh process because the roots are loaded once.
func TestSSLCertFileMakesSystemRootsTrustTheCA(t *testing.T) {
	if url := os.Getenv("GHEMU_TLS_CHILD_URL"); url != "" {
		// The child: the default client, system roots.
		resp, err := http.Get(url + "/_emulator/stats") //nolint:gosec // G704: the parent test's own loopback emulator
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return
	}
	_, url, ca := tlsFixture(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	child := func(certFile string) error {
		//nolint:gosec // G702: re-runs this very test binary, as the child
		cmd := exec.Command(os.Args[0], "-test.run=^TestSSLCertFileMakesSystemRootsTrustTheCA$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GHEMU_TLS_CHILD_URL="+url, "SSL_CERT_FILE="+certFile)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	}
	if err := child(caFile); err != nil {
		t.Errorf("with SSL_CERT_FILE=<the CA>: %s", err)
	}
	if err := child(filepath.Join(t.TempDir(), "none.pem")); err == nil {
		t.Error("without the CA the connection succeeded too: the check proves nothing")
	}
}
