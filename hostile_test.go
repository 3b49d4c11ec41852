package githubapp

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/tests/ghemu"
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
			e.gh.FailNext(1, ghemu.Fault{Status: status, PathPrefix: "/installation/token",
				Header: http.Header{"Location": {e.gh.URL() + "/elsewhere/installation/token"}}})

			if _, err := e.revoke(resp.Secret); err == nil {
				t.Fatal("a redirected revocation reported success; Vault would drop the lease")
			}
			if e.tokenScope(resp).Revoked {
				t.Fatal("the emulator says revoked: the test proves nothing")
			}
			if n := e.gh.Count("", "/elsewhere"); n != 0 {
				t.Fatalf("the plugin followed the redirect (%d requests)", n)
			}
			// Vault retries; the next attempt reaches GitHub.
			_, err := e.revoke(resp.Secret)
			requireOK(t, nil, err)
			if !e.tokenScope(resp).Revoked {
				t.Fatal("the retried revocation did not revoke")
			}
		})
	}
}

func TestHostile_RedirectedMintSendsNothingElsewhere(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	e.gh.FailNext(1, ghemu.Fault{Status: http.StatusTemporaryRedirect, PathPrefix: mintPath,
		Header: http.Header{"Location": {e.gh.URL() + "/elsewhere"}}})
	_, err := e.do(logical.ReadOperation, "token/ci", nil)
	if coded, ok := err.(logical.HTTPCodedError); !ok || coded.Code() != http.StatusBadGateway {
		t.Fatalf("err = %v; want a 502: a redirect is no fault of the caller's", err)
	}
	if n := e.gh.Count("", "/elsewhere"); n != 0 {
		t.Fatalf("the JWT and the mint body were resent to the redirect's target (%d requests)", n)
	}
}

// A caller that gives up while GitHub is minting must not leave a live
// token behind: the mint completes, and the undeliverable token is revoked.
func TestHostile_CallerThatLeavesLeavesNoLiveToken(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	e.gh.SetLatency(300 * time.Millisecond)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		resp, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "token/ci", Storage: e.storage})
		cancel()
		if err == nil && !resp.IsError() {
			t.Fatal("a caller that left got a token")
		}
	}
	if minted := e.gh.Stats().TokensMinted; minted != 3 {
		t.Fatalf("the emulator minted %d tokens, want 3: the test proves nothing", minted)
	}
	if live := e.gh.LiveTokens(); live != 0 {
		t.Fatalf("%d tokens live at GitHub after 3 abandoned requests, want 0", live)
	}
}

// The lease is sized, and revocation decided, on GitHub's clock.
func TestHostile_SkewedGitHubClock(t *testing.T) {
	for _, skew := range []time.Duration{-2 * time.Hour, 20 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			e := newRoleEnv(t, nil)
			e.gh.SetClockSkew(skew)
			resp := e.mint("ci")
			if ttl := resp.Secret.TTL; ttl < 59*time.Minute || ttl > time.Hour {
				t.Errorf("lease TTL %v with GitHub's clock %v off; want the token's hour", ttl, skew)
			}
			_, err := e.revoke(resp.Secret)
			requireOK(t, nil, err)
			if !e.tokenScope(resp).Revoked {
				t.Fatal("revocation was skipped for a live token")
			}
		})
	}
}

func TestHostile_ExpiryFarAheadGivesAtMostAnHour(t *testing.T) {
	e := newRoleEnv(t, nil)
	e.gh.EditNextReply(1, ghemu.ReplyEdit{PathPrefix: mintPath, Set: map[string]any{"expires_at": "2099-01-01T00:00:00Z"}})
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
		{"another repository", ghemu.ReplyEdit{Set: map[string]any{"repositories": []map[string]any{{"id": 999, "name": "infra"}}}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newRoleEnv(t, map[string]any{fieldRepositories: "api", fieldPermissions: "contents=read"})
			tc.edit.PathPrefix = mintPath
			e.gh.EditNextReply(1, tc.edit)
			resp, err := e.do(logical.ReadOperation, "token/ci", nil)
			if err == nil && (resp == nil || !resp.IsError()) {
				t.Fatalf("handed out a token from an impossible reply: %v", resp.Data)
			}
			if err != nil && strings.Contains(err.Error(), "ghs_") {
				t.Errorf("the error quotes a token: %v", err)
			}
			if live := e.gh.LiveTokens(); tc.carried && live != 0 {
				t.Fatalf("%d tokens live at GitHub; the one the reply carried must be revoked", live)
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
	if got := e.mustRead("config").Data[fieldBaseURL]; got != e.gh.URL() {
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
				for _, fragment := range keyFragments(pemText) {
					if strings.Contains(msg, fragment) || strings.Contains(e.logs.String(), fragment) {
						t.Fatal("key material in the error or the log")
					}
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
	// Clearing keeps its explicit form.
	e.mustWrite("roles/ci", map[string]any{fieldRepositories: ""})
	if got := e.mustRead("roles/ci").Data[fieldRepositories]; !reflect.DeepEqual(got, []string{}) {
		t.Fatalf("repositories=\"\" left %v", got)
	}
}

// Parameters on a read are honoured as narrowing, never silently dropped.
func TestHostile_ReadWithParametersNarrows(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api,web", fieldPermissions: "contents=write"})
	resp, err := e.do(logical.ReadOperation, "token/ci", map[string]any{
		fieldRepositories: "api",
		fieldPermissions:  []any{"contents=read"}, // as Vault hands over a query string
	})
	requireOK(t, resp, err)
	info := e.tokenScope(resp)
	if !reflect.DeepEqual(info.RepositoryNames, []string{"api"}) || !reflect.DeepEqual(info.Permissions, map[string]string{"contents": "read"}) {
		t.Fatalf("token reaches %v with %v; want api with contents=read", info.RepositoryNames, info.Permissions)
	}
	resp, err = e.do(logical.ReadOperation, "token/ci", map[string]any{fieldRepositories: "infra"})
	requireUserError(t, resp, err, "outside the role")

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
	before := e.gh.Stats().Connections
	for _, s := range secrets {
		_, err := e.revoke(s)
		requireOK(t, nil, err)
	}
	if live := e.gh.LiveTokens(); live != 0 {
		t.Fatalf("%d tokens live after revoking all", live)
	}
	if dialed := e.gh.Stats().Connections - before; dialed > 2 {
		t.Fatalf("30 revocations opened %d connections; want them to share one", dialed)
	}
}

// GitHub's text is bounded in errors and logs, and its rate-limit numbers
// are clamped.
func TestHostile_UnboundedRepliesAreBounded(t *testing.T) {
	e := newRoleEnv(t, nil)
	huge, _ := json.Marshal(map[string]string{"message": strings.Repeat("m", 30<<20)})
	e.gh.FailNext(1, ghemu.Fault{Status: http.StatusUnprocessableEntity, Body: string(huge), PathPrefix: mintPath})
	resp, err := e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, resp, err, "422")
	if n := len(resp.Error().Error()); n > 1024 {
		t.Errorf("the error is %d bytes long", n)
	}
	if n := len(e.logs.String()); n > 64<<10 {
		t.Errorf("the log grew to %d bytes", n)
	}

	e.gh.FailNext(1, ghemu.Fault{Status: http.StatusTooManyRequests, PathPrefix: mintPath,
		Header: http.Header{"Retry-After": {"99999999999999999999"}}})
	_, err = e.do(logical.ReadOperation, "token/ci", nil)
	coded, ok := err.(logical.HTTPCodedError)
	if !ok || coded.Code() != http.StatusTooManyRequests {
		t.Fatalf("err = %v; want a 429", err)
	}
	if year := time.Now().Year(); !strings.Contains(err.Error(), "until "+strconv.Itoa(year)) && !strings.Contains(err.Error(), "until "+strconv.Itoa(year+1)) {
		t.Errorf("%v: want a reset time within a day", err)
	}
}
