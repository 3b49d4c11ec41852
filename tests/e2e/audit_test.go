package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAuditLogHidesSecrets checks that an audit device records a minted
// token only as an HMAC, and never the App's private key.
func TestAuditLogHidesSecrets(t *testing.T) {
	t.Parallel()
	emu := StartEmulator(t)
	v := StartDevVault(t)
	// Enabled before the engine is configured, so the config write with
	// the private key is audited too.
	auditLog := v.EnableFileAudit(t)
	v.MountGitHub(t, emu)
	v.WriteRoles(t, emu)
	m := v.Mint(t, v.Token, "read", "github/token/ci")

	logged := auditedToken(t, auditLog, "github/token/ci")
	if !strings.HasPrefix(logged, "hmac-sha256:") {
		t.Fatalf("the audit log records the token as %.20q…; want an hmac-sha256: value", logged)
	}
	// The HMAC must be of this token, computed with the device's own key.
	var hash struct{ Data struct{ Hash string } }
	decodeJSON(t, v.MustCLI(t, "write", "-format=json", "sys/audit-hash/file", "input="+m.Token), &hash)
	if hash.Data.Hash != logged {
		t.Error("the audited token value is not the device's HMAC of the minted token")
	}

	log, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte(m.Token)) {
		t.Error("the raw GitHub token appears in the audit log")
	}
	keyPEM, err := os.ReadFile(emu.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte(pemBodyLine(string(keyPEM)))) {
		t.Error("the App's private key appears in the audit log")
	}
}

// auditedToken returns response.data.token of the audit log's response
// entry for a request path.
func auditedToken(t *testing.T, auditLog, path string) string {
	t.Helper()
	f, err := os.Open(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		var entry struct {
			Type     string
			Request  struct{ Path string }
			Response struct{ Data map[string]any }
		}
		if err := json.Unmarshal(lines.Bytes(), &entry); err != nil {
			t.Fatalf("an audit log line is not JSON: %v", err)
		}
		if entry.Type == "response" && entry.Request.Path == path {
			token, _ := entry.Response.Data["token"].(string)
			return token
		}
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	t.Fatalf("the audit log has no response entry for %s", path)
	return ""
}

// EnableFileAudit enables a file audit device and returns its log's path.
func (v *Vault) EnableFileAudit(t *testing.T) string {
	t.Helper()
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	v.MustCLI(t, "audit", "enable", "file", "file_path="+auditLog)
	return auditLog
}

// TestAuditLogJoinsGitHubsHashedToken runs the README's audit recipe: with
// hashed_token unHMACed on the mount, one lookup in the audit log goes from
// GitHub's hashed_token to the caller, role and lease, and back from a
// lease or a caller to hashed_token.
func TestAuditLogJoinsGitHubsHashedToken(t *testing.T) {
	t.Parallel()
	requireTool(t, "jq")
	v, _ := setup(t)
	dir := t.TempDir()
	auditLog := filepath.Join(dir, "audit.log")
	v.MustRunReadmeBlock(t, v.Token, dir, "audit-setup", map[string]string{"AUDIT_LOG": auditLog})

	alice, entityID := v.userpassLogin(t, "alice")
	mine := v.Mint(t, alice, "read", "github/token/ci")
	narrowed := v.Mint(t, alice, "read", "github/token/ci", "repositories=api")
	other := v.Mint(t, v.Token, "read", "github/token/admin")

	lookup := func(block string, vars map[string]string) string {
		vars["AUDIT_LOG"] = auditLog
		return strings.TrimSpace(v.MustRunReadmeBlock(t, v.Token, dir, block, vars))
	}
	var found struct {
		Caller   string `json:"caller"`
		EntityID string `json:"entity_id"`
		From     string `json:"from"`
		Role     string `json:"role"`
		LeaseID  string `json:"lease_id"`
	}
	out := lookup("audit-from-hashed-token", map[string]string{"HASHED_TOKEN": githubHashedToken(mine.Token)})
	decodeJSON(t, out, &found)
	if found.Caller != "userpass-alice" || found.EntityID != entityID || found.From != "127.0.0.1" || found.Role != "ci" || found.LeaseID != mine.LeaseID {
		t.Errorf("from hashed_token: %s; want alice (entity %s) from 127.0.0.1, role ci, lease %s", out, entityID, mine.LeaseID)
	}
	if got := lookup("audit-from-lease", map[string]string{"LEASE_ID": narrowed.LeaseID}); got != githubHashedToken(narrowed.Token) {
		t.Errorf("from lease %s: %q; want its token's hashed_token", narrowed.LeaseID, got)
	}
	rows := strings.Split(lookup("audit-from-caller", map[string]string{"ENTITY_ID": entityID}), "\n")
	var leases, hashes []string
	for _, row := range rows {
		if cells := strings.Split(row, "\t"); len(cells) == 3 {
			leases, hashes = append(leases, cells[1]), append(hashes, cells[2])
		}
	}
	if !slices.Equal(leases, []string{mine.LeaseID, narrowed.LeaseID}) ||
		!slices.Equal(hashes, []string{githubHashedToken(mine.Token), githubHashedToken(narrowed.Token)}) {
		t.Errorf("from alice's entity: %q; want her two tokens, not root's %s", rows, other.LeaseID)
	}

	// Only hashed_token is in the clear: the token is still an HMAC.
	if logged := auditedToken(t, auditLog, "github/token/ci"); !strings.HasPrefix(logged, "hmac-sha256:") {
		t.Errorf("after the tune the audit log records the token as %.20q…; want an HMAC", logged)
	}
	log, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Minted{mine, narrowed, other} {
		if bytes.Contains(log, []byte(m.Token)) {
			t.Error("a raw GitHub token appears in the audit log")
		}
	}
}

// githubHashedToken is how GitHub's audit log names a token: base64 of its
// SHA-256, computed here as GitHub documents it rather than by the plugin.
func githubHashedToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// userpassLogin creates a userpass user holding the ci policy, logs in as
// it, and returns the Vault token and its entity's ID.
func (v *Vault) userpassLogin(t *testing.T, user string) (token, entityID string) {
	t.Helper()
	v.MustCLI(t, "auth", "enable", "userpass")
	v.MustCLI(t, "policy", "write", "ci", v.writeFile(t, "ci-policy.hcl", ciPolicy))
	v.MustCLI(t, "write", "auth/userpass/users/"+user, "password=correct-horse", "policies=ci")
	var login struct {
		Auth struct {
			ClientToken string `json:"client_token"`
			EntityID    string `json:"entity_id"`
		} `json:"auth"`
	}
	decodeJSON(t, v.MustRunAs(t, "", "login", "-format=json", "-no-store", "-method=userpass", "username="+user, "password=correct-horse"), &login)
	if login.Auth.ClientToken == "" || login.Auth.EntityID == "" {
		t.Fatal("the userpass login returned no token or no entity")
	}
	return login.Auth.ClientToken, login.Auth.EntityID
}
