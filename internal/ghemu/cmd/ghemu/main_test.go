package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

// startRun runs the command in the background and returns its URL and a
// function that stops it and returns run's error.
func startRun(t *testing.T, args ...string) (url string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, pr) }() // drain the rest of run's output
	if err != nil {
		cancel()
		t.Fatalf("no listening line (%v); run returned %v", err, <-done)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "ghemu listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		cancel()
		t.Fatalf("unexpected first line %q", line)
	}
	return url, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("run did not stop")
			return nil
		}
	}
}

func get(t *testing.T, url, auth string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRunGeneratesKeyAndServesSample(t *testing.T) {
	dir := t.TempDir()
	keyPath, infoPath := filepath.Join(dir, "app.pem"), filepath.Join(dir, "info.json")
	url, stop := startRun(t, "-key-out", keyPath, "-info-out", infoPath, "-app-id", "42", "-latency", "1ms")

	st, err := os.Stat(keyPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode())
	}
	pemData, _ := os.ReadFile(keyPath)
	block, _ := pem.Decode(pemData)
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		t.Fatal("key file is not a PKCS#1 PEM")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil || key.N.BitLen() != 2048 {
		t.Fatalf("key file: %v", err)
	}

	var info struct {
		URL                   string           `json:"url"`
		AppID                 int64            `json:"app_id"`
		ClientID              string           `json:"client_id"`
		OrgInstallationID     int64            `json:"org_installation_id"`
		UserInstallationID    int64            `json:"user_installation_id"`
		SuspendedInstallation int64            `json:"suspended_installation_id"`
		Repositories          map[string]int64 `json:"repositories"`
	}
	data, err := os.ReadFile(infoPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatal(err)
	}
	if info.URL != url || info.AppID != 42 || !strings.HasPrefix(info.ClientID, "Iv1.") || info.OrgInstallationID == 0 ||
		info.UserInstallationID == 0 || info.SuspendedInstallation == 0 || info.Repositories["acme/api"] == 0 {
		t.Errorf("info = %s", data)
	}
	if strings.Contains(string(data), "PRIVATE") {
		t.Error("info file contains key material")
	}

	signed, err := testkeys.JWT(key, testkeys.AppClaims(42, time.Now()), "")
	if err != nil {
		t.Fatal(err)
	}
	if code := get(t, url+"/app", "Bearer "+signed); code != http.StatusOK {
		t.Errorf("GET /app with the written key: %d", code)
	}
	if code := get(t, url+"/_emulator/stats", ""); code != http.StatusOK {
		t.Errorf("GET /_emulator/stats: %d", code)
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	if resp, err := http.Get(url + "/app"); err == nil {
		resp.Body.Close()
		t.Error("server still answers after stop")
	}
}

func TestRunWithPublicKeyFile(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "app.pem")
	_, stop := startRun(t, "-key-out", keyPath)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// A PKCS#8 private key and a PKIX public key both work.
	key := must(testkeys.ParsePKCS1PEM(must(os.ReadFile(keyPath))))
	files := map[string][]byte{
		"pkcs8.pem": must(testkeys.PKCS8PEM(key)),
		"pub.pem":   must(testkeys.PublicPEM(&key.PublicKey)),
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		url, stop := startRun(t, "-public-key", path, "-client-id", "Iv1.fromfile")
		signed := must(testkeys.JWT(key, testkeys.AppClaims("Iv1.fromfile", time.Now()), ""))
		if code := get(t, url+"/app", "Bearer "+signed); code != http.StatusOK {
			t.Errorf("%s: GET /app: %d", name, code)
		}
		if err := stop(); err != nil {
			t.Errorf("%s: run: %v", name, err)
		}
	}
}

func TestRunServesTLSWithGeneratedCA(t *testing.T) {
	dir := t.TempDir()
	caPath, infoPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "info.json")
	plain, stop := startRun(t, "-key-out", filepath.Join(dir, "app.pem"), "-info-out", infoPath,
		"-tls-addr", "127.0.0.1:0", "-tls-ca-out", caPath)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	var info struct {
		URL    string `json:"url"`
		TLSURL string `json:"tls_url"`
	}
	if err := json.Unmarshal(must(os.ReadFile(infoPath)), &info); err != nil {
		t.Fatal(err)
	}
	if info.URL != plain || !strings.HasPrefix(info.TLSURL, "https://127.0.0.1:") {
		t.Fatalf("info: url %q, tls_url %q", info.URL, info.TLSURL)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(must(os.ReadFile(caPath))) {
		t.Fatal("the CA file holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get(info.TLSURL + "/_emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("GET stats over TLS: %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},                                    // no key
		{"-key-out", "a", "-public-key", "b"}, // both
		{"-public-key", filepath.Join(t.TempDir(), "missing.pem")},
		{"-key-out", filepath.Join(t.TempDir(), "k.pem"), "extra"},
		{"-key-out", filepath.Join(t.TempDir(), "k.pem"), "-tls-addr", "127.0.0.1:0"}, // where does the CA go?
	} {
		if err := run(context.Background(), append(args, "-addr", "127.0.0.1:0"), io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
