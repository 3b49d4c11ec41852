package ghclient

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const tokenJSON = `{"token":"ghs_x","expires_at":"2026-03-01T13:00:00Z","repository_selection":"selected","repositories":[{"id":1,"name":"alpha"}]}`

func createToken(h *harness) error {
	_, err := h.client.CreateInstallationToken(context.Background(), 42, TokenRequest{Repositories: []string{"alpha"}})
	return err
}

func TestRetryServerErrors(t *testing.T) {
	h := newHarness(t, sequence(
		func(w http.ResponseWriter, r *http.Request) { githubError(w, http.StatusBadGateway, "Server Error") },
		func(w http.ResponseWriter, r *http.Request) { githubError(w, http.StatusBadGateway, "Server Error") },
		status(http.StatusCreated, tokenJSON),
	))
	if err := createToken(h); err != nil {
		t.Fatal(err)
	}
	reqs := h.seen()
	if len(reqs) != 3 {
		t.Fatalf("%d attempts, want 3", len(reqs))
	}
	for _, r := range reqs {
		if r.Body != `{"repositories":["alpha"]}` {
			t.Errorf("attempt sent body %q; bodies must be resent in full", r.Body)
		}
	}
	sleeps := h.slept()
	if len(sleeps) != 2 || sleeps[0] > 200*time.Millisecond || sleeps[1] > 400*time.Millisecond {
		t.Errorf("backoff delays = %v, want 2 within 200ms and 400ms", sleeps)
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		githubError(w, http.StatusServiceUnavailable, "Unavailable")
	},
		func(c *Config) { c.Retry.MaxAttempts = 3 })
	err := createToken(h)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want the last 503", err)
	}
	if n := h.attempts(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	for _, tc := range []struct {
		status  int
		message string
	}{
		{http.StatusBadRequest, "Problems parsing JSON"},
		{http.StatusUnauthorized, "A JSON web token could not be decoded"},
		{http.StatusForbidden, "This installation has been suspended"},
		{http.StatusNotFound, "Not Found"},
		{http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation."},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { githubError(w, tc.status, tc.message) })
			if err := createToken(h); err == nil {
				t.Fatal("no error")
			}
			if n := h.attempts(); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
			if s := h.slept(); len(s) != 0 {
				t.Errorf("slept %v", s)
			}
		})
	}
}

func rateLimited(status int, headers map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		githubError(w, status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
	}
}

func TestRateLimitWaits(t *testing.T) {
	githubNow := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		status   int
		headers  map[string]string
		wantWait time.Duration
	}{
		{"retry-after 403", http.StatusForbidden, map[string]string{"Retry-After": "1"}, time.Second},
		{"retry-after 429", http.StatusTooManyRequests, map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{"reset", http.StatusForbidden, map[string]string{
			"X-Ratelimit-Remaining": "0",
			"X-Ratelimit-Reset":     strconv.FormatInt(githubNow.Add(10*time.Second).Unix(), 10),
			"Date":                  githubNow.Format(http.TimeFormat),
		}, 11 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sequence(rateLimited(tc.status, tc.headers), status(http.StatusCreated, tokenJSON)))
			if err := createToken(h); err != nil {
				t.Fatal(err)
			}
			if n := h.attempts(); n != 2 {
				t.Errorf("%d attempts, want 2", n)
			}
			if s := h.slept(); len(s) != 1 || s[0] != tc.wantWait {
				t.Errorf("waits = %v, want [%v]", s, tc.wantWait)
			}
		})
	}
}

func TestRateLimitTooLong(t *testing.T) {
	resetIn := time.Hour
	reset := strconv.FormatInt(t0.Add(resetIn).Unix(), 10)
	deadline, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	for _, tc := range []struct {
		name    string
		ctx     context.Context
		headers map[string]string
		until   time.Time
	}{
		{"reset beyond MaxRateLimitWait", context.Background(),
			map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": reset, "Date": t0.Format(http.TimeFormat)},
			t0.Add(resetIn + time.Second)},
		{"retry-after beyond deadline", deadline,
			map[string]string{"Retry-After": "20"}, t0.Add(20 * time.Second)},
		{"no hint: GitHub's one minute", context.Background(), nil, t0.Add(time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, rateLimited(http.StatusForbidden, tc.headers))
			_, err := h.client.CreateInstallationToken(tc.ctx, 42, TokenRequest{})
			var rlErr *RateLimitError
			if !errors.As(err, &rlErr) {
				t.Fatalf("err = %v (%T), want *RateLimitError", err, err)
			}
			if !rlErr.Until.Equal(tc.until) {
				t.Errorf("Until = %v, want %v", rlErr.Until, tc.until)
			}
			if want := "GitHub rate limited until " + tc.until.UTC().Format(time.RFC3339); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want %q", err, want)
			}
			if n, s := h.attempts(), h.slept(); n != 1 || len(s) != 0 {
				t.Errorf("%d attempts, waits %v; want 1 attempt and no wait", n, s)
			}
		})
	}
}

func TestRateLimitPersists(t *testing.T) {
	h := newHarness(t, rateLimited(http.StatusTooManyRequests, map[string]string{"Retry-After": "1"}))
	var rlErr *RateLimitError
	if err := createToken(h); !errors.As(err, &rlErr) {
		t.Fatalf("err = %v, want *RateLimitError", err)
	}
	if n := h.attempts(); n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
}

func TestRetryStopsWhenContextCanceled(t *testing.T) {
	h, ctx := newLeavingCallerHarness(t, func(w http.ResponseWriter, r *http.Request) {
		githubError(w, http.StatusBadGateway, "Server Error")
	}, func(c *Config) { c.Retry = RetryPolicy{BaseDelay: time.Hour, MaxDelay: time.Hour} })
	h.client.sleep = sleepContext // a real timer: it must give way to ctx

	start := time.Now()
	_, err := h.client.CreateInstallationToken(ctx, 42, TokenRequest{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := h.attempts(); n != 1 {
		t.Errorf("%d attempts after cancel, want 1", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v; the backoff sleep ignored the context", d)
	}
}

// A lookup in flight when the caller gives up is abandoned, not retried, and
// no backoff is even started. (A mint is different: it completes once sent;
// see TestSentMintCompletesAfterCallerLeaves.)
func TestNoRetryAfterCancelInFlight(t *testing.T) {
	h, ctx := newLeavingCallerHarness(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // the client hangs up
	})
	_, err := h.client.FindInstallationByOwner(ctx, "acme")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n, s := h.attempts(), h.slept(); n != 1 || len(s) != 0 {
		t.Errorf("%d attempts, waits %v; want 1 attempt and no wait", n, s)
	}
}

// dropConnection closes the connection without an answer, as a crashing
// load balancer would.
func dropConnection(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}
}

func TestRetryConnectionDrop(t *testing.T) {
	h := newHarness(t, sequence(dropConnection(t), status(http.StatusCreated, tokenJSON)))
	if err := createToken(h); err != nil {
		t.Fatal(err)
	}
	if n := h.attempts(); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}

	h = newHarness(t, dropConnection(t))
	err := createToken(h)
	if err == nil {
		t.Fatal("no error after every attempt failed")
	}
	if n := h.attempts(); n != 4 {
		t.Errorf("%d attempts, want 4", n)
	}
}

func TestBackoffBounds(t *testing.T) {
	p := DefaultRetryPolicy()
	for attempt := 1; attempt <= 10; attempt++ {
		ceiling := min(p.BaseDelay<<(attempt-1), p.MaxDelay)
		var largest time.Duration
		for range 200 {
			d := p.backoff(attempt)
			if d < 0 || d > ceiling {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", attempt, d, ceiling)
			}
			largest = max(largest, d)
		}
		if largest < ceiling/2 {
			t.Errorf("backoff(%d) never exceeded %v in 200 draws; jitter should span up to %v", attempt, largest, ceiling)
		}
	}
}

func TestRetryPolicyDefaults(t *testing.T) {
	got := RetryPolicy{MaxAttempts: 2}.withDefaults()
	want := DefaultRetryPolicy()
	want.MaxAttempts = 2
	if got != want {
		t.Errorf("withDefaults = %+v, want %+v", got, want)
	}
}
