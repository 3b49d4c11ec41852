package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

// newOperation builds the operation the flags ask for and names its target.
func newOperation(o options, client *http.Client) (operation, string, error) {
	if o.github {
		op, err := newGitHubOp(o, client)
		return op, "github", err
	}
	return &vaultOp{
		client: client, addr: strings.TrimSuffix(o.addr, "/"), token: o.token,
		method: o.method, path: o.path, body: []byte(o.body), revokes: o.revoke,
	}, "vault:" + o.path, nil
}

// vaultOp calls one Vault API path.
type vaultOp struct {
	client       *http.Client
	addr, token  string
	method, path string
	body         []byte
	revokes      bool
}

func (v *vaultOp) request(ctx context.Context, seq int64) (string, error) {
	path := strings.ReplaceAll(v.path, "{i}", strconv.FormatInt(seq, 10))
	body, err := v.call(ctx, v.method, "/v1/"+path, v.body)
	if err != nil || !v.revokes {
		return "", err
	}
	var secret struct {
		LeaseID string `json:"lease_id"`
	}
	if err := json.Unmarshal(body, &secret); err != nil || secret.LeaseID == "" {
		return "", fmt.Errorf("%s: the response holds no lease to revoke", path)
	}
	return secret.LeaseID, nil
}

func (v *vaultOp) revoke(ctx context.Context, leaseID string) error {
	body, _ := json.Marshal(map[string]string{"lease_id": leaseID})
	_, err := v.call(ctx, http.MethodPut, "/v1/sys/leases/revoke", body)
	return err
}

// call makes one Vault request and returns the body of a 2xx reply.
func (v *vaultOp) call(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, v.addr+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", v.token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(v.client, req)
}

// gitHubOp mints installation tokens at the emulator directly, with one JWT
// signed up front: the floor under any plugin's latency and throughput.
type gitHubOp struct {
	client *http.Client
	url    string
	auth   string
}

func newGitHubOp(o options, client *http.Client) (*gitHubOp, error) {
	jwt, err := signAppJWT(o.keyFile, o.appID)
	if err != nil {
		return nil, err
	}
	return &gitHubOp{
		client: client,
		url:    fmt.Sprintf("%s/app/installations/%d/access_tokens", strings.TrimSuffix(o.addr, "/"), o.install),
		auth:   "Bearer " + jwt,
	}, nil
}

func (g *gitHubOp) request(ctx context.Context, _ int64) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", g.auth)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("User-Agent", "vault-plugin-secrets-github-app-loadgen")
	_, err = send(g.client, req)
	return "", err
}

func (*gitHubOp) revoke(context.Context, string) error { return nil }

// signAppJWT signs the App JWT that GitHub expects, valid for 9 minutes
// (longer than any run).
func signAppJWT(keyFile string, appID int64) (string, error) {
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return "", fmt.Errorf("%s: no PEM block", keyFile)
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("%s: %w", keyFile, err)
	}
	now := time.Now()
	return jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iat": now.Add(-time.Minute).Unix(),
		"exp": now.Add(9 * time.Minute).Unix(),
		"iss": strconv.FormatInt(appID, 10),
	}).SignedString(key)
}

// send makes a request and returns the body of a 2xx reply. The body is
// always read to the end so that the connection is reused.
func send(client *http.Client, req *http.Request) ([]byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		// Error replies (Vault's {"errors":[…]}, GitHub's message) carry
		// no secrets; a 2xx body, which may, is never printed.
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", req.Method, req.URL.Path, resp.StatusCode, errorText(body))
	}
	return body, nil
}

func errorText(body []byte) string {
	const limit = 300
	s := strings.TrimSpace(string(body))
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

// emulatorStats reads the emulator's counters; zero without a URL.
func emulatorStats(ctx context.Context, client *http.Client, url string) (ghemu.Stats, error) {
	var stats ghemu.Stats
	if url == "" {
		return stats, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(url, "/")+"/_emulator/stats", nil)
	if err != nil {
		return stats, err
	}
	body, err := send(client, req)
	if err != nil {
		return stats, err
	}
	// The emulator always sends its per-route counts, even when empty.
	if err := json.Unmarshal(body, &stats); err != nil || stats.Endpoints == nil {
		return stats, errors.New("the emulator's /_emulator/stats has no request counts")
	}
	return stats, nil
}
