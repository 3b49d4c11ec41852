package githubapp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

// TestSecrets_KeyAndTokensNeverLeak drives a whole session, good and bad
// requests alike, and checks every response, error and log line.
func TestSecrets_KeyAndTokensNeverLeak(t *testing.T) {
	e := newUnconfiguredEnv(t)
	_, other := testKeys(t)
	goodPEM, otherPEM := pkcs1PEM(e.key), pkcs1PEM(other)
	truncated := goodPEM[:len(goodPEM)/2] + "\n-----END RSA PRIVATE KEY-----\n"

	var seen strings.Builder
	record := func(resp *logical.Response, err error) *logical.Response {
		if resp != nil {
			raw, _ := json.Marshal(resp)
			seen.Write(raw)
		}
		if err != nil {
			seen.WriteString(err.Error())
		}
		return resp
	}
	do := func(op logical.Operation, path string, data map[string]any) *logical.Response {
		return record(e.do(op, path, data))
	}

	do(logical.CreateOperation, "config", map[string]any{fieldAppID: testAppID, fieldPrivateKey: truncated})
	do(logical.CreateOperation, "config", map[string]any{fieldAppID: testAppID, fieldPrivateKey: strings.ReplaceAll(goodPEM, "RSA ", "DSA ")})
	do(logical.CreateOperation, "config", map[string]any{fieldAppID: testAppID, fieldPrivateKey: goodPEM, fieldBaseURL: e.emulator.URL()})
	do(logical.ReadOperation, "config", nil)
	do(logical.UpdateOperation, "config", map[string]any{fieldBaseURL: "https://elsewhere.example.com"})
	do(logical.CreateOperation, "roles/ci", map[string]any{fieldOwner: "acme", fieldRepositories: "api", fieldPermissions: "contents=read"})
	do(logical.ReadOperation, "roles/ci", nil)
	do(logical.ListOperation, "installations/", nil)
	do(logical.UpdateOperation, "token/ci", map[string]any{fieldRepositories: "web"})

	var tokens []string
	var leases []*logical.Secret
	for range 3 {
		resp := do(logical.ReadOperation, "token/ci", nil)
		if resp == nil || resp.Secret == nil {
			t.Fatalf("mint failed: %v", resp)
		}
		tokens = append(tokens, resp.Data[fieldToken].(string))
		leases = append(leases, resp.Secret)
	}
	for _, lease := range leases {
		record(e.revoke(lease))
		record(e.revoke(lease)) // the 401 path
	}
	// A key of another App: GitHub's refusal must not drag the key along.
	do(logical.UpdateOperation, "config", map[string]any{fieldPrivateKey: otherPEM, fieldBaseURL: e.emulator.URL()})
	do(logical.ReadOperation, "token/ci", nil)

	logs := e.logs.String()
	if !strings.Contains(logs, "minted installation token") || !strings.Contains(logs, "revoked installation token") {
		t.Fatalf("the log capture missed the session; got:\n%s", logs)
	}
	responses := seen.String()
	for _, secretPEM := range []string{goodPEM, otherPEM} {
		if testkeys.Leaks(responses, secretPEM) || testkeys.Leaks(logs, secretPEM) {
			t.Fatal("private key material left the plugin")
		}
	}
	for _, key := range []fmt.Stringer{e.key.D, other.D} {
		if d := key.String(); strings.Contains(responses, d) || strings.Contains(logs, d) {
			t.Fatal("a private exponent left the plugin")
		}
	}
	if strings.Contains(logs, "ghs_") {
		t.Fatal("a token appears in the logs")
	}
	// Tokens appear in their own mint response and nowhere else.
	for _, tok := range tokens {
		if n := strings.Count(responses, tok); n != 2 {
			t.Fatalf("token appears %d times in responses, want 2 (data and lease data of its own mint)", n)
		}
	}
}

// hashed_token must be exactly what GitHub's audit log records; the
// expected values were computed independently, with
// printf %s "$TOKEN" | openssl dgst -sha256 -binary | base64.
func TestHashedTokenMatchesGitHubsAuditLog(t *testing.T) {
	for token, want := range map[string]string{
		"ghs_16C7e42F292c6912E7710c838347Ae178B4a": "eXwM5BRYbMjraSmv6UfHIOPk01HdBwpv459jC+qrMFQ=",
		"": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
	} {
		if got := ghclient.HashedToken(token); got != want {
			t.Errorf("HashedToken(%q) = %s, want %s", token, got, want)
		}
	}
}

// The mint response and the mint and revoke log lines carry hashed_token,
// with the role and installation, and never the token.
func TestHashedTokenInResponseAndLogs(t *testing.T) {
	e := newRoleEnv(t, nil)
	resp := e.mint("ci")
	tok := resp.Data[fieldToken].(string)
	hashed := resp.Data[fieldHashedToken]
	if hashed != ghclient.HashedToken(tok) {
		t.Fatalf("hashed_token %v is not the hash of the minted token", hashed)
	}
	_, err := e.revoke(resp.Secret)
	requireOK(t, nil, err)

	logs := e.logs.String()
	if strings.Contains(logs, tok) {
		t.Fatal("the log holds the token")
	}
	for _, event := range []string{"minted installation token", "revoked installation token"} {
		line := lineWith(logs, event)
		for _, want := range []string{"hashed_token=", hashed.(string), "role=ci", "installation_id=" + strconv.FormatInt(e.sample.OrgInstallationID, 10)} {
			if !strings.Contains(line, want) {
				t.Errorf("log line %q lacks %s", line, want)
			}
		}
	}
}

func lineWith(text, substr string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			return line
		}
	}
	return ""
}
