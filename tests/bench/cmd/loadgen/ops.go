package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

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

func newGitHubOp(e *emulator, client *http.Client) (*gitHubOp, error) {
	jwt, err := testkeys.JWT(e.key, testkeys.AppClaims(e.AppID, time.Now()), "")
	if err != nil {
		return nil, err
	}
	return &gitHubOp{
		client: client,
		url:    fmt.Sprintf("%s/app/installations/%d/access_tokens", e.URL, e.OrgInstallationID),
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
