package ghclient

import (
	"crypto/rsa"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
)

const (
	// jwtBackdate is how far iat is set in the past, as GitHub recommends, so
	// that a GitHub clock slightly behind ours does not see iat in the future.
	jwtBackdate = 60 * time.Second
	// jwtLifetime stays a minute under GitHub's 10-minute maximum for exp.
	jwtLifetime = 9 * time.Minute
	// jwtRefreshMargin is how long before exp a cached JWT is replaced, so a
	// JWT is never sent that could expire in flight or during retries.
	jwtRefreshMargin = 2 * time.Minute

	// maxSkewAhead bounds how far ahead of ours a GitHub clock is believed.
	// A Date header is unauthenticated: one a month ahead would otherwise
	// make us sign JWTs that become valid a month from now, for whoever
	// sent it to replay. With the bound, no JWT is valid later than
	// maxSkewAhead plus its own 9 minutes.
	maxSkewAhead = time.Hour
	// maxSkewBehind bounds the other way. A JWT dated in the past grants
	// nothing later, so the bound is loose: it only keeps absurd values out.
	maxSkewBehind = 24 * time.Hour
)

// skewMessages are the 401 messages GitHub gives for iat or exp claims that
// its clock disagrees with. Like Octokit's auth-app, a reply carrying one of
// them is taken as a sign of clock skew.
var skewMessages = []string{
	"'Expiration time' claim ('exp')",
	"'Issued at' claim ('iat')",
}

func isClockSkewMessage(msg string) bool {
	for _, m := range skewMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// jwtSigner signs the App's JWTs and caches one for reuse: RSA signing is
// comparatively expensive and GitHub accepts a JWT until it expires.
type jwtSigner struct {
	key    *rsa.PrivateKey
	issuer string
	now    func() time.Time
	logger hclog.Logger

	observer Observer // told of each signature; nil observes nothing

	// mu guards the fields below. It is held while signing (no network I/O),
	// so concurrent callers with an expired cache wait for one signature
	// instead of each making their own.
	mu         sync.Mutex
	token      string
	refreshAt  time.Time     // on GitHub's clock
	skew       time.Duration // GitHub's clock minus ours, bounded
	skewLogged bool
}

// get returns a JWT that stays valid for at least jwtRefreshMargin.
func (s *jwtSigner) get() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.now().Add(s.skew)
	if s.token != "" && now.Before(s.refreshAt) {
		return s.token, nil
	}

	// Plain int64 claims rather than jwt.NumericDate: GitHub rejects
	// fractional timestamps, and NumericDate's encoding depends on the
	// package-global jwt.TimePrecision, which other code may change.
	iat := now.Add(-jwtBackdate).Unix()
	exp := now.Add(jwtLifetime).Unix()
	claims := jwt.MapClaims{"iat": iat, "exp": exp, "iss": s.issuer}
	token, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("signing GitHub App JWT: %w", err)
	}
	if s.observer != nil {
		s.observer.ObserveJWTSigned()
	}
	s.token = token
	s.refreshAt = time.Unix(exp, 0).Add(-jwtRefreshMargin)
	return token, nil
}

// githubNow is our clock corrected by the skew learned so far.
func (s *jwtSigner) githubNow() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now().Add(s.skew)
}

// correctSkew adopts GitHub's clock, as read from the Date header of a reply
// that rejected the JWT named by rejected, for all future JWTs.
func (s *jwtSigner) correctSkew(rejected string, githubNow time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()

	observed := githubNow.Sub(s.now())
	s.skew = min(max(observed, -maxSkewBehind), maxSkewAhead)
	// A concurrent request may already have corrected the skew and signed a
	// new JWT; only drop the cache if it still holds the rejected one.
	if s.token == rejected {
		s.token = ""
	}

	log := s.logger.Debug
	if !s.skewLogged {
		log = s.logger.Warn
		s.skewLogged = true
	}
	log("GitHub rejected the App JWT because of clock skew; signing JWTs on GitHub's clock from now on",
		"skew", s.skew.Round(time.Second).String(), "observed", observed.Round(time.Second).String())
}
