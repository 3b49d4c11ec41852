package ghemu

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// JWTClaims are the claims of an App JWT whose signature verified.
type JWTClaims struct {
	Issuer    string `json:"iss"` // as sent: an App ID or a Client ID
	AppID     int64  `json:"app_id"`
	IssuedAt  int64  `json:"iat"` // 0 when absent or not an integer
	ExpiresAt int64  `json:"exp"` // 0 when absent or not an integer
}

// maxJWTLifetime is how far ahead of GitHub's clock exp may be, in seconds.
const maxJWTLifetime = 600

// GitHub's replies to a bad App JWT (see the facts sheet).
var (
	errJWTDecode    = &apiError{http.StatusUnauthorized, "A JSON web token could not be decoded"}
	errJWTNoIssuer  = &apiError{http.StatusUnauthorized, "Missing 'issuer' claim ('iss') in assertion"}
	errJWTNoApp     = &apiError{http.StatusNotFound, "Integration not found"}
	errJWTIssuedAt  = &apiError{http.StatusUnauthorized, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued."}
	errJWTExpired   = &apiError{http.StatusUnauthorized, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires."}
	errJWTTooFarOut = &apiError{http.StatusUnauthorized, "'Expiration time' claim ('exp') is too far in the future"}
)

// jwtParser checks structure, algorithm and signature only: GitHub's claim
// rules differ from golang-jwt's (integers only, no leeway, a 10-minute
// cap), so the claims are checked by verifyJWT. JSON numbers are kept as
// json.Number so that 1.5 and 1 can be told apart.
var jwtParser = jwt.NewParser(
	jwt.WithValidMethods([]string{"RS256"}),
	jwt.WithJSONNumber(),
	jwt.WithoutClaimsValidation(),
)

// verifyJWT authenticates an App. It returns the claims whenever the
// signature verified, so that refused attempts are recorded too.
func (s *Server) verifyJWT(raw string) (*app, *JWTClaims, *apiError) {
	claims := jwt.MapClaims{}
	var found *app
	_, err := jwtParser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) {
		a, e := s.issuer(claims["iss"])
		if e != nil {
			return nil, e
		}
		found = a
		return a.PublicKey, nil
	})
	if err != nil {
		if e := (*apiError)(nil); errors.As(err, &e) {
			return nil, nil, e
		}
		return nil, nil, errJWTDecode
	}

	iat, iatOK := integerClaim(claims["iat"])
	exp, expOK := integerClaim(claims["exp"])
	c := &JWTClaims{Issuer: issuerString(claims["iss"]), AppID: found.ID, IssuedAt: iat, ExpiresAt: exp}
	now := s.now().Unix()
	switch {
	case !iatOK || iat > now:
		return found, c, errJWTIssuedAt
	case !expOK || exp <= now:
		return found, c, errJWTExpired
	case exp > now+maxJWTLifetime:
		return found, c, errJWTTooFarOut
	}
	return found, c, nil
}

// issuer finds the App named by iss: an App ID (a JSON number or a numeric
// string) or a Client ID.
func (s *Server) issuer(iss any) (*app, *apiError) {
	var id int64
	var clientID string
	switch v := iss.(type) {
	case nil:
		return nil, errJWTNoIssuer
	case json.Number:
		n, err := v.Int64()
		if err != nil {
			return nil, errJWTNoApp
		}
		id = n
	case string:
		if v == "" {
			return nil, errJWTNoIssuer
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			id = n
		} else {
			clientID = v
		}
	default:
		return nil, errJWTNoApp
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.appByIssuer(id, clientID); a != nil {
		return a, nil
	}
	return nil, errJWTNoApp
}

// integerClaim accepts only a JSON integer: GitHub refuses 1.5, 1e9 and "1".
func integerClaim(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func issuerString(iss any) string {
	switch v := iss.(type) {
	case json.Number:
		return v.String()
	case string:
		return v
	}
	return ""
}

// credential splits an Authorization header into its scheme (lower case)
// and value.
func credential(r *http.Request) (scheme, value string) {
	scheme, value, _ = strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	return strings.ToLower(scheme), strings.TrimSpace(value)
}
