package ghclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// These tests play GitHub, or whatever sits between it and the plugin, at
// its worst: redirects, callers that leave, lying clocks, replies GitHub
// should never send, and unbounded numbers and text.

// redirectingGitHub answers every request under path with a redirect to
// /elsewhere on the same host, where a token-hungry listener would wait.
func redirectingGitHub(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			writeJSON(w, http.StatusNotFound, `{"message":"Not Found"}`)
			return
		}
		w.Header().Set("Location", "http://"+r.Host+"/elsewhere")
		w.WriteHeader(status)
	}
}

func TestRedirectsAreNeverFollowed(t *testing.T) {
	calls := map[string]func(*Client) error{
		"mint": func(c *Client) error {
			_, err := c.CreateInstallationToken(context.Background(), 42, TokenRequest{Repositories: []string{"api"}})
			return err
		},
		"revoke": func(c *Client) error { return c.RevokeInstallationToken(context.Background(), "ghs_secret") },
		"lookup": func(c *Client) error {
			_, err := c.FindInstallationByOwner(context.Background(), "acme")
			return err
		},
	}
	for _, code := range []int{301, 302, 303, 307, 308} {
		for name, call := range calls {
			t.Run(fmt.Sprintf("%d %s", code, name), func(t *testing.T) {
				h := newHarness(t, redirectingGitHub(code))
				err := call(h.client)
				if !hasStatus(err, code) {
					t.Fatalf("err = %v; want the %d reported as a failure", err, code)
				}
				for _, r := range h.seen() {
					if r.RequestURI == "/elsewhere" {
						t.Fatalf("the client followed the redirect: %s %s with Authorization %t", r.Method, r.RequestURI, r.Header.Get("Authorization") != "")
					}
				}
				if n := h.attempts(); n != 1 {
					t.Errorf("%d attempts; a redirect is not worth retrying", n)
				}
				if !strings.Contains(err.Error(), "redirect") {
					t.Errorf("error %q does not say it was a redirect", err)
				}
			})
		}
	}
}

// A client handed an HTTP client that follows redirects still refuses them.
func TestRedirectsRefusedWithCallerHTTPClient(t *testing.T) {
	h := newHarness(t, redirectingGitHub(http.StatusTemporaryRedirect), func(c *Config) {
		c.HTTPClient = &http.Client{} // Go's default: follows up to 10 redirects
	})
	if err := h.client.RevokeInstallationToken(context.Background(), "ghs_secret"); err == nil {
		t.Fatal("a redirected revocation reported success")
	}
	if n := h.attempts(); n != 1 {
		t.Fatalf("%d requests reached the server; the redirect was followed", n)
	}
}

// Once a mint is on the wire, GitHub may already have created the token: the
// client reads the reply even though the caller has left, so the token can
// be revoked instead of living on unseen.
func TestSentMintCompletesAfterCallerLeaves(t *testing.T) {
	h, ctx := newLeavingCallerHarness(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond) // GitHub is slow; the caller is gone
		writeJSON(w, http.StatusCreated, tokenJSON)
	})
	tok, err := h.client.CreateInstallationToken(ctx, 42, TokenRequest{})
	if err != nil {
		t.Fatalf("the minted token was abandoned: %v", err)
	}
	if tok.Token != "ghs_x" {
		t.Fatalf("token %q", tok.Token)
	}
	if ctx.Err() == nil {
		t.Fatal("the test did not cancel the caller")
	}
}

// A sent mint outlives its caller, but not forever: its own deadline holds
// even with an HTTP client that has none.
func TestSentMintHasItsOwnDeadline(t *testing.T) {
	h, ctx := newLeavingCallerHarness(t, func(w http.ResponseWriter, r *http.Request) {
		select { // GitHub hangs; the attempt's deadline must end it
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
			writeJSON(w, http.StatusCreated, tokenJSON)
		}
	}, func(c *Config) { c.HTTPClient = &http.Client{} }) // no Timeout of its own
	h.client.sentAttemptTimeout = 100 * time.Millisecond
	// Without its own deadline the attempt would wait for the reply and
	// succeed; with it, the deadline is what ends it.
	if _, err := h.client.CreateInstallationToken(ctx, 42, TokenRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want the attempt's own deadline", err)
	}
}

// A caller that has left gets no new attempts: each would mint a token
// nobody can use.
func TestNoNewMintAttemptAfterCallerLeaves(t *testing.T) {
	h, ctx := newLeavingCallerHarness(t, func(w http.ResponseWriter, r *http.Request) {
		githubError(w, http.StatusBadGateway, "Server Error")
	})
	_, err := h.client.CreateInstallationToken(ctx, 42, TokenRequest{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := h.attempts(); n != 1 {
		t.Fatalf("%d attempts after the caller left, want 1", n)
	}

	cancelled, stop := context.WithCancel(context.Background())
	stop()
	if _, err := h.client.CreateInstallationToken(cancelled, 42, TokenRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v for a caller that left before the call", err)
	}
	if n := h.attempts(); n != 1 {
		t.Fatal("a mint was sent for a caller that had already left")
	}
}

// A Date header far ahead of our clock must not make the client sign JWTs
// that become valid later, for whoever sent that Date to replay.
func TestAdoptedClockSkewIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		skew   time.Duration
		adopts time.Duration
		mints  bool
	}{
		{"a month ahead", 30 * 24 * time.Hour, maxSkewAhead, false},
		{"20 minutes ahead", 20 * time.Minute, 20 * time.Minute, true},
		{"2 hours behind", -2 * time.Hour, -2 * time.Hour, true},
		{"a year behind", -365 * 24 * time.Hour, -maxSkewBehind, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			githubNow := t0.Add(tc.skew)
			h := newHarness(t, skewedGitHub(t, githubNow))
			_, err := h.client.FindInstallationByOwner(context.Background(), "octo")
			if (err == nil) != tc.mints {
				t.Fatalf("err = %v; want success %t", err, tc.mints)
			}
			iat, _, err := jwtTimes(h.lastCredential(t))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := iat.Add(jwtBackdate).Sub(t0.Truncate(time.Second)), tc.adopts; got != want {
				t.Errorf("the corrected JWT is dated %v from our clock, want %v", got, want)
			}
		})
	}
}

// The token's life is measured on GitHub's clock (its Date header), so a
// skewed clock cannot stretch or shrink it.
func TestTokenLifetimeOnGitHubsClock(t *testing.T) {
	for _, skew := range []time.Duration{-2 * time.Hour, 20 * time.Minute, 0} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			githubNow := t0.Add(skew).Truncate(time.Second)
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Date", githubNow.Format(http.TimeFormat))
				writeJSON(w, http.StatusCreated, fmt.Sprintf(`{"token":"ghs_abc","expires_at":%q}`,
					githubNow.Add(time.Hour).Format(time.RFC3339)))
			})
			tok, err := h.client.CreateInstallationToken(context.Background(), 42, TokenRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Lifetime(); got != time.Hour {
				t.Errorf("lifetime %v with GitHub %v off; want 1h", got, skew)
			}
		})
	}
}

// recordingRevocations is a GitHub that answers mints with reply and
// records the tokens it is asked to revoke.
type recordingRevocations struct {
	mu      sync.Mutex
	revoked []string
}

func (rr *recordingRevocations) handler(reply string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			rr.mu.Lock()
			rr.revoked = append(rr.revoked, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			rr.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Date", t0.Format(http.TimeFormat))
		writeJSON(w, http.StatusCreated, reply)
	}
}

func (rr *recordingRevocations) tokens() []string {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]string(nil), rr.revoked...)
}

// manyKeys is n distinct JSON members, each with a leading comma.
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `,"k%d":0`, i)
	}
	return b.String()
}

// longToken is printable but longer than any token GitHub issues: refused,
// yet sendable, so it is revoked.
var longToken = "ghs_" + strings.Repeat("a", 5000)

// Replies GitHub should never send are errors, and a token they carry is
// revoked: nobody may hold a token that nobody tracks.
func TestImpossibleMintRepliesAreRefusedAndRevoked(t *testing.T) {
	inAnHour := t0.Add(time.Hour).Format(time.RFC3339)
	scoped := TokenRequest{
		Repositories:  []string{"api"},
		RepositoryIDs: []int64{7},
		Permissions:   map[string]string{"contents": "read", "issues": "write"},
	}
	reply := func(fields map[string]any) string {
		body := map[string]any{
			"token": "ghs_live", "expires_at": inAnHour,
			"permissions":          map[string]string{"contents": "read", "issues": "write"},
			"repository_selection": "selected",
			"repositories":         []any{map[string]any{"id": 1, "name": "API"}, map[string]any{"id": 7, "name": "web"}},
		}
		for k, v := range fields {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
		b, _ := json.Marshal(body)
		return string(b)
	}
	for _, tc := range []struct {
		name    string
		reply   string
		revoked []string // tokens that must be revoked
	}{
		{"no token", reply(map[string]any{"token": nil}), nil},
		{"empty token", reply(map[string]any{"token": ""}), nil},
		{"control characters", reply(map[string]any{"token": "ghs_a\r\nX-Evil: 1"}), nil},
		{"no expires_at", reply(map[string]any{"expires_at": nil}), []string{"ghs_live"}},
		{"unparseable expires_at", reply(map[string]any{"expires_at": "tomorrow"}), []string{"ghs_live"}},
		{"already expired", reply(map[string]any{"expires_at": t0.Add(-time.Minute).Format(time.RFC3339)}), []string{"ghs_live"}},
		{"a permission not asked for", reply(map[string]any{"permissions": map[string]string{"contents": "read", "issues": "write", "administration": "write"}}), []string{"ghs_live"}},
		{"a higher level", reply(map[string]any{"permissions": map[string]string{"contents": "write", "issues": "write"}}), []string{"ghs_live"}},
		{"all repositories", reply(map[string]any{"repository_selection": "all", "repositories": nil}), []string{"ghs_live"}},
		{"all repositories, the asked ones listed", reply(map[string]any{"repository_selection": "all"}), []string{"ghs_live"}},
		{"a read permission not asked for", reply(map[string]any{"permissions": map[string]string{"contents": "read", "issues": "write", "secrets": "read"}}), []string{"ghs_live"}},
		{"a repository not asked for", reply(map[string]any{"repositories": []any{map[string]any{"id": 1, "name": "api"}, map[string]any{"id": 9, "name": "infra"}}}), []string{"ghs_live"}},
		{"no repositories listed", reply(map[string]any{"repositories": nil}), []string{"ghs_live"}},
		{"a token of the wrong type", reply(map[string]any{"token": 12345}), nil},
		{"no permissions listed", reply(map[string]any{"permissions": nil}), []string{"ghs_live"}},
		{"a non-ASCII name that folds to one asked for", reply(map[string]any{"repositories": []any{map[string]any{"id": 99, "name": "\u212Api"}}}), []string{"ghs_live"}},
		{"more than 500 repositories", reply(map[string]any{"repositories": make([]map[string]any, 501)}), []string{"ghs_live"}},
		{"two token keys", strings.TrimSuffix(reply(nil), "}") + `,"token":"ghs_other"}`, []string{"ghs_live", "ghs_other"}},
		{"a token too long to hand out", reply(map[string]any{"token": longToken}), []string{longToken}},
		{"a permission named twice", strings.Replace(reply(nil), `"contents":"read"`, `"contents":"admin","contents":"read"`, 1), []string{"ghs_live"}},
		{"hundreds of keys", strings.TrimSuffix(reply(nil), "}") + manyKeys(300) + "}", []string{"ghs_live"}},
		{"a repository named twice", strings.Replace(reply(nil), `"name":"web"`, `"name":"infra","name":"web"`, 1), []string{"ghs_live"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rr recordingRevocations
			h := newHarness(t, rr.handler(tc.reply))
			tok, err := h.client.CreateInstallationToken(context.Background(), 42, scoped)
			if err == nil {
				t.Fatalf("accepted %s", tc.reply)
			}
			if tok != nil {
				t.Fatal("an error came with a token")
			}
			if !IsInvalidReply(err) {
				t.Errorf("err = %v; want an invalid-reply error", err)
			}
			if strings.Contains(err.Error(), "ghs_live") {
				t.Errorf("the error quotes the token: %v", err)
			}
			if got := rr.tokens(); fmt.Sprint(got) != fmt.Sprint(tc.revoked) {
				t.Errorf("revoked %q, want %q", got, tc.revoked)
			}
		})
	}
}

// GitHub adds metadata:read to every token; that grants nothing beyond
// what a repository token implies, so it is not a wider grant.
func TestImplicitMetadataReadIsAccepted(t *testing.T) {
	var rr recordingRevocations
	h := newHarness(t, rr.handler(fmt.Sprintf(`{"token":"ghs_ok","expires_at":%q,"permissions":{"contents":"read","metadata":"read"}}`,
		t0.Add(time.Hour).Format(time.RFC3339))))
	if _, err := h.client.CreateInstallationToken(context.Background(), 42, TokenRequest{Permissions: map[string]string{"contents": "read"}}); err != nil {
		t.Fatal(err)
	}
	if len(rr.tokens()) != 0 {
		t.Fatal("a valid token was revoked")
	}
}

// An owner role mints for the installation ID the lookup finds, so a reply
// that names it twice, or a page with items that are no installation, is
// refused rather than read one way or another.
func TestAmbiguousInstallationRepliesAreRefused(t *testing.T) {
	h := newHarness(t, status(http.StatusOK, `{"id":111,"account":{"login":"acme"},"id":222}`))
	if inst, err := h.client.FindInstallationByOwner(context.Background(), "acme"); !IsInvalidReply(err) {
		t.Errorf("an installation naming id twice: %+v, %v; want an invalid-reply error", inst, err)
	}
	// Keys are GitHub's, exactly: encoding/json's case folding must not let
	// a second spelling decide the ID or the suspension.
	for body, want := range map[string]int64{
		`{"id":111,"account":{"login":"acme"},"ID":222}`:                     111,
		`{"Id":222,"id":111}`:                                                111,
		`{"id":5,"suspended_at":null,"ſuspended_at":"2020-01-01T00:00:00Z"}`: 5,
	} {
		h := newHarness(t, status(http.StatusOK, body))
		inst, err := h.client.FindInstallationByOwner(context.Background(), "acme")
		if err != nil || inst.ID != want || inst.SuspendedAt != nil {
			t.Errorf("an installation %s: %+v, %v; want id %d, not suspended", body, inst, err, want)
		}
	}
	h = newHarness(t, status(http.StatusOK, `{"ID":222,"account":{"login":"acme"}}`))
	if inst, err := h.client.FindInstallationByOwner(context.Background(), "acme"); !IsInvalidReply(err) {
		t.Errorf("an installation with ID but no id: %+v, %v; want an invalid-reply error", inst, err)
	}
	for _, body := range []string{`[null]`, `[{"id":0}]`, `[{"id":-5}]`, `[{"id":1,"id":2}]`, `[1]`,
		`[{"id":1,"account":{"login":"a","login":"b"}}]`} {
		h := newHarness(t, status(http.StatusOK, body))
		if insts, err := h.client.ListInstallations(context.Background()); !IsInvalidReply(err) {
			t.Errorf("installation page %s: %+v, %v; want an invalid-reply error", body, insts, err)
		}
	}
}

func TestInstallationRepliesWithoutIDAreRefused(t *testing.T) {
	h := newHarness(t, status(http.StatusOK, `{"account":{"login":"acme"}}`))
	if _, err := h.client.FindInstallationByOwner(context.Background(), "acme"); !IsInvalidReply(err) {
		t.Fatalf("err = %v; want an invalid-reply error", err)
	}
}

// GitHub's text is bounded in errors: a 30 MB message must not come back
// whole, nor be logged at that size.
func TestHugeErrorMessagesAreCut(t *testing.T) {
	huge := strings.Repeat("x", 30<<20)
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(map[string]string{"message": huge, "documentation_url": huge})
		writeJSON(w, http.StatusUnprocessableEntity, string(b))
	})
	_, err := h.client.CreateInstallationToken(context.Background(), 42, TokenRequest{})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("err = %T %.200v", err, err)
	}
	if n := len(err.Error()); n > 1024 {
		t.Errorf("the error is %d bytes long", n)
	}
	if n := len(apiErr.DocumentationURL); n > 1024 {
		t.Errorf("the documentation URL is %d bytes long", n)
	}
}

// Rate-limit numbers that overflow a duration must neither retry at once
// nor report a reset in the distant past or future.
func TestRateLimitWaitsAreClamped(t *testing.T) {
	for name, headers := range map[string]map[string]string{
		"Retry-After overflow":       {"Retry-After": "99999999999999999999"},
		"Retry-After near max int64": {"Retry-After": "9223372036854775807"},
		"reset near max int64":       {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9223372036854775807"},
		"reset overflow":             {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99999999999999999999"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, rateLimited(http.StatusForbidden, headers))
			_, err := h.client.CreateInstallationToken(context.Background(), 42, TokenRequest{})
			var limited *RateLimitError
			if !errors.As(err, &limited) {
				t.Fatalf("err = %v; want a rate-limit error", err)
			}
			if s := h.slept(); len(s) != 0 {
				t.Fatalf("retried after %v", s)
			}
			if got := limited.Until.Sub(t0); got != maxRateLimitWait {
				t.Errorf("rate limited for %v; want the clamp, %v", got, maxRateLimitWait)
			}
		})
	}
}

// A Retry-After of 0, or a reset already past (a proxy's, a clock's), must
// not turn every attempt into an instant retry.
func TestRateLimitWaitsAreNeverInstant(t *testing.T) {
	for name, headers := range map[string]map[string]string{
		"Retry-After 0":        {"Retry-After": "0"},
		"reset zero":           {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0"},
		"reset an hour ago":    {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(t0.Add(-time.Hour).Unix(), 10)},
		"reset min int64":      {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "-9223372036854775808"},
		"reset past min int64": {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "-99999999999999999999"},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, rateLimited(http.StatusTooManyRequests, headers))
			_, _ = h.client.CreateInstallationToken(context.Background(), 42, TokenRequest{})
			waits := h.slept()
			if len(waits) == 0 {
				t.Fatal("no retry at all")
			}
			for _, d := range waits {
				if d < time.Second {
					t.Fatalf("waited %v between attempts; want at least a second", waits)
				}
			}
		})
	}
}

// A listing page that names its repositories twice is refused: the plugin
// must not guess which list a pattern role is matched against.
func TestRepositoryPageNamingItsListTwiceIsRefused(t *testing.T) {
	h := newHarness(t, status(http.StatusOK, `{"total_count":1,"repositories":[{"id":1,"name":"api","full_name":"acme/api"}],"repositories":[{"id":9,"name":"infra","full_name":"acme/infra"}]}`))
	if repos, err := h.client.ListInstallationRepositories(context.Background(), "ghs_x"); !IsInvalidReply(err) {
		t.Fatalf("a page naming repositories twice: %+v, %v; want an invalid-reply error", repos, err)
	}
}

func TestNormalizeBaseURL(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		allowHTTP bool
		errPart   string
	}{
		{raw: "", want: DefaultBaseURL},
		{raw: "https://ghe.example.com/api/v3/", want: "https://ghe.example.com/api/v3"},
		{raw: " https://api.github.com ", want: "https://api.github.com"},
		{raw: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{raw: "http://[::1]:8080/api/v3", want: "http://[::1]:8080/api/v3"},
		{raw: "http://localhost:9", want: "http://localhost:9"},
		{raw: "http://ghe.example.com/api/v3", errPart: "cleartext"},
		{raw: "http://10.0.0.5", errPart: "cleartext"},
		{raw: "http://127.0.0.1.example.com", errPart: "cleartext"},
		{raw: "http://ghe.example.com/api/v3", allowHTTP: true, want: "http://ghe.example.com/api/v3"},
		{raw: "ftp://ghe.example.com", errPart: "https"},
		{raw: "https://user:pw@ghe.example.com", errPart: "credentials"},
		{raw: "https://ghe.example.com?x=1", errPart: "query"},
		{raw: "ghe.example.com", errPart: "absolute"},
		{raw: "https://" + strings.Repeat("a", 300) + ".com", errPart: "host name"},
		{raw: "https://x.com/" + strings.Repeat("a", 3000), errPart: "bytes"},
	} {
		t.Run(fmt.Sprintf("%.40s", tc.raw), func(t *testing.T) {
			got, err := NormalizeBaseURL(tc.raw, tc.allowHTTP)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err = %v; want one mentioning %q", err, tc.errPart)
				}
				if len(err.Error()) > 400 {
					t.Errorf("error is %d bytes long", len(err.Error()))
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// GitHub sends one token per reply. A reply naming thousands is refused
// whole: a couple of its tokens are revoked, and the rest cost nothing (no
// revocation, no log line each), so that one reply cannot make one request
// send thousands of calls.
func TestManyTokensInOneReplyAreBounded(t *testing.T) {
	var body strings.Builder
	body.WriteString(`{"expires_at":"2026-03-01T13:00:00Z"`)
	for i := range 3000 {
		fmt.Fprintf(&body, `,"token":"ghs_%04d"`, i)
	}
	body.WriteString("}")
	var rr recordingRevocations
	var logs strings.Builder
	h := newHarness(t, rr.handler(body.String()), func(c *Config) {
		c.Logger = hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Trace})
	})
	if _, err := h.client.CreateInstallationToken(context.Background(), 42, TokenRequest{}); !IsInvalidReply(err) {
		t.Fatalf("err = %v; want an invalid-reply error", err)
	}
	if got := rr.tokens(); len(got) != maxSalvagedTokens {
		t.Fatalf("revoked %d tokens of a reply naming 3000; want the first %d", len(got), maxSalvagedTokens)
	}
	if lines := strings.Count(logs.String(), "\n"); lines > 2*maxSalvagedTokens+1 {
		t.Errorf("%d log lines for one reply:\n%.2000s", lines, logs.String())
	}
}

// A Link header of millions of links (a 4 MB header of commas) is read
// without building a slice of millions.
func TestHugeLinkHeaderIsReadInPlace(t *testing.T) {
	header := []string{strings.Repeat(",", 2<<20) + `<https://x/?page=2>; rel="next"` + strings.Repeat(";", 2<<20)}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	next := linkTarget(header, "next")
	runtime.ReadMemStats(&after)
	if next != "https://x/?page=2" {
		t.Fatalf("linkTarget = %q", next)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("reading a 4 MB Link header allocated %d MB", grew>>20)
	}
}
