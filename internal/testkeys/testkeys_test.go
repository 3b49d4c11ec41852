package testkeys

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWTVerifiesWithThePublicKeyAndNamesTheKey(t *testing.T) {
	key := RSA("app")
	now := time.Now()
	signed, err := JWT(key, AppClaims(int64(42), now), "k1")
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Parse(signed, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatal(err)
	}
	if token.Header["kid"] != "k1" {
		t.Errorf("header %v; want kid k1", token.Header)
	}
	claims := token.Claims.(jwt.MapClaims)
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if claims["iss"] != float64(42) || now.Unix()-iat.Unix() != 60 || exp.Unix()-now.Unix() != 540 {
		t.Errorf("claims %v; want iss 42, issued 60 s back, expiring in 540 s", claims)
	}
	if _, err := jwt.Parse(signed, func(*jwt.Token) (any, error) { return &RSA("other").PublicKey, nil }); err == nil {
		t.Error("verified with another key")
	}
}

func TestParsePKCS1PEMReadsWhatPKCS1PEMWrites(t *testing.T) {
	key := RSA("app")
	got, err := ParsePKCS1PEM(PKCS1PEM(key))
	if err != nil || !got.Equal(key) {
		t.Fatalf("round trip: %v", err)
	}
	public, err := PublicPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"public key": public, "no PEM": []byte("app.pem")} {
		if _, err := ParsePKCS1PEM(data); err == nil {
			t.Errorf("%s: parsed as a private key", name)
		}
	}
}
