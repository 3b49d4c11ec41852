package ghclient

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// recordingObserver keeps everything it is told.
type recordingObserver struct {
	mu         sync.Mutex
	attempts   []Attempt
	retries    []Retry
	signatures int
}

func (o *recordingObserver) ObserveAttempt(a Attempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	// The header belongs to the client; keep what the assertions need.
	if a.Header != nil {
		a.Header = http.Header{"X-Ratelimit-Remaining": a.Header.Values("X-Ratelimit-Remaining")}
	}
	o.attempts = append(o.attempts, a)
}

func (o *recordingObserver) ObserveRetry(r Retry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retries = append(o.retries, r)
}

func (o *recordingObserver) ObserveJWTSigned() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.signatures++
}

func (o *recordingObserver) statuses() []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return pluck(o.attempts, func(a Attempt) int { return a.Status })
}

func (o *recordingObserver) reasons() []RetryReason {
	o.mu.Lock()
	defer o.mu.Unlock()
	return pluck(o.retries, func(r Retry) RetryReason { return r.Reason })
}

// pluck is one field of every item.
func pluck[T, F any](items []T, field func(T) F) []F {
	var out []F
	for _, item := range items {
		out = append(out, field(item))
	}
	return out
}

func newObservedHarness(t *testing.T, handler http.HandlerFunc) (*harness, *recordingObserver) {
	t.Helper()
	o := &recordingObserver{}
	return newHarness(t, handler, func(c *Config) { c.Observer = o }), o
}

func TestRouteOf(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/app/installations", "GET /app/installations"},
		{"POST", "/app/installations/1001/access_tokens", "POST /app/installations/{installation_id}/access_tokens"},
		{"GET", "/orgs/acme/installation", "GET /orgs/{org}/installation"},
		{"GET", "/users/octo%2Fcat/installation", "GET /users/{username}/installation"},
		{"GET", "/installation/repositories", "GET /installation/repositories"},
		{"DELETE", "/installation/token", "DELETE /installation/token"},
		// Anything else is "other", never the path itself.
		{"GET", "/installation/token", RouteOther},
		{"GET", "/app", RouteOther},
		{"GET", "/app/installations/1001", RouteOther},
		{"POST", "/app/installations/1001", RouteOther},
		{"GET", "/app/", RouteOther},
		{"GET", "/app/installations/", RouteOther},
		{"POST", "/app/installations//access_tokens", RouteOther},
		{"GET", "/orgs/acme/installation/extra", RouteOther},
		{"GET", "/orgs/acme", RouteOther},
		{"GET", "", RouteOther},
		{"GET", "app", RouteOther},
	} {
		if got := routeOf(tc.method, tc.path); got != tc.want {
			t.Errorf("routeOf(%s, %q) = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}

// The route is found on every request; it must cost no allocation.
func TestRouteOfDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		routeOf(http.MethodPost, "/app/installations/1001/access_tokens")
		routeOf(http.MethodGet, "/no/such/route")
	})
	if allocs != 0 {
		t.Fatalf("routeOf allocates %.0f times per call", allocs)
	}
}

func TestObserver_AttemptsAndRetries(t *testing.T) {
	h, o := newObservedHarness(t, sequence(
		status(http.StatusBadGateway, `{"message":"Bad Gateway"}`),
		rateLimited(http.StatusTooManyRequests, map[string]string{"Retry-After": "3"}),
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-RateLimit-Remaining", "4321")
			writeJSON(w, http.StatusCreated, tokenJSON)
		},
	))
	if err := createToken(h); err != nil {
		t.Fatal(err)
	}

	if got, want := o.statuses(), []int{502, 429, 201}; !slices.Equal(got, want) {
		t.Fatalf("observed statuses %v, want %v", got, want)
	}
	for _, a := range o.attempts {
		if a.Route != "POST /app/installations/{installation_id}/access_tokens" || !a.AsApp || a.Header == nil || a.Duration <= 0 {
			t.Errorf("attempt %+v: want the mint route, as the App, with a header and a duration", a)
		}
	}
	if got := o.attempts[2].Header.Get("X-Ratelimit-Remaining"); got != "4321" {
		t.Errorf("the last attempt's X-RateLimit-Remaining = %q, want 4321", got)
	}
	if got, want := o.reasons(), []RetryReason{RetryServerError, RetryRateLimit}; !slices.Equal(got, want) {
		t.Fatalf("retry reasons %v, want %v", got, want)
	}
	if d := o.retries[1].Delay; d != 3*time.Second {
		t.Errorf("rate-limit retry delay %v, want the 3s GitHub asked for", d)
	}
	if slept := h.slept(); o.retries[0].Delay != slept[0] {
		t.Errorf("observed backoff %v, but the client slept %v", o.retries[0].Delay, slept[0])
	}
	if o.signatures != 1 {
		t.Errorf("%d signatures observed, want 1", o.signatures)
	}
}

func TestObserver_TransportFailures(t *testing.T) {
	h, o := newObservedHarness(t, dropConnection(t))
	if err := createToken(h); err == nil {
		t.Fatal("no error after every attempt failed")
	}
	if got, want := o.statuses(), []int{0, 0, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("observed statuses %v, want %v", got, want)
	}
	for _, a := range o.attempts {
		if a.Header != nil {
			t.Errorf("an attempt without a reply carries a header: %v", a.Header)
		}
	}
	want := []RetryReason{RetryTransportError, RetryTransportError, RetryTransportError}
	if got := o.reasons(); !slices.Equal(got, want) {
		t.Fatalf("retry reasons %v, want %v", got, want)
	}
}

func TestObserver_ClockSkewRetry(t *testing.T) {
	h, o := newObservedHarness(t, skewedGitHub(t, t0.Add(15*time.Minute)))
	if _, err := h.client.FindInstallationByOwner(context.Background(), "octo"); err != nil {
		t.Fatal(err)
	}
	if got, want := o.statuses(), []int{401, 200}; !slices.Equal(got, want) {
		t.Fatalf("observed statuses %v, want %v", got, want)
	}
	if got, want := o.reasons(), []RetryReason{RetryClockSkew}; !slices.Equal(got, want) {
		t.Fatalf("retry reasons %v, want %v", got, want)
	}
	if o.retries[0].Route != "GET /orgs/{org}/installation" {
		t.Errorf("retry route %q, want GET /orgs/{org}/installation", o.retries[0].Route)
	}
	if o.signatures != 2 {
		t.Errorf("%d signatures observed, want 2 (the rejected JWT and the corrected one)", o.signatures)
	}
}

func TestObserver_InstallationTokenCalls(t *testing.T) {
	h, o := newObservedHarness(t, status(http.StatusNoContent, ""))
	if err := h.client.RevokeInstallationToken(context.Background(), "ghs_x"); err != nil {
		t.Fatal(err)
	}
	if len(o.attempts) != 1 || o.attempts[0].Route != "DELETE /installation/token" || o.attempts[0].AsApp {
		t.Fatalf("attempts %+v, want one DELETE /installation/token with a token", o.attempts)
	}
	if o.signatures != 0 {
		t.Errorf("%d JWT signatures for a call that needs none", o.signatures)
	}
}

// Pages after the first are requests of their own, on the same route.
func TestObserver_PaginationKeepsTheRoute(t *testing.T) {
	var h *harness
	h, o := newObservedHarness(t, sequence(
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", `<`+h.server.URL+`/app/installations?per_page=100&page=2>; rel="next"`)
			writeJSON(w, http.StatusOK, `[{"id":1}]`)
		},
		status(http.StatusOK, `[{"id":2}]`),
	))
	if _, err := h.client.ListInstallations(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(o.attempts) != 2 {
		t.Fatalf("%d attempts, want 2", len(o.attempts))
	}
	for _, a := range o.attempts {
		if a.Route != "GET /app/installations" {
			t.Errorf("page route %q, want GET /app/installations", a.Route)
		}
	}
}

func TestRetryReasonNames(t *testing.T) {
	want := map[RetryReason]string{
		RetryServerError: "server_error", RetryTransportError: "transport_error",
		RetryRateLimit: "rate_limit", RetryClockSkew: "clock_skew", 0: "unknown",
	}
	for r, name := range want {
		if r.String() != name {
			t.Errorf("%d.String() = %q, want %q", r, r.String(), name)
		}
	}
}
