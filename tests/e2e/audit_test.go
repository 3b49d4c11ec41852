package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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
