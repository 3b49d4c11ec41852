package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

// These tests attack the engine as a hostile network, a broken clock, an
// impatient caller and a careless operator would, and check the outcome
// where it lands: at the emulated GitHub, in the lease and in the logs.

// A redirect on revocation must not read as "revoked": Vault would then
// forget a lease whose token lives on.
func TestHostile_RedirectedRevocationKeepsTheLease(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newRoleEnv(t, nil)
			resp := e.mint("ci")
			e.emulator.FailNext(1, ghemu.Fault{Status: status, PathPrefix: "/installation/token",
				Header: http.Header{"Location": {e.emulator.URL() + "/elsewhere/installation/token"}}})

			if _, err := e.revoke(resp.Secret); err == nil {
				t.Fatal("a redirected revocation reported success; Vault would drop the lease")
			}
			if e.tokenScope(resp).Revoked {
				t.Fatal("the emulator says revoked: the test proves nothing")
			}
			if n := e.emulator.Count("", "/elsewhere"); n != 0 {
				t.Fatalf("the plugin followed the redirect (%d requests)", n)
			}
			// Vault retries; the next attempt reaches GitHub.
			e.requireRevokes(resp, "the retried revocation did not revoke")
		})
	}
}

func TestHostile_RedirectedMintSendsNothingElsewhere(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusTemporaryRedirect, PathPrefix: mintPath,
		Header: http.Header{"Location": {e.emulator.URL() + "/elsewhere"}}})
	_, err := e.do(logical.ReadOperation, "token/ci", nil)
	var coded logical.HTTPCodedError
	if !errors.As(err, &coded) || coded.Code() != http.StatusBadGateway {
		t.Fatalf("err = %v; want a 502: a redirect is no fault of the caller's", err)
	}
	if n := e.emulator.Count("", "/elsewhere"); n != 0 {
		t.Fatalf("the JWT and the mint body were resent to the redirect's target (%d requests)", n)
	}
}

// A caller that gives up while GitHub is minting must not leave a live
// token behind: the mint completes, and the undeliverable token is revoked.
func TestHostile_CallerThatLeavesLeavesNoLiveToken(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	e.emulator.SetLatency(300 * time.Millisecond)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		resp, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "token/ci", Storage: e.storage})
		cancel()
		if err == nil && !resp.IsError() {
			t.Fatal("a caller that left got a token")
		}
	}
	e.requireMintedNoneLive(3)
}

// requireMintedNoneLive checks that GitHub minted exactly minted tokens
// (else the test proved nothing) and that none of them is live: every token
// nobody holds was revoked.
func (e *testEnv) requireMintedNoneLive(minted int) {
	e.t.Helper()
	if n := e.emulator.Stats().TokensMinted; n != minted {
		e.t.Fatalf("the emulator minted %d tokens, want %d: the test proves nothing", n, minted)
	}
	if live := e.emulator.LiveTokens(); live != 0 {
		e.t.Fatalf("%d of %d tokens live at GitHub with no lease, want 0", live, minted)
	}
}

// The lease is sized, and revocation decided, on GitHub's clock.
func TestHostile_SkewedGitHubClock(t *testing.T) {
	for _, skew := range []time.Duration{-2 * time.Hour, 20 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			e := newRoleEnv(t, nil)
			e.emulator.SetClockSkew(skew)
			resp := e.mint("ci")
			if ttl := resp.Secret.TTL; ttl < 59*time.Minute || ttl > time.Hour {
				t.Errorf("lease TTL %v with GitHub's clock %v off; want the token's hour", ttl, skew)
			}
			e.requireRevokes(resp, "revocation was skipped for a live token")
		})
	}
}

func TestHostile_ExpiryFarAheadGivesAtMostAnHour(t *testing.T) {
	e := newRoleEnv(t, nil)
	e.emulator.EditNextReply(1, ghemu.ReplyEdit{PathPrefix: mintPath, Set: map[string]any{"expires_at": "2099-01-01T00:00:00Z"}})
	if ttl := e.mint("ci").Secret.TTL; ttl > time.Hour {
		t.Fatalf("lease TTL %v for a reply claiming 2099; want at most 1h", ttl)
	}
}

// Replies GitHub should never send are errors; a token they carry is revoked.
func TestHostile_ImpossibleRepliesHandOutNothing(t *testing.T) {
	cases := []struct {
		name string
		edit ghemu.ReplyEdit
		// carried: the reply still names the real token, which must end revoked.
		carried bool
	}{
		{"no token", ghemu.ReplyEdit{Delete: []string{"token"}}, false},
		{"empty token", ghemu.ReplyEdit{Set: map[string]any{"token": ""}}, false},
		{"token with control characters", ghemu.ReplyEdit{Set: map[string]any{"token": "ghs_x\r\nSet-Cookie: a=b"}}, false},
		{"no expires_at", ghemu.ReplyEdit{Delete: []string{"expires_at"}}, true},
		{"expires_at not a time", ghemu.ReplyEdit{Set: map[string]any{"expires_at": 5}}, true},
		{"wider permissions", ghemu.ReplyEdit{Set: map[string]any{"permissions": map[string]string{"contents": "write", "administration": "write"}}}, true},
		{"all repositories", ghemu.ReplyEdit{Set: map[string]any{"repository_selection": "all"}, Delete: []string{"repositories"}}, true},
		{"all repositories, the asked one listed", ghemu.ReplyEdit{Set: map[string]any{"repository_selection": "all"}}, true},
		{"a read permission not asked for", ghemu.ReplyEdit{Set: map[string]any{"permissions": map[string]string{"contents": "read", "secrets": "read"}}}, true},
		{"another repository", ghemu.ReplyEdit{Set: map[string]any{"repositories": []map[string]any{{"id": 999, "name": "infra"}}}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newRoleEnv(t, map[string]any{fieldRepositories: "api", fieldPermissions: "contents=read"})
			tc.edit.PathPrefix = mintPath
			e.emulator.EditNextReply(1, tc.edit)
			resp, err := e.do(logical.ReadOperation, "token/ci", nil)
			if err == nil && (resp == nil || !resp.IsError()) {
				t.Fatalf("handed out a token from an impossible reply: %v", resp.Data)
			}
			if err != nil && strings.Contains(err.Error(), "ghs_") {
				t.Errorf("the error quotes a token: %v", err)
			}
			if live := e.emulator.LiveTokens(); tc.carried && live != 0 {
				t.Fatalf("%d tokens live at GitHub; the one the reply carried must be revoked", live)
			}
			if tc.carried && !strings.Contains(e.logs.String(), "hashed_token=") {
				t.Error("the revocation of the refused reply's token is logged without its hashed_token")
			}
		})
	}
}

func TestHostile_CleartextBaseURLNeedsOptIn(t *testing.T) {
	e := newTestEnv(t)
	write := func(data map[string]any) (*logical.Response, error) {
		data[fieldPrivateKey] = pkcs1PEM(e.key)
		return e.do(logical.UpdateOperation, "config", data)
	}
	resp, err := write(map[string]any{fieldBaseURL: "http://ghe.example.com/api/v3"})
	requireUserError(t, resp, err, "cleartext", fieldInsecureAllowHTTP)
	if got := e.mustRead("config").Data[fieldBaseURL]; got != e.emulator.URL() {
		t.Fatalf("a refused write changed base_url to %v", got)
	}

	resp, err = write(map[string]any{fieldBaseURL: "http://ghe.example.com/api/v3", fieldInsecureAllowHTTP: true})
	requireOK(t, resp, err)
	// Turning the opt-in off while base_url needs it is refused too.
	resp, err = e.do(logical.UpdateOperation, "config", map[string]any{fieldInsecureAllowHTTP: false})
	requireUserError(t, resp, err, "cleartext")
}

// A mistyped field never repeats its value beyond 64 bytes, and never
// repeats key material at all: not in the response, not in the log.
func TestHostile_MistypedFieldsAreNotEchoed(t *testing.T) {
	e := newTestEnv(t)
	pemText := pkcs1PEM(e.key)
	lines := strings.Split(strings.TrimSpace(pemText), "\n")
	linesAny := make([]any, len(lines))
	for i, l := range lines {
		linesAny[i] = l
	}
	huge := strings.Repeat("9x", 50_000)
	for name, data := range map[string]map[string]any{
		"key as an array":     {fieldPrivateKey: linesAny, fieldAppID: testAppID},
		"key as an object":    {fieldPrivateKey: map[string]any{"pem": pemText}, fieldAppID: testAppID},
		"key as a number":     {fieldPrivateKey: json.Number("12345678901234567890"), fieldAppID: testAppID},
		"app_id 100 KB":       {fieldAppID: huge},
		"app_id as an object": {fieldAppID: map[string]any{"id": huge}},
		"base_url as array":   {fieldBaseURL: []any{huge, huge}},
	} {
		t.Run(name, func(t *testing.T) {
			for _, op := range []logical.Operation{logical.CreateOperation, logical.UpdateOperation} {
				req := &logical.Request{Operation: op, Path: "config", Data: data, Storage: e.storage}
				if _, _, err := e.b.HandleExistenceCheck(context.Background(), req); err != nil {
					t.Errorf("the existence check failed with a %d-byte error, which Vault logs at ERROR", len(err.Error()))
				}
				resp, err := e.b.HandleRequest(context.Background(), req)
				requireUserError(t, resp, err)
				msg := resp.Error().Error()
				if len(msg) > 400 {
					t.Errorf("the error is %d bytes long", len(msg))
				}
				if testkeys.Leaks(msg, pemText) || testkeys.Leaks(e.logs.String(), pemText) {
					t.Fatal("key material in the error or the log")
				}
			}
		})
	}
}

// null never clears a restriction: it would widen the role to every
// repository or permission.
func TestHostile_NullDoesNotWidenARole(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api", fieldPermissions: "contents=read"})
	before := e.mustRead("roles/ci").Data
	for _, field := range []string{fieldRepositories, fieldRepositoryIDs, fieldPermissions, fieldTTL, fieldOwner} {
		resp, err := e.do(logical.UpdateOperation, "roles/ci", map[string]any{field: nil})
		requireUserError(t, resp, err, field, "null")
	}
	if after := e.mustRead("roles/ci").Data; !reflect.DeepEqual(before, after) {
		t.Fatalf("role changed: %v → %v", before, after)
	}
	// Widening takes its explicit form, the one the null error names, and
	// an empty value is no such form.
	for _, field := range []string{fieldRepositories, fieldPermissions} {
		resp, _ := e.do(logical.UpdateOperation, "roles/ci", map[string]any{field: nil})
		if hint := resp.Error().Error(); !strings.Contains(hint, field+"=*") {
			t.Errorf("the null error for %s does not name %s=*: %s", field, field, hint)
		}
		resp, err := e.do(logical.UpdateOperation, "roles/ci", map[string]any{field: ""})
		requireUserError(t, resp, err, field+"=*")
		e.mustWrite("roles/ci", map[string]any{field: "*"})
		if got := reflect.ValueOf(e.mustRead("roles/ci").Data[field]); got.Len() != 0 {
			t.Errorf("%s=* left %v", field, got)
		}
	}
}

// Parameters on a read are honoured as narrowing, never silently dropped.
func TestHostile_ReadWithParametersNarrows(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: []any{"api", "web"}, fieldPermissions: "contents=write"})
	resp, err := e.do(logical.ReadOperation, "token/ci", map[string]any{
		fieldRepositories: "api",
		fieldPermissions:  "contents=read", // as Vault hands over a query string
	})
	requireOK(t, resp, err)
	info := e.tokenScope(resp)
	if !reflect.DeepEqual(info.RepositoryNames, []string{"api"}) || !reflect.DeepEqual(info.Permissions, map[string]string{"contents": "read"}) {
		t.Fatalf("token reaches %v with %v; want api with contents=read", info.RepositoryNames, info.Permissions)
	}
	resp, err = e.do(logical.ReadOperation, "token/ci", map[string]any{fieldRepositories: "infra"})
	requireUserError(t, resp, err, "outside the role")
	// A repeated query parameter reaches Vault's ACL as a list it does not
	// compare: refused, with the write that does the same.
	resp, err = e.do(logical.ReadOperation, "token/ci", map[string]any{fieldRepositories: []any{"api", "web"}})
	requireUserError(t, resp, err, "repeated in the query string", "vault write")

	// Other reads take no parameters, and say so.
	resp, err = e.do(logical.ReadOperation, "roles/ci", map[string]any{fieldRepositories: "api"})
	requireUserError(t, resp, err, "takes no parameters")
}

// Revoking many leases after the config moved reuses one client and its
// connections, instead of a transport (and a TLS handshake) per lease.
func TestHostile_MassRevocationReusesConnections(t *testing.T) {
	e := newRoleEnv(t, nil)
	var secrets []*logical.Secret
	for range 30 {
		secrets = append(secrets, e.mint("ci").Secret)
	}
	_, err := e.do(logical.DeleteOperation, "config", nil)
	requireOK(t, nil, err)
	before := e.emulator.Stats().Connections
	for _, s := range secrets {
		_, err := e.revoke(s)
		requireOK(t, nil, err)
	}
	if live := e.emulator.LiveTokens(); live != 0 {
		t.Fatalf("%d tokens live after revoking all", live)
	}
	if dialed := e.emulator.Stats().Connections - before; dialed > 2 {
		t.Fatalf("30 revocations opened %d connections; want them to share one", dialed)
	}
}

// GitHub's text is bounded in errors and logs, and its rate-limit numbers
// are clamped.
func TestHostile_UnboundedRepliesAreBounded(t *testing.T) {
	e := newRoleEnv(t, nil)
	huge, _ := json.Marshal(map[string]string{"message": strings.Repeat("m", 30<<20)})
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusUnprocessableEntity, Body: string(huge), PathPrefix: mintPath})
	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, "422")
	if n := len(resp.Error().Error()); n > 1024 {
		t.Errorf("the error is %d bytes long", n)
	}
	if n := len(e.logs.String()); n > 64<<10 {
		t.Errorf("the log grew to %d bytes", n)
	}

	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusTooManyRequests, PathPrefix: mintPath,
		Header: http.Header{"Retry-After": {"99999999999999999999"}}})
	_, err = e.do(logical.ReadOperation, "token/ci", nil)
	var coded logical.HTTPCodedError
	if !errors.As(err, &coded) || coded.Code() != http.StatusTooManyRequests {
		t.Fatalf("err = %v; want a 429", err)
	}
	if year := time.Now().Year(); !strings.Contains(err.Error(), "until "+strconv.Itoa(year)) && !strings.Contains(err.Error(), "until "+strconv.Itoa(year+1)) {
		t.Errorf("%v: want a reset time within a day", err)
	}
}

// A reply that cannot be read or decoded whole still had its token minted:
// the token is picked out of what arrived and revoked, and nothing is
// minted twice.
func TestHostile_MalformedMintRepliesAreRevoked(t *testing.T) {
	for name, edit := range map[string]ghemu.ReplyEdit{
		"trailing garbage":        {Suffix: "garbage"},
		"two objects":             {Suffix: "{}"},
		"a byte-order mark":       {Prefix: "\xef\xbb\xbf"},
		"truncated object":        {TruncateTo: 120},
		"two token keys":          {InsertRaw: `,"token":"ghs_000000000000000000000000000000000000"`},
		"connection cut mid-body": {DropAfter: 150},
		"over 16 MiB":             {Set: map[string]any{"zz_padding": strings.Repeat("x", 17<<20)}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newRoleEnv(t, nil)
			edit.PathPrefix = mintPath
			e.emulator.EditNextReply(1, edit)
			resp, err := e.do(logical.ReadOperation, "token/ci", nil)
			if err == nil && (resp == nil || !resp.IsError()) {
				t.Fatal("a malformed reply was handed out")
			}
			e.requireMintedNoneLive(1) // the one whose reply was mangled
		})
	}
}

// A small gzip reply that inflates to millions of repositories is refused
// without building them.
func TestHostile_InflatingReplyIsBounded(t *testing.T) {
	e := newRoleEnv(t, nil)
	repos := make([]map[string]any, 100_000)
	for i := range repos {
		repos[i] = map[string]any{}
	}
	e.emulator.EditNextReply(1, ghemu.ReplyEdit{PathPrefix: mintPath, Gzip: true, Set: map[string]any{"repositories": repos}})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	runtime.ReadMemStats(&after)
	if err == nil && !resp.IsError() {
		t.Fatal("a reply naming 100,000 repositories was accepted")
	}
	if live := e.emulator.LiveTokens(); live != 0 {
		t.Fatalf("%d token(s) live at GitHub", live)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("refusing one reply allocated %d MB", grew>>20)
	}
}

// A pagination link with a huge path, or a page with too many items, is
// refused with a bounded error.
func TestHostile_PagingIsBounded(t *testing.T) {
	e := newTestEnv(t)
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusOK, Body: "[]", PathPrefix: "/app/installations",
		Header: http.Header{"Link": {"<" + e.emulator.URL() + "/" + strings.Repeat("p", 500_000) + `>; rel="next"`}}})
	_, err := e.do(logical.ListOperation, "installations/", nil)
	if err == nil || len(err.Error()) > 1024 {
		t.Errorf("a 500 KB pagination link: err of %d bytes; want a short refusal", len(fmt.Sprint(err)))
	}

	var page strings.Builder
	page.WriteByte('[')
	for i := range 300_000 {
		if i > 0 {
			page.WriteByte(',')
		}
		fmt.Fprintf(&page, `{"id":%d}`, i+1)
	}
	page.WriteByte(']')
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusOK, Body: page.String(), PathPrefix: "/app/installations"})
	if _, err := e.do(logical.ListOperation, "installations/", nil); err == nil || !strings.Contains(err.Error(), "more than 100") {
		t.Errorf("a page of 300,000 installations: %v; want a refusal", err)
	}
}

// What a caller sends cannot make the answer grow without bound.
func TestHostile_AnswersAreBoundedWhateverTheCallerSends(t *testing.T) {
	e := newRoleEnv(t, nil)
	perms := make(map[string]any, 20_000)
	for i := range 20_000 {
		perms[fmt.Sprintf("p%060d", i)] = "read"
	}
	for _, path := range []string{"token/ci", "roles/ci"} {
		resp, err := e.do(logical.UpdateOperation, path, map[string]any{fieldPermissions: perms})
		requireUserError(t, resp, err, "permissions")
		if n := len(resp.Error().Error()) + len(strings.Join(resp.Warnings, "")); n > 4096 {
			t.Errorf("%s: a 20,000-permission request got a %d-byte answer", path, n)
		}
	}

	var roleNames, asked []string
	for i := range 250 {
		roleNames = append(roleNames, fmt.Sprintf("r%099d", i))
		asked = append(asked, fmt.Sprintf("x%099d", i))
	}
	e.mustWrite("roles/ci", map[string]any{fieldRepositories: roleNames})
	resp, err := e.do(logical.UpdateOperation, "token/ci", map[string]any{fieldRepositories: asked})
	requireUserError(t, resp, err, "outside")
	if n := len(resp.Error().Error()); n > 4096 {
		t.Errorf("the outside-the-role error is %d bytes long", n)
	}
}

// A permission given twice in list form (as the CLI sends repeated
// key=value arguments) is refused, as the comma form is, not collapsed.
func TestHostile_RepeatedPermissionIsRefused(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldPermissions: "contents=write"})
	resp, err := e.do(logical.UpdateOperation, "token/ci", map[string]any{
		fieldPermissions: []any{"contents=write", "contents=read"},
	})
	requireUserError(t, resp, err, "contents", "twice")
}

// A config stored before plain http needed an opt-in names the fix in the
// error every mint then gets.
func TestHostile_StoredCleartextConfigNamesTheFix(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	entry, err := logical.StorageEntryJSON(configStoragePath, map[string]any{
		fieldAppID: testAppID, fieldPrivateKey: pkcs1PEM(e.key), fieldBaseURL: "http://ghe.example.com/api/v3",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.storage.Put(context.Background(), entry); err != nil {
		t.Fatal(err)
	}
	e.b.invalidate(context.Background(), configStoragePath)
	_, err = e.do(logical.ReadOperation, "token/ci", nil)
	if err == nil || !strings.Contains(err.Error(), fieldInsecureAllowHTTP) {
		t.Fatalf("err = %v; want it to name %s", err, fieldInsecureAllowHTTP)
	}
}
