package ghclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
)

func TestJWTClaims(t *testing.T) {
	for _, tc := range []struct {
		name     string
		clientID string
		wantIss  string
	}{
		{name: "client ID preferred", clientID: "Iv23liABC", wantIss: `"Iv23liABC"`},
		{name: "app ID as string", wantIss: `"42"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, status(http.StatusOK, installationJSON), func(c *Config) { c.ClientID = tc.clientID })
			if _, err := h.client.FindInstallationByOwner(context.Background(), "octo"); err != nil {
				t.Fatal(err)
			}
			claims := verifyJWT(t, h.lastCredential(t))

			if len(claims) != 3 {
				t.Errorf("claims = %v, want exactly iat, exp, iss", keys(claims))
			}
			if got := string(claims["iss"]); got != tc.wantIss {
				t.Errorf("iss = %s, want %s", got, tc.wantIss)
			}
			if got, want := claimInt(t, claims, "iat"), t0.Add(-time.Minute).Unix(); got != want {
				t.Errorf("iat = %d, want now-60s = %d", got, want)
			}
			if got, want := claimInt(t, claims, "exp"), t0.Add(9*time.Minute).Unix(); got != want {
				t.Errorf("exp = %d, want now+9m = %d", got, want)
			}
		})
	}
}

// A global jwt.TimePrecision changed elsewhere in the process must not make
// the client emit fractional claims, which GitHub rejects.
func TestJWTClaimsIgnoreTimePrecision(t *testing.T) {
	saved := jwt.TimePrecision
	jwt.TimePrecision = time.Millisecond
	t.Cleanup(func() { jwt.TimePrecision = saved })

	h := newHarness(t, status(http.StatusOK, installationJSON))
	if _, err := h.client.FindInstallationByOwner(context.Background(), "octo"); err != nil {
		t.Fatal(err)
	}
	claims := verifyJWT(t, h.lastCredential(t))
	claimInt(t, claims, "iat")
	claimInt(t, claims, "exp")
}

func keys(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestJWTReuse(t *testing.T) {
	h := newHarness(t, status(http.StatusOK, installationJSON))
	ctx := context.Background()
	for range 100 {
		if _, err := h.client.FindInstallationByOwner(ctx, "octo"); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.signatures.Load(); got != 1 {
		t.Fatalf("100 calls signed %d JWTs, want 1", got)
	}
	first := h.lastCredential(t)
	for _, r := range h.seen() {
		if r.Header.Get("Authorization") != "Bearer "+first {
			t.Fatal("calls within the reuse window sent different JWTs")
		}
	}

	// exp is now+9m, reused until 2 minutes before it.
	h.clock.Advance(6*time.Minute + 59*time.Second)
	if _, err := h.client.FindInstallationByOwner(ctx, "octo"); err != nil {
		t.Fatal(err)
	}
	if got := h.signatures.Load(); got != 1 {
		t.Fatalf("inside the reuse window: %d signatures, want 1", got)
	}

	h.clock.Advance(2 * time.Second)
	if _, err := h.client.FindInstallationByOwner(ctx, "octo"); err != nil {
		t.Fatal(err)
	}
	if got := h.signatures.Load(); got != 2 {
		t.Fatalf("past the reuse window: %d signatures, want 2", got)
	}
	if h.lastCredential(t) == first {
		t.Fatal("a JWT was reused past its reuse window")
	}
}

func TestJWTReuseConcurrent(t *testing.T) {
	h := newHarness(t, status(http.StatusOK, installationJSON))
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := h.client.FindInstallationByOwner(context.Background(), "octo")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := h.signatures.Load(); got != 1 {
		t.Fatalf("50 concurrent calls signed %d JWTs, want 1", got)
	}
}

func TestNoPrivateKey(t *testing.T) {
	h := newHarness(t, status(http.StatusOK, installationJSON), func(c *Config) { c.PrivateKey = nil })
	if _, err := h.client.FindInstallationByOwner(context.Background(), "octo"); !errors.Is(err, ErrNoPrivateKey) {
		t.Fatalf("a JWT call without a key: err = %v, want ErrNoPrivateKey", err)
	}
	if n := h.attempts(); n != 0 {
		t.Fatalf("%d requests sent without credentials", n)
	}
}

// skewedGitHub validates JWT times against its own clock, as GitHub does.
// It runs on the server's goroutines, so it reports with t.Error only.
func skewedGitHub(t *testing.T, githubNow time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", githubNow.Format(http.TimeFormat))
		iat, exp, err := jwtTimes(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		switch {
		case err != nil:
			t.Error(err)
			githubError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		case iat.After(githubNow):
			githubError(w, http.StatusUnauthorized, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.")
		case !exp.After(githubNow):
			githubError(w, http.StatusUnauthorized, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.")
		case exp.After(githubNow.Add(10 * time.Minute)):
			githubError(w, http.StatusUnauthorized, "'Expiration time' claim ('exp') is too far in the future")
		default:
			writeJSON(w, http.StatusOK, installationJSON)
		}
	}
}

func jwtTimes(token string) (iat, exp time.Time, err error) {
	claims, err := decodeJWT(token)
	if err != nil {
		return iat, exp, err
	}
	i, err := intClaim(claims, "iat")
	if err != nil {
		return iat, exp, err
	}
	e, err := intClaim(claims, "exp")
	return time.Unix(i, 0), time.Unix(e, 0), err
}

func TestClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{15 * time.Minute, -15 * time.Minute} {
		t.Run(fmt.Sprintf("GitHub %v", skew), func(t *testing.T) {
			var logs bytes.Buffer
			logger := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug})
			githubNow := t0.Add(skew)
			h := newHarness(t, skewedGitHub(t, githubNow), func(c *Config) { c.Logger = logger })
			ctx := context.Background()

			if _, err := h.client.FindInstallationByOwner(ctx, "octo"); err != nil {
				t.Fatalf("FindInstallationByOwner did not recover from clock skew: %v", err)
			}
			if n := h.attempts(); n != 2 {
				t.Fatalf("%d attempts, want the rejected one and one retry", n)
			}
			corrected := h.lastCredential(t)
			iat := claimInt(t, verifyJWT(t, corrected), "iat")
			if want := githubNow.Add(-time.Minute).Unix(); iat < want-1 || iat > want {
				t.Errorf("corrected iat = %d, want GitHub's now-60s = %d", iat, want)
			}

			if _, err := h.client.FindInstallationByOwner(ctx, "octo"); err != nil {
				t.Fatal(err)
			}
			if n, sigs := h.attempts(), h.signatures.Load(); n != 3 || sigs != 2 {
				t.Fatalf("second call: %d attempts, %d signatures; want 3 and 2 (corrected JWT reused)", n, sigs)
			}
			if h.lastCredential(t) != corrected {
				t.Fatal("second call did not reuse the corrected JWT")
			}
			if got := strings.Count(logs.String(), "[WARN]"); got != 1 {
				t.Errorf("%d warnings logged, want 1:\n%s", got, logs.String())
			}
			if strings.Contains(logs.String(), corrected) {
				t.Error("the log contains the JWT")
			}
		})
	}
}

// A 401 that persists after correcting the clock is returned, not retried again.
func TestClockSkewRetriedOnce(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		githubError(w, http.StatusUnauthorized, "'Expiration time' claim ('exp') is too far in the future")
	})
	_, err := h.client.FindInstallationByOwner(context.Background(), "octo")
	if !IsUnauthorized(err) {
		t.Fatalf("err = %v, want 401", err)
	}
	if n := h.attempts(); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

// Skew is logged at Warn level once; later corrections go to Debug.
func TestClockSkewWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	s := &jwtSigner{
		now:    func() time.Time { return t0 },
		logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}),
	}
	s.correctSkew("", t0.Add(-time.Hour))
	s.correctSkew("", t0.Add(-2*time.Hour))
	if w, d := strings.Count(logs.String(), "[WARN]"), strings.Count(logs.String(), "[DEBUG]"); w != 1 || d != 1 {
		t.Errorf("%d warnings and %d debug lines, want 1 and 1:\n%s", w, d, logs.String())
	}
	if s.skew != -2*time.Hour {
		t.Errorf("skew = %v, want the latest, -2h", s.skew)
	}
}
