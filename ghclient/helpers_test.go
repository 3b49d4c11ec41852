package ghclient

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

// testKey is the App's key.
func testKey() *rsa.PrivateKey { return testkeys.RSA("app") }

// t0 has a fractional second so that tests notice fractional JWT claims.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// seen is what the test server observed of one request.
type seen struct {
	Method     string
	RequestURI string
	Header     http.Header
	Body       string
}

// harness is a Client wired to an httptest server, a fake clock and a sleep
// that records delays instead of waiting.
type harness struct {
	client *Client
	server *httptest.Server
	clock  *fakeClock

	mu       sync.Mutex
	requests []seen
	sleeps   []time.Duration

	signatures atomic.Int32 // App JWTs signed, as the client's Observer saw
}

// The harness observes the client to count its JWT signatures.
func (h *harness) ObserveAttempt(Attempt) {}
func (h *harness) ObserveRetry(Retry)     {}
func (h *harness) ObserveJWTSigned()      { h.signatures.Add(1) }

// newLeavingCallerHarness is a harness whose GitHub sees the caller leave:
// the returned context is cancelled as each request arrives, before
// answer runs.
func newLeavingCallerHarness(t *testing.T, answer http.HandlerFunc, opts ...func(*Config)) (*harness, context.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		cancel()
		answer(w, r)
	}, opts...), ctx
}

func newHarness(t *testing.T, handler http.HandlerFunc, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{clock: &fakeClock{t: t0}}
	h.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.requests = append(h.requests, seen{r.Method, r.RequestURI, r.Header.Clone(), string(body)})
		h.mu.Unlock()
		// GitHub's clock is the test's unless a handler says otherwise.
		w.Header().Set("Date", h.clock.Now().Format(http.TimeFormat))
		handler(w, r)
	}))
	t.Cleanup(h.server.Close)

	cfg := Config{
		BaseURL:    h.server.URL,
		AppID:      42,
		PrivateKey: testKey(),
		HTTPClient: h.server.Client(),
		Now:        h.clock.Now,
		Observer:   h,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		h.mu.Lock()
		h.sleeps = append(h.sleeps, d)
		h.mu.Unlock()
		return ctx.Err()
	}
	h.client = c
	return h
}

func (h *harness) seen() []seen {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]seen(nil), h.requests...)
}

func (h *harness) attempts() int { return len(h.seen()) }

func (h *harness) slept() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}

// lastCredential returns the bearer credential of the latest request.
func (h *harness) lastCredential(t *testing.T) string {
	t.Helper()
	reqs := h.seen()
	if len(reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	cred, ok := strings.CutPrefix(reqs[len(reqs)-1].Header.Get("Authorization"), "Bearer ")
	if !ok || cred == "" {
		t.Fatal("Authorization header is not a bearer credential")
	}
	return cred
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body) // the client reports what it did not receive
}

func githubError(w http.ResponseWriter, status int, message string) {
	b, _ := json.Marshal(map[string]string{
		"message":           message,
		"documentation_url": "https://docs.github.com/rest",
		"status":            strconv.Itoa(status),
	})
	writeJSON(w, status, string(b))
}

// sequence answers successive requests with successive handlers, repeating
// the last one.
func sequence(handlers ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := min(int(n.Add(1))-1, len(handlers)-1)
		handlers[i](w, r)
	}
}

func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, code, body) }
}

// decodeJWT checks the signature and algorithm of token and returns its raw
// claims, so that callers can tell integers from fractions.
func decodeJWT(token string) (map[string]json.RawMessage, error) {
	_, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return &testKey().PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return nil, fmt.Errorf("JWT does not verify with the App's public key: %w", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]json.RawMessage
	return claims, json.Unmarshal(payload, &claims)
}

// intClaim returns an integer claim, failing on fractions or strings.
func intClaim(claims map[string]json.RawMessage, name string) (int64, error) {
	var v int64
	if err := json.Unmarshal(claims[name], &v); err != nil {
		return 0, fmt.Errorf("claim %s = %s is not an integer: %w", name, claims[name], err)
	}
	return v, nil
}

func verifyJWT(t *testing.T, token string) map[string]json.RawMessage {
	t.Helper()
	claims, err := decodeJWT(token)
	if err != nil {
		t.Fatal(err)
	}
	return claims
}

func claimInt(t *testing.T, claims map[string]json.RawMessage, name string) int64 {
	t.Helper()
	v, err := intClaim(claims, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
