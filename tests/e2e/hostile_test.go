package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

// The hardening cases that involve Vault itself: what it logs, what it does
// with a request whose caller left, the lease TTL it reports, and how it
// retries a revocation.

// A private key sent with the wrong JSON type is refused without being
// repeated: not in the response, not in Vault's server log (the existence
// check used to hand Vault an error quoting it, logged at ERROR), not in
// the audit log. Other mistyped values are quoted to 64 bytes at most.
func TestHostileInputNeverEchoed(t *testing.T) {
	t.Parallel()
	emu := StartEmulator(t)
	v := StartDevVault(t)
	auditLog := v.EnableFileAudit(t)
	v.MustCLI(t, "secrets", "enable", "-path=github", pluginName)
	keyPEM, err := os.ReadFile(emu.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")
	huge := strings.Repeat("7x", 50_000)
	c := v.Client(t, v.Token)
	for name, data := range map[string]map[string]any{
		"key as an array":  {"app_id": appID, "private_key": lines},
		"key as an object": {"app_id": appID, "private_key": map[string]any{"pem": string(keyPEM)}},
		"app_id of 100 KB": {"app_id": huge, "private_key": string(keyPEM)},
		"base_url array":   {"app_id": appID, "private_key": string(keyPEM), "base_url": []string{huge}},
	} {
		_, err := c.Logical().Write("github/config", data)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if n := len(err.Error()); n > 1024 {
			t.Errorf("%s: the error is %d bytes long", name, n)
		}
		if testkeys.Leaks(err.Error(), string(keyPEM)) {
			t.Errorf("%s: the error repeats key material", name)
		}
	}
	// The engine was never configured: nothing was half-written.
	if s, err := c.Logical().Read("github/config"); err != nil || s != nil {
		t.Errorf("github/config after refused writes: %v, %v; want nothing", s, err)
	}

	serverLog := v.proc.LogTail(1 << 20)
	if testkeys.Leaks(serverLog, string(keyPEM)) {
		t.Error("Vault's server log holds key material")
	}
	if strings.Contains(serverLog, strings.Repeat("7x", 40)) {
		t.Error("Vault's server log repeats more than 64 bytes of a mistyped value")
	}
	if strings.Contains(serverLog, "failed to run existence check") {
		t.Error("Vault logged a failed existence check")
	}
	audit, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	if testkeys.Leaks(string(audit), string(keyPEM)) {
		t.Error("the audit log holds key material")
	}
}

// Callers that give up while GitHub is slow leave no live token, even after
// a revoke-all: the plugin completes each mint and revokes what it cannot
// deliver.
func TestHostileAbandonedRequests(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	// One mint first, so that role ci's owner is resolved and cached: the
	// abandoned requests then go straight to the mint.
	v.Mint(t, v.Token, "read", "github/token/ci")
	emu.SetLatency(800 * time.Millisecond)
	const callers = 6
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- abandonedMint(v.Addr, v.Token, 300*time.Millisecond)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a caller with a 0.3 s timeout against a 0.8 s GitHub got %v; want its own timeout", err)
		}
	}
	// GitHub mints every request: the plugin completes what it sent.
	waitFor(t, "the emulator to mint every abandoned request", func() bool { return emu.Stats().TokensMinted == 1+callers })
	emu.SetLatency(0)
	v.MustCLI(t, "lease", "revoke", "-prefix", "-sync", "github/token/")
	waitFor(t, "no live token at GitHub", func() bool { return emu.LiveTokens() == 0 })
}

// TestHostileUndeliveredDuringOutage abandons requests while GitHub cannot
// revoke anything: the tokens nobody received outlive their in-line
// revocation, and the real Vault's rollback manager (about once a minute)
// must retry them from the plugin's WAL until GitHub holds none.
func TestHostileUndeliveredDuringOutage(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	v.Mint(t, v.Token, "read", "github/token/ci") // caches role ci's owner
	const callers = 3
	attempts := ghclient.DefaultRetryPolicy().MaxAttempts
	emu.FailNext(callers*attempts, ghemu.Fault{Status: http.StatusServiceUnavailable, PathPrefix: "/installation/token"})
	emu.SetLatency(800 * time.Millisecond)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() { _ = abandonedMint(v.Addr, v.Token, 300*time.Millisecond) })
	}
	wg.Wait()
	waitFor(t, "every in-line revocation to fail", func() bool {
		return emu.Count(http.MethodDelete, "/installation/token") == callers*attempts
	})
	emu.SetLatency(0)
	v.MustCLI(t, "lease", "revoke", "-prefix", "-sync", "github/token/")
	if live := emu.LiveTokens(); live != callers {
		t.Fatalf("%d live tokens after the revoke-all; want the %d undelivered ones, kept for a retry", live, callers)
	}
	waitUntil(t, 3*time.Minute, "Vault's rollback manager to revoke the undelivered tokens", func() bool {
		return emu.LiveTokens() == 0
	}, func() string { return fmt.Sprintf("%d live", emu.LiveTokens()) })
	if n := strings.Count(v.proc.LogTail(1<<20), "on a retry"); n != callers {
		t.Errorf("Vault's log records %d revocations on a retry; want %d", n, callers)
	}
}

// abandonedMint reads github/token/ci over HTTP and hangs up after timeout.
func abandonedMint(addr, token string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/v1/github/token/ci", nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		return errors.New("got a reply: " + resp.Status)
	}
	return err
}

// waitFor polls cond for up to 30 s: some outcomes land after the request
// that caused them has returned.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The lease TTL Vault reports is the token's hour on GitHub's clock, and
// revocation reaches GitHub, whichever way GitHub's clock is off.
func TestHostileSkewedGitHubClock(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	for _, skew := range []time.Duration{-2 * time.Hour, 20 * time.Minute} {
		emu.SetClockSkew(skew)
		m := v.Mint(t, v.Token, "read", "github/token/ci")
		var lookup struct{ Data struct{ TTL int } }
		decodeJSON(t, v.MustCLI(t, "lease", "lookup", "-format=json", m.LeaseID), &lookup)
		for what, secs := range map[string]int{"lease_duration": m.LeaseDuration, "the lease's TTL": lookup.Data.TTL} {
			if secs < 3500 || secs > 3600 {
				t.Errorf("GitHub %v off: %s is %d s; want about 3600", skew, what, secs)
			}
		}
		v.MustCLI(t, "lease", "revoke", "-sync", m.LeaseID)
		emu.RequireRevoked(t, m.Token)
	}
}

// A redirect on revocation is a failure: Vault keeps the lease and the
// next revocation reaches GitHub.
func TestHostileRedirectedRevocation(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	m := v.Mint(t, v.Token, "read", "github/token/ci")
	emu.FailNext(1, ghemu.Fault{Status: http.StatusMovedPermanently, PathPrefix: "/installation/token",
		Header: http.Header{"Location": {emu.URL + "/moved/installation/token"}}})
	if r := v.CLI(t, "lease", "revoke", "-sync", m.LeaseID); r.Code == 0 {
		t.Fatal("a redirected revocation succeeded; Vault forgot a live token's lease")
	}
	emu.RequireLive(t, m.Token)
	v.MustCLI(t, "lease", "lookup", m.LeaseID)
	v.MustCLI(t, "lease", "revoke", "-sync", m.LeaseID)
	emu.RequireRevoked(t, m.Token)
	if n := emu.Count("", "/moved"); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// Through the real CLI, a read with parameters narrows (Vault hands them
// over as a query string), and a read of a path that takes none refuses
// them instead of dropping them.
func TestHostileReadParameters(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	m := v.Mint(t, v.Token, "read", "github/token/ci", "repositories=api", "permissions=contents=read")
	wantMinted(t, emu, m, emu.Sample.OrgInstallationID, []string{"api"}, map[string]string{"contents": "read"})

	r := v.CLI(t, "read", "github/roles/ci", "repositories=api")
	if r.Code == 0 || !strings.Contains(r.Stderr, "takes no parameters") {
		t.Errorf("vault read github/roles/ci repositories=api: exit %d, %q; want a refusal", r.Code, r.Stderr)
	}
	// null through the API never widens the role.
	before := v.MustCLI(t, "read", "-format=json", "github/roles/ci")
	body := bytes.NewBufferString(`{"repositories": null}`)
	req, _ := http.NewRequest(http.MethodPost, v.Addr+"/v1/github/roles/ci", body)
	req.Header.Set("X-Vault-Token", v.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var reply struct{ Errors []string }
	err = json.NewDecoder(resp.Body).Decode(&reply)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("decoding Vault's reply: %v", err)
	}
	if resp.StatusCode != http.StatusBadRequest || !slices.ContainsFunc(reply.Errors, func(e string) bool { return strings.Contains(e, "null") }) {
		t.Errorf("repositories=null: HTTP %d %v; want a 400 about null", resp.StatusCode, reply.Errors)
	}
	if after := v.MustCLI(t, "read", "-format=json", "github/roles/ci"); stripRequestID(after) != stripRequestID(before) {
		t.Errorf("role ci changed:\n%s\nwant\n%s", after, before)
	}
}
