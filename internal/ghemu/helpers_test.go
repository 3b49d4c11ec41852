package ghemu

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

const (
	testAppID    = 1234
	testClientID = "Iv1.0123456789abcdef"
	testUA       = "ghemu-tests/1.0"
)

// Keys are generated once: RSA generation is slow under -race.
// testKeys returns the App's key and one that is not.
func testKeys() (app, stranger *rsa.PrivateKey) {
	return testkeys.RSA("app"), testkeys.RSA("other")
}

// fixture is an emulator seeded with the sample, plus the App's key.
type fixture struct {
	*Server
	sample Sample
	key    *rsa.PrivateKey
	client *http.Client
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	key, _ := testKeys()
	s := NewTestServer(t)
	// A private transport so that Drop faults never poison other tests'
	// pooled connections.
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	return &fixture{
		Server: s,
		sample: s.SeedSample(testAppID, testClientID, &key.PublicKey),
		key:    key,
		client: &http.Client{Transport: transport},
	}
}

// claims returns the claims a well-behaved client sends at now.
func claims(now time.Time) jwt.MapClaims { return testkeys.AppClaims(testAppID, now) }

func sign(t testing.TB, key *rsa.PrivateKey, c jwt.MapClaims) string {
	t.Helper()
	s, err := testkeys.JWT(key, c, "")
	if err != nil {
		t.Fatalf("sign JWT: %v", err)
	}
	return s
}

// appJWT is a valid App JWT by the emulator's clock.
func (f *fixture) appJWT(t testing.TB) string {
	return sign(t, f.key, claims(f.now()))
}

// reply is what a test needs from a response.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test on error.
func (r reply) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

// message returns the message of a GitHub error body and checks its shape.
func (r reply) message(t testing.TB) string {
	t.Helper()
	var e map[string]string
	r.json(t, &e)
	if e["documentation_url"] != docsURL || e["status"] != strconv.Itoa(r.status) {
		t.Errorf("error body %q lacks documentation_url or status %d", r.body, r.status)
	}
	return e["message"]
}

// do sends a request with a User-Agent and an optional Authorization
// header and JSON body (a string is sent verbatim).
func (f *fixture) do(t testing.TB, method, path, auth string, body any) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, f.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", testUA)
	req.Header.Set("Accept", "application/vnd.github+json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

// mintReply is the 201 body of POST …/access_tokens.
type mintReply struct {
	Token               string            `json:"token"`
	ExpiresAt           time.Time         `json:"expires_at"`
	Permissions         map[string]string `json:"permissions"`
	RepositorySelection string            `json:"repository_selection"`
	Repositories        []map[string]any  `json:"repositories"`
}

// mint mints a token on an installation and fails the test unless 201.
func (f *fixture) mint(t testing.TB, installationID int64, body any) mintReply {
	t.Helper()
	r := f.do(t, http.MethodPost, mintPath(installationID), "Bearer "+f.appJWT(t), body)
	if r.status != http.StatusCreated {
		t.Fatalf("mint: status %d: %s", r.status, r.body)
	}
	var m mintReply
	r.json(t, &m)
	return m
}

func mintPath(installationID int64) string {
	return "/app/installations/" + strconv.FormatInt(installationID, 10) + "/access_tokens"
}
