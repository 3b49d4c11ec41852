package ghemu

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWTAccepted(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /app: status %d: %s", r.status, r.body)
	}
	var app struct {
		ID       int64  `json:"id"`
		Slug     string `json:"slug"`
		ClientID string `json:"client_id"`
		Owner    struct {
			Login string `json:"login"`
		} `json:"owner"`
		Permissions map[string]string `json:"permissions"`
	}
	r.json(t, &app)
	if app.ID != testAppID || app.Slug != "demo-app" || app.ClientID != testClientID || app.Owner.Login != "acme" {
		t.Errorf("GET /app = %+v", app)
	}
	if app.Permissions["contents"] != "write" {
		t.Errorf("app permissions = %v", app.Permissions)
	}

	reqs := f.Requests()
	if len(reqs) != 1 || reqs[0].JWT == nil {
		t.Fatalf("recorded %d requests, JWT %v", len(reqs), reqs)
	}
	if got := reqs[0].JWT; got.AppID != testAppID || got.Issuer != strconv.Itoa(testAppID) || got.ExpiresAt-got.IssuedAt != 600 {
		t.Errorf("recorded claims = %+v", got)
	}
}

func TestJWTIssuerForms(t *testing.T) {
	f := newFixture(t)
	for name, iss := range map[string]any{"client ID": testClientID, "numeric string": strconv.Itoa(testAppID)} {
		c := claims(f.now())
		c["iss"] = iss
		if r := f.do(t, http.MethodGet, "/app", "Bearer "+sign(t, f.key, c), nil); r.status != http.StatusOK {
			t.Errorf("iss as %s: status %d: %s", name, r.status, r.body)
		}
	}
}

func TestJWTRefused(t *testing.T) {
	f := newFixture(t)
	_, stranger := testKeys()
	now := f.now().Unix()
	with := func(k string, v any) jwt.MapClaims {
		c := claims(f.now())
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&f.key.PublicKey))})
	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(f.now())).SignedString(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims(f.now())).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		auth    string
		status  int
		message string
	}{
		{"wrong key", "Bearer " + sign(t, stranger, claims(f.now())), 401, errJWTDecode.message},
		{"expired exp", "Bearer " + sign(t, f.key, jwt.MapClaims{"iat": now - 700, "exp": now - 100, "iss": testAppID}), 401, errJWTExpired.message},
		{"exp 20 min ahead", "Bearer " + sign(t, f.key, with("exp", now+1200)), 401, errJWTTooFarOut.message},
		{"iat in the future", "Bearer " + sign(t, f.key, with("iat", now+30)), 401, errJWTIssuedAt.message},
		{"float iat", "Bearer " + sign(t, f.key, with("iat", float64(now-60)+0.5)), 401, errJWTIssuedAt.message},
		{"string iat", "Bearer " + sign(t, f.key, with("iat", strconv.FormatInt(now-60, 10))), 401, errJWTIssuedAt.message},
		{"missing exp", "Bearer " + sign(t, f.key, with("exp", nil)), 401, errJWTExpired.message},
		{"missing iss", "Bearer " + sign(t, f.key, with("iss", nil)), 401, errJWTNoIssuer.message},
		{"unknown App", "Bearer " + sign(t, f.key, with("iss", 9999)), 404, errJWTNoApp.message},
		{"unknown client ID", "Bearer " + sign(t, f.key, with("iss", "Iv1.nobody")), 404, errJWTNoApp.message},
		{"alg none", "Bearer " + none, 401, errJWTDecode.message},
		{"HS256 with the public key", "Bearer " + hs256, 401, errJWTDecode.message},
		{"garbage", "Bearer not-a-jwt", 401, errJWTDecode.message},
		{"token scheme", "token " + f.appJWT(t), 401, errJWTDecode.message},
		{"no Authorization", "", 401, errJWTDecode.message},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodGet, "/app", tc.auth, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if got := r.message(t); got != tc.message {
				t.Errorf("message %q, want %q", got, tc.message)
			}
		})
	}
}

// TestJWTClockBoundaries pins the clock to check GitHub's limits exactly:
// iat up to now, exp after now and at most 600 s ahead.
func TestJWTClockBoundaries(t *testing.T) {
	f := newFixture(t)
	fixed := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.SetNow(func() time.Time { return fixed })
	now := fixed.Unix()
	tests := []struct {
		iat, exp int64
		want     string // "" for accepted
	}{
		{now, now + 600, ""},
		{now + 1, now + 600, errJWTIssuedAt.message},
		{now - 60, now + 601, errJWTTooFarOut.message},
		{now - 60, now, errJWTExpired.message},
		{now - 60, now + 1, ""},
	}
	for _, tc := range tests {
		jwtStr := sign(t, f.key, jwt.MapClaims{"iat": tc.iat, "exp": tc.exp, "iss": testAppID})
		r := f.do(t, http.MethodGet, "/app", "Bearer "+jwtStr, nil)
		switch {
		case tc.want == "" && r.status != http.StatusOK:
			t.Errorf("iat %+d exp %+d: status %d: %s", tc.iat-now, tc.exp-now, r.status, r.body)
		case tc.want != "" && (r.status != http.StatusUnauthorized || r.message(t) != tc.want):
			t.Errorf("iat %+d exp %+d: status %d %s, want 401 %q", tc.iat-now, tc.exp-now, r.status, r.body, tc.want)
		}
	}
}

// TestJWTClockSkew shows that a JWT valid by the client's clock fails when
// GitHub's clock disagrees, and that the Date header exposes GitHub's clock
// so that a client can recover.
func TestJWTClockSkew(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		skew time.Duration
		want string
	}{
		{time.Hour, errJWTExpired.message},   // GitHub ahead: exp already past
		{-time.Hour, errJWTIssuedAt.message}, // GitHub behind: iat in its future
	}
	for _, tc := range tests {
		f.SetClockSkew(tc.skew)
		clientJWT := sign(t, f.key, claims(time.Now()))
		r := f.do(t, http.MethodGet, "/app", "Bearer "+clientJWT, nil)
		if r.status != http.StatusUnauthorized || r.message(t) != tc.want {
			t.Errorf("skew %v: status %d %s, want 401 %q", tc.skew, r.status, r.body, tc.want)
		}
		date, err := http.ParseTime(r.header.Get("Date"))
		if err != nil {
			t.Fatalf("Date header: %v", err)
		}
		if off := time.Until(date) - tc.skew; off < -5*time.Second || off > 5*time.Second {
			t.Errorf("skew %v: Date %v is off by %v", tc.skew, date, off)
		}
		// A client that rebuilds its JWT on GitHub's clock succeeds.
		retry := sign(t, f.key, claims(date))
		if r := f.do(t, http.MethodGet, "/app", "Bearer "+retry, nil); r.status != http.StatusOK {
			t.Errorf("skew %v: retry on the Date clock: status %d: %s", tc.skew, r.status, r.body)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
