package githubapp

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

const mintPath = "/app/installations/"

func TestReliability_TransientFailuresAreRetried(t *testing.T) {
	for _, fault := range []ghemu.Fault{
		{Status: http.StatusBadGateway},
		{Status: http.StatusServiceUnavailable},
		{Drop: true},
	} {
		t.Run(strconv.Itoa(fault.Status), func(t *testing.T) {
			e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
			fault.PathPrefix = mintPath
			e.emulator.FailNext(2, fault)
			resp := e.mint("ci")
			if !strings.HasPrefix(resp.Data[fieldToken].(string), "ghs_") {
				t.Fatal("no token after retries")
			}
			if n := e.emulator.Count(http.MethodPost, mintPath); n != 3 {
				t.Fatalf("%d mint attempts, want 3 (two faults, one success)", n)
			}
		})
	}
}

func TestReliability_ClientErrorsAreNotRetried(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusUnprocessableEntity} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
			e.emulator.FailNext(1, ghemu.Fault{Status: status, PathPrefix: mintPath})
			resp, err := e.do(logical.ReadOperation, "token/ci", nil)
			requireUserError(t, resp, err, strconv.Itoa(status))
			if n := e.emulator.Count(http.MethodPost, mintPath); n != 1 {
				t.Fatalf("%d attempts for a %d, want 1", n, status)
			}
		})
	}
}

func TestReliability_GitHubDownIsAnInternalError(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	e.emulator.FailNext(10, ghemu.Fault{Status: http.StatusInternalServerError, PathPrefix: mintPath})
	_, err := e.do(logical.ReadOperation, "token/ci", nil)
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("want an internal error carrying GitHub's 500, got %v", err)
	}
	if n := e.emulator.Count(http.MethodPost, mintPath); n != 4 {
		t.Fatalf("%d attempts, want the policy's 4", n)
	}
}

func TestReliability_LongRateLimitFailsFast(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	reset := time.Now().Add(time.Hour).Unix()
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusForbidden, PathPrefix: mintPath, Header: http.Header{
		"X-Ratelimit-Remaining": {"0"},
		"X-Ratelimit-Reset":     {strconv.FormatInt(reset, 10)},
	}, Body: `{"message":"API rate limit exceeded for installation ID 1001.","documentation_url":"https://docs.github.com/rest"}`})

	_, err := e.do(logical.ReadOperation, "token/ci", nil)
	var coded logical.HTTPCodedError
	if !errors.As(err, &coded) || coded.Code() != http.StatusTooManyRequests {
		t.Fatalf("want a 429, got %v", err)
	}
	if want := "rate limited until " + time.Unix(reset, 0).UTC().Format("2006-01-02T15"); !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	if n := e.emulator.Count(http.MethodPost, mintPath); n != 1 {
		t.Fatalf("%d attempts, want 1: the wait exceeds the bound", n)
	}
}

func TestReliability_ShortRetryAfterIsHonoured(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusTooManyRequests, PathPrefix: mintPath,
		Header: http.Header{"Retry-After": {"1"}}})
	e.mint("ci")
	reqs := e.emulator.Requests()
	var attempts []time.Time
	for _, r := range reqs {
		if r.Method == http.MethodPost {
			attempts = append(attempts, r.Time)
		}
	}
	if len(attempts) != 2 {
		t.Fatalf("%d attempts, want 2", len(attempts))
	}
	if gap := attempts[1].Sub(attempts[0]); gap < time.Second {
		t.Fatalf("retried after %v, before GitHub's Retry-After of 1s", gap)
	}
}

func TestReliability_ClockSkewIsCorrected(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	// GitHub's clock 20 minutes ahead: a JWT on our clock has expired for it.
	e.emulator.SetClockSkew(20 * time.Minute)
	e.mint("ci")
	e.mint("ci")

	var unauthorized int
	for _, r := range e.emulator.Requests() {
		if r.Status == http.StatusUnauthorized {
			unauthorized++
		}
	}
	if unauthorized != 1 {
		t.Fatalf("%d refused JWTs, want exactly 1 before the correction", unauthorized)
	}
	if n := strings.Count(e.logs.String(), "clock skew"); n != 1 {
		t.Fatalf("skew logged %d times at warning level, want once:\n%s", n, e.logs.String())
	}
	if !strings.Contains(e.logs.String(), "[WARN]") {
		t.Fatal("skew not logged at warning level")
	}
}

func TestReliability_DeadlineComesFromTheRequest(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	e.emulator.SetLatency(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := e.b.HandleRequest(ctx, &logical.Request{Operation: logical.ReadOperation, Path: "token/ci", Storage: e.storage})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the request's deadline to end the call, got %v", err)
	}
}

func TestReliability_RevokeRateLimitedIsRetriedLater(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	resp := e.mint("ci")
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusTooManyRequests, PathPrefix: "/installation/token",
		Header: http.Header{"Retry-After": {"3600"}}})
	if _, err := e.revoke(resp.Secret); err == nil {
		t.Fatal("a rate-limited revocation reported success")
	}
	// Vault's expiration manager tries again later: that attempt succeeds.
	e.requireRevokes(resp, "token not revoked on the retry")
}

func TestReliability_RevokeTreats404AsGone(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldRepositories: "api"})
	resp := e.mint("ci")
	e.emulator.FailNext(1, ghemu.Fault{Status: http.StatusNotFound, PathPrefix: "/installation/token"})
	_, err := e.revoke(resp.Secret)
	requireOK(t, nil, err)
}
