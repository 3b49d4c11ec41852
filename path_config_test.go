package githubapp

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

func TestConfig_WriteReadNeverReturnsKey(t *testing.T) {
	e := newTestEnv(t)
	resp := e.mustRead("config")

	if _, ok := resp.Data[fieldPrivateKey]; ok {
		t.Fatal("config read returned private_key")
	}
	der, err := x509.MarshalPKIXPublicKey(&e.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	want := "SHA256:" + base64.StdEncoding.EncodeToString(sum[:])
	if got := resp.Data[fieldKeyFingerprint]; got != want {
		t.Errorf("fingerprint %v, want %v", got, want)
	}
	if got := resp.Data[fieldAppID]; got != int64(testAppID) {
		t.Errorf("app_id %v, want %d", got, testAppID)
	}
	if got := resp.Data[fieldBaseURL]; got != e.emulator.URL() {
		t.Errorf("base_url %v, want %v", got, e.emulator.URL())
	}
}

func TestConfig_DefaultsToGitHubDotCom(t *testing.T) {
	e := newUnconfiguredEnv(t)
	e.mustWrite("config", map[string]any{fieldClientID: testClientID, fieldPrivateKey: pkcs1PEM(e.key)})
	resp := e.mustRead("config")
	if got := resp.Data[fieldBaseURL]; got != "https://api.github.com" {
		t.Fatalf("base_url %v, want https://api.github.com", got)
	}
	if got := resp.Data[fieldClientID]; got != testClientID {
		t.Fatalf("client_id %v", got)
	}
}

func TestConfig_AcceptsPKCS8(t *testing.T) {
	e := newUnconfiguredEnv(t)
	e.mustWrite("config", map[string]any{fieldAppID: testAppID, fieldPrivateKey: pkcs8PEM(t, e.key), fieldBaseURL: e.emulator.URL()})
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	e.mustRead("token/ci")
}

func TestConfig_ValidationMatrix(t *testing.T) {
	key, _ := testKeys(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	encrypted := strings.Replace(pkcs1PEM(key), "RSA PRIVATE KEY-----\n", "RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n", 1)
	good := pkcs1PEM(key)

	cases := []struct {
		name string
		data map[string]any
		want []string
	}{
		{"missing key", map[string]any{fieldAppID: testAppID}, []string{"private_key is required"}},
		{"missing issuer", map[string]any{fieldPrivateKey: good}, []string{"app_id or client_id"}},
		{"not PEM", map[string]any{fieldAppID: testAppID, fieldPrivateKey: "hello"}, []string{"private_key", "PEM"}},
		{"corrupt PKCS1 body", map[string]any{fieldAppID: testAppID, fieldPrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("garbage")}))}, []string{"private_key", "PKCS#1"}},
		{"certificate", map[string]any{fieldAppID: testAppID, fieldPrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}))}, []string{"private_key", "CERTIFICATE"}},
		{"encrypted", map[string]any{fieldAppID: testAppID, fieldPrivateKey: encrypted}, []string{"private_key is encrypted"}},
		{"encrypted PKCS8", map[string]any{fieldAppID: testAppID, fieldPrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("x")}))}, []string{"private_key is encrypted"}},
		{"1024-bit", map[string]any{fieldAppID: testAppID, fieldPrivateKey: pkcs1PEM(weak)}, []string{"private_key", "1024-bit", "2048"}},
		{"EC SEC1", map[string]any{fieldAppID: testAppID, fieldPrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))}, []string{"private_key", "ECDSA", "RSA"}},
		{"EC PKCS8", map[string]any{fieldAppID: testAppID, fieldPrivateKey: pkcs8PEM(t, ecKey)}, []string{"private_key", "ECDSA"}},
		{"Ed25519 PKCS8", map[string]any{fieldAppID: testAppID, fieldPrivateKey: pkcs8PEM(t, edKey)}, []string{"private_key", "ED25519"}},
		{"negative app_id", map[string]any{fieldAppID: -1, fieldPrivateKey: good}, []string{"app_id"}},
		{"app_id not a number", map[string]any{fieldAppID: "twelve", fieldPrivateKey: good}, []string{"app_id"}},
		{"bad client_id", map[string]any{fieldClientID: "Iv1 abc\"}", fieldPrivateKey: good}, []string{"client_id"}},
		{"base_url not a URL", map[string]any{fieldAppID: testAppID, fieldPrivateKey: good, fieldBaseURL: "not a url"}, []string{"base_url"}},
		{"base_url relative", map[string]any{fieldAppID: testAppID, fieldPrivateKey: good, fieldBaseURL: "/api/v3"}, []string{"base_url"}},
		{"base_url ftp", map[string]any{fieldAppID: testAppID, fieldPrivateKey: good, fieldBaseURL: "ftp://ghe.example.com/api/v3"}, []string{"base_url", "ftp"}},
		{"base_url with credentials", map[string]any{fieldAppID: testAppID, fieldPrivateKey: good, fieldBaseURL: "https://user:pw@ghe.example.com/api/v3"}, []string{"base_url", "credentials"}},
		{"unknown field", map[string]any{fieldAppID: testAppID, fieldPrivateKey: good, "privat_key": "x"}, []string{"unknown field", "privat_key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newUnconfiguredEnv(t)
			resp, err := e.do(logical.CreateOperation, "config", tc.data)
			requireUserError(t, resp, err, tc.want...)
			if entry, _ := e.storage.Get(t.Context(), "config"); entry != nil {
				t.Fatal("a rejected config write was stored")
			}
		})
	}
}

func TestConfig_PartialUpdateKeepsOtherFields(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("config", map[string]any{fieldClientID: testClientID})

	resp := e.mustRead("config")
	if resp.Data[fieldAppID] != int64(testAppID) || resp.Data[fieldClientID] != testClientID || resp.Data[fieldBaseURL] != e.emulator.URL() {
		t.Fatalf("partial update lost fields: %v", resp.Data)
	}
	if resp.Data[fieldKeyFingerprint] == nil {
		t.Fatal("partial update lost the key")
	}
	// The client_id now signs: the emulator accepts it as the issuer.
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	e.mustRead("token/ci")
	last := e.emulator.Requests()[len(e.emulator.Requests())-1]
	if last.JWT == nil || last.JWT.Issuer != testClientID {
		t.Fatalf("JWT issuer after update: %+v, want %s", last.JWT, testClientID)
	}
}

func TestConfig_BaseURLChangeNeedsKey(t *testing.T) {
	e := newTestEnv(t)
	before := storageSnapshot(t, e.storage)

	resp, err := e.do(logical.UpdateOperation, "config", map[string]any{fieldBaseURL: "https://attacker.example.com/api/v3"})
	requireUserError(t, resp, err, "base_url", "private_key")
	requireSameStorage(t, before, storageSnapshot(t, e.storage))

	e.mustWrite("config", map[string]any{fieldBaseURL: "https://ghe.example.com/api/v3/", fieldPrivateKey: pkcs1PEM(e.key)})
	if got := e.mustRead("config").Data[fieldBaseURL]; got != "https://ghe.example.com/api/v3" {
		t.Fatalf("base_url %v, want it without the trailing slash", got)
	}
}

func TestConfig_EnterpriseBaseURLWithAndWithoutSlash(t *testing.T) {
	for _, suffix := range []string{"/api/v3", "/api/v3/"} {
		t.Run(suffix, func(t *testing.T) {
			e := newUnconfiguredEnv(t)
			e.mustWrite("config", map[string]any{fieldAppID: testAppID, fieldPrivateKey: pkcs1PEM(e.key), fieldBaseURL: e.emulator.URL() + suffix})
			e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
			e.mustRead("token/ci")
			reqs := e.emulator.Requests()
			if got := reqs[len(reqs)-1].Path; !strings.HasPrefix(got, "/api/v3/app/installations/") {
				t.Fatalf("request path %q lost the /api/v3 prefix", got)
			}
		})
	}
}

func TestConfig_ChangeDropsCachedClient(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	e.mustRead("token/ci")

	// Point the engine at an App the emulator does not know: the very next
	// mint must use the new issuer, not a cached client or JWT.
	e.mustWrite("config", map[string]any{fieldAppID: 999})
	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, "999")
}

func TestConfig_Delete(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	if _, err := e.do(logical.DeleteOperation, "config", nil); err != nil {
		t.Fatal(err)
	}
	resp, err := e.do(logical.ReadOperation, "config", nil)
	if err != nil || resp != nil {
		t.Fatalf("config after delete: %v, %v", resp, err)
	}
	resp, err = e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, "not configured")
}
