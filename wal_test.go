package githubapp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

// revocationOutage makes the next n revocations at GitHub fail with a 503.
func (e *testEnv) revocationOutage(n int) {
	e.emulator.FailNext(n, ghemu.Fault{Status: http.StatusServiceUnavailable, PathPrefix: "/installation/token"})
}

// failedDiscard is how many revocations a failed discard attempts (a
// rollback run then tries each entry once).
var failedDiscard = ghclient.DefaultRetryPolicy().MaxAttempts

// rollback sends what Vault's rollback manager sends every minute, with
// "immediate" so that entries younger than walRollbackMinAge count too.
func (e *testEnv) rollback() {
	e.t.Helper()
	if _, err := e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: logical.RollbackOperation, Path: "", Storage: e.storage, Data: map[string]any{"immediate": true},
	}); err != nil {
		e.t.Fatalf("rollback: %v", err)
	}
}

func (e *testEnv) walEntries() []string {
	e.t.Helper()
	keys, err := framework.ListWAL(context.Background(), e.storage)
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// mintForCallerWhoLeaves reads token/ci with a caller that leaves once
// GitHub has minted, so the token cannot be delivered.
func (e *testEnv) mintForCallerWhoLeaves() {
	e.t.Helper()
	var minted atomic.Bool
	ctx := cancelledAfter{Context: context.Background(), cond: func() bool {
		if e.emulator.Count(http.MethodPost, "/app/installations/") > 0 {
			minted.Store(true)
		}
		return minted.Load()
	}}
	if resp, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "token/ci", Storage: e.storage}); err == nil {
		e.t.Fatalf("want the cancellation error, got %v", resp)
	}
}

func TestWAL_UndeliveredTokenIsRevokedOnceGitHubAnswers(t *testing.T) {
	e := newRoleEnv(t, nil)
	e.revocationOutage(failedDiscard + 1) // the in-line attempts, then the first retry
	e.mintForCallerWhoLeaves()
	if live, wal := e.emulator.LiveTokens(), len(e.walEntries()); live != 1 || wal != 1 {
		t.Fatalf("after a failed discard: %d live tokens, %d WAL entries; want 1 and 1", live, wal)
	}

	e.rollback() // GitHub still failing: the entry stays
	if live, wal := e.emulator.LiveTokens(), len(e.walEntries()); live != 1 || wal != 1 {
		t.Fatalf("after a failed retry: %d live tokens, %d WAL entries; want 1 and 1", live, wal)
	}
	e.rollback()
	if live, wal := e.emulator.LiveTokens(), len(e.walEntries()); live != 0 || wal != 0 {
		t.Fatalf("after GitHub recovered: %d live tokens, %d WAL entries; want none", live, wal)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "on a retry") || strings.Contains(logs, "ghs_") {
		t.Errorf("the retried revocation is not logged, or a token is:\n%s", logs)
	}
}

// A redirect is no revocation, in line or on a retry: the entry stays until
// GitHub itself answers.
func TestWAL_RedirectedRetryKeepsTheEntry(t *testing.T) {
	e := newRoleEnv(t, nil)
	redirect := ghemu.Fault{Status: http.StatusFound, PathPrefix: "/installation/token",
		Header: http.Header{"Location": {e.emulator.URL() + "/elsewhere"}}}
	e.emulator.FailNext(2, redirect) // a redirect is not retried: one in line, one on the first retry
	e.mintForCallerWhoLeaves()
	e.rollback()
	if live, wal := e.emulator.LiveTokens(), len(e.walEntries()); live != 1 || wal != 1 {
		t.Fatalf("after a redirected retry: %d live tokens, %d WAL entries; want 1 and 1", live, wal)
	}
	e.rollback()
	if live, wal := e.emulator.LiveTokens(), len(e.walEntries()); live != 0 || wal != 0 {
		t.Fatalf("once GitHub answered: %d live tokens, %d WAL entries; want none", live, wal)
	}
	if n := e.emulator.Count("", "/elsewhere"); n != 0 {
		t.Fatalf("a redirect was followed %d times", n)
	}
}

func TestWAL_ListingTokenIsRevokedOnceGitHubAnswers(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "a*"})
	e.revocationOutage(failedDiscard)
	resp := e.mint("ci")
	if wal := len(e.walEntries()); wal != 1 {
		t.Fatalf("%d WAL entries after the listing token's revocation failed; want 1", wal)
	}
	rresp, err := e.revoke(resp.Secret)
	requireOK(t, rresp, err)
	e.rollback()
	if live, wal := e.emulator.LiveTokens(), len(e.walEntries()); live != 0 || wal != 0 {
		t.Fatalf("after the lease was revoked and the WAL rolled back: %d live tokens, %d WAL entries; want none", live, wal)
	}
}

// putUndelivered writes a WAL entry for token, to be revoked at baseURL.
func (e *testEnv) putUndelivered(token, baseURL string, giveUpAt time.Time) {
	e.t.Helper()
	if _, err := framework.PutWAL(context.Background(), e.storage, walKindUndelivered, undeliveredToken{
		Token: token, BaseURL: baseURL, InstallationID: 1, What: "a test token", GiveUpAt: giveUpAt,
	}); err != nil {
		e.t.Fatal(err)
	}
}

// An entry past its give-up time gets one last try, whatever it answers.
func TestWAL_ExpiredEntryIsTriedOnceThenDropped(t *testing.T) {
	e := newRoleEnv(t, nil)
	e.revocationOutage(failedDiscard)
	e.putUndelivered("ghs_long_gone", e.emulator.URL(), time.Now().Add(-time.Second))
	e.rollback()
	if wal, calls := len(e.walEntries()), e.emulator.Count(http.MethodDelete, "/installation/token"); wal != 0 || calls != 1 {
		t.Fatalf("an expired entry: %d WAL entries left after %d revocation attempts; want none after one", wal, calls)
	}
}

// A rollback run sends each entry's revocation once: the next run, a
// minute later, is the retry.
func TestWAL_EachRunTriesAnEntryOnce(t *testing.T) {
	e := newRoleEnv(t, nil)
	e.revocationOutage(1000)
	e.mintForCallerWhoLeaves()
	before := e.emulator.Count(http.MethodDelete, "/installation/token")
	e.rollback()
	if calls := e.emulator.Count(http.MethodDelete, "/installation/token") - before; calls != 1 {
		t.Fatalf("one rollback run sent %d revocations of one entry; want 1", calls)
	}
}

// hangingGitHub accepts connections and never answers, as a GitHub
// Enterprise host retired behind a firewall that still accepts them. It
// returns its base URL and the count of connections it accepted.
func hangingGitHub(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String(), &accepted
}

// refusingGitHub is a base URL whose port refuses connections.
func refusingGitHub(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	return url
}

// rollbackWithin runs one rollback and fails the test if it outlasts limit.
func (e *testEnv) rollbackWithin(limit time.Duration) time.Duration {
	e.t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.b.HandleRequest(context.Background(), &logical.Request{
			Operation: logical.RollbackOperation, Storage: e.storage, Data: map[string]any{"immediate": true},
		})
	}()
	select {
	case <-done:
		return time.Since(start)
	case <-time.After(limit):
		e.t.Fatalf("a rollback run still going after %v", limit)
		return 0
	}
}

// Each entry gets one attempt on a deadline of its own, several at a time:
// GitHubs that hang or refuse connections cost their own entries a try
// each, and never keep the others from being tried in the same run.
func TestWAL_HungAndDeadGitHubsDoNotStarveTheRest(t *testing.T) {
	e := newRoleEnv(t, nil)
	e.b.walAttemptTimeout = time.Second
	hung, accepted := hangingGitHub(t)
	dead := refusingGitHub(t)
	inAnHour := time.Now().Add(time.Hour)
	hungEntries := 2 * walRevokers
	for range hungEntries {
		e.putUndelivered("ghs_hung", hung, inAnHour)
	}
	for range 3 {
		e.putUndelivered("ghs_dead", dead, inAnHour)
	}
	app, err := e.b.getClient(context.Background(), e.storage)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		tok, err := app.api.CreateInstallationToken(context.Background(), e.sample.OrgInstallationID, ghclient.TokenRequest{})
		if err != nil {
			t.Fatal(err)
		}
		e.putUndelivered(tok.Token, e.emulator.URL(), inAnHour)
	}

	took := e.rollbackWithin(30 * time.Second)
	if live := e.emulator.LiveTokens(); live != 0 {
		t.Errorf("%d tokens of a GitHub that answers still live after a run", live)
	}
	if wal := len(e.walEntries()); wal != hungEntries+3 {
		t.Errorf("%d WAL entries left; want the %d of the hung and dead GitHubs", wal, hungEntries+3)
	}
	if n := int(accepted.Load()); n != hungEntries {
		t.Errorf("the hung GitHub saw %d connections for %d entries; want one attempt each", n, hungEntries)
	}
	// Two rounds of attempts on the hung GitHub, run side by side.
	if limit := 4 * e.b.walAttemptTimeout; took > limit {
		t.Errorf("the run took %v; want under %v", took, limit)
	}
}

// The WAL holds at most walMaxEntries: past that, a token whose revocation
// failed is not written; a WARN line names it and a metric counts it.
func TestWAL_IsBounded(t *testing.T) {
	e := newRoleEnv(t, nil)
	for range walMaxEntries {
		e.putUndelivered("ghs_filler", e.emulator.URL(), time.Now().Add(time.Hour))
	}
	e.revocationOutage(failedDiscard)
	before := len(e.logs.String())
	e.mintForCallerWhoLeaves()
	if wal := len(e.walEntries()); wal != walMaxEntries {
		t.Fatalf("%d WAL entries; want the bound, %d", wal, walMaxEntries)
	}
	if live := e.emulator.LiveTokens(); live != 1 {
		t.Fatalf("%d live tokens; want the one the full WAL could not keep", live)
	}
	logged := e.logs.String()[before:]
	if !strings.Contains(logged, "[WARN]") || !strings.Contains(logged, "WAL is full") || !strings.Contains(logged, "hashed_token=") {
		t.Errorf("no WARN line names the token the full WAL could not keep:\n%s", logged)
	}
	m := e.scrape()
	m.require("github_app_untracked_tokens_total", 1, "reason", "wal_full")
	m.require("github_app_wal_entries", walMaxEntries)
}

// Vault does not log a WAL entry's failure; the plugin must, with the
// token's hashed_token, every time.
func TestWAL_FailedRetryIsLogged(t *testing.T) {
	e := newRoleEnv(t, nil)
	e.revocationOutage(failedDiscard + 1)
	e.mintForCallerWhoLeaves()
	before := len(e.logs.String())
	e.rollback()
	if logged := e.logs.String()[before:]; !strings.Contains(logged, "[WARN]") || !strings.Contains(logged, "hashed_token=") {
		t.Fatalf("a failed retry left no warning with the hashed_token:\n%s", logged)
	}
}

// Tokens are minted where the request runs, on a performance secondary
// too, whose replicated storage is read-only: the WAL must be local.
func TestWAL_IsLocalStorage(t *testing.T) {
	e := newTestEnv(t)
	if !slices.Contains(e.b.PathsSpecial.LocalStorage, framework.WALPrefix) {
		t.Fatalf("PathsSpecial.LocalStorage = %q; want %q in it", e.b.PathsSpecial.LocalStorage, framework.WALPrefix)
	}
}

func TestWAL_UnreadableEntriesAreDropped(t *testing.T) {
	e := newRoleEnv(t, nil)
	for _, entry := range []struct {
		kind string
		data any
	}{
		{"some_other_kind", map[string]any{"token": "ghs_x"}},
		{walKindUndelivered, map[string]any{"token": ""}},
		{walKindUndelivered, map[string]any{"token": "ghs_x"}}, // no time to give up: it would be retried forever
		{walKindUndelivered, map[string]any{"token": "ghs_x", "give_up_at": "9999-01-01T00:00:00Z"}},
		{walKindUndelivered, "not an object"},
	} {
		if _, err := framework.PutWAL(context.Background(), e.storage, entry.kind, entry.data); err != nil {
			t.Fatal(err)
		}
	}
	e.rollback()
	if wal := len(e.walEntries()); wal != 0 {
		t.Fatalf("%d unreadable WAL entries kept; they can never succeed", wal)
	}
}

// A reply naming many tokens, whose revocations fail, costs a couple of
// revocations and WAL entries, not one per token it names.
func TestWAL_ReplyNamingManyTokensWritesAFew(t *testing.T) {
	e := newRoleEnv(t, nil)
	var forged strings.Builder
	for i := range 20 {
		fmt.Fprintf(&forged, `,"token":"ghs_forged%02d"`, i)
	}
	e.emulator.EditNextReply(1, ghemu.ReplyEdit{PathPrefix: mintPath, InsertRaw: forged.String()})
	e.revocationOutage(1000)
	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	if err == nil && !resp.IsError() {
		t.Fatal("a reply naming 21 tokens was handed out")
	}
	if wal, calls := len(e.walEntries()), e.emulator.Count(http.MethodDelete, "/installation/token"); wal > 2 || calls > 2*failedDiscard {
		t.Fatalf("one reply naming 21 tokens: %d WAL entries, %d revocation calls; want at most 2 and %d", wal, calls, 2*failedDiscard)
	}
}

// A full WAL whose every GitHub hangs is tried whole within one run of
// Vault's rollback manager, which cuts a run at its request deadline.
func TestWAL_FullWALFitsInOneRollbackRun(t *testing.T) {
	rounds := (walMaxEntries + walRevokers - 1) / walRevokers
	if worst := time.Duration(rounds) * walAttemptTimeout; worst >= vaultMaxRequestDuration {
		t.Fatalf("a full WAL of hung GitHubs takes %v; Vault cuts a rollback run at %v", worst, vaultMaxRequestDuration)
	}
}
