package ghemu

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerifyJWT feeds the verifier arbitrary Authorization material: it
// must never panic, and whatever it accepts must be a JWT that the App's
// public key verifies, with integer claims inside GitHub's window.
func FuzzVerifyJWT(f *testing.F) {
	key, stranger := testKeys()
	s := New()
	s.SeedSample(testAppID, testClientID, &key.PublicKey)
	now := time.Now()
	for _, c := range []jwt.MapClaims{
		claims(now),
		{"iat": now.Unix(), "exp": now.Unix() + 600, "iss": testClientID},
		{"iat": 1.5, "exp": now.Unix() + 60, "iss": "4242"},
		{"iat": now.Unix(), "exp": now.Unix() + 1200, "iss": testAppID},
	} {
		f.Add(sign(f, key, c))
		f.Add(sign(f, stranger, c))
	}
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOjF9.")
	f.Add("a.b.c")
	f.Add("")

	f.Fuzz(func(t *testing.T, raw string) {
		found, c, apiErr := s.verifyJWT(raw)
		if apiErr != nil {
			return
		}
		if found == nil || c == nil {
			t.Fatal("accepted without naming the App")
		}
		parsed, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"RS256"}))
		if err != nil || !parsed.Valid {
			t.Fatalf("accepted a JWT the App's key does not verify: %v", err)
		}
		unix := s.now().Unix()
		if c.IssuedAt > unix || c.ExpiresAt <= unix || c.ExpiresAt > unix+maxJWTLifetime {
			t.Fatalf("accepted claims outside GitHub's window: %+v", c)
		}
		if !strings.HasPrefix(raw, "ey") {
			t.Fatalf("accepted something that is not a JWT: %q", raw)
		}
	})
}
