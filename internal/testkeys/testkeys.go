// Package testkeys is the one home of the RSA keys the test suites, the
// emulator, the demo and the benchmarks use, of their PEM forms and of the
// JWTs signed with them. A 2048-bit key takes a while to generate (seconds
// under -race), so each named key is generated once per process and
// shared.
package testkeys

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Bits is the size of the keys, GitHub's own for App keys.
const Bits = 2048

var (
	mu    sync.Mutex
	named = map[string]*rsa.PrivateKey{}
)

// RSA returns the key called name, generating it on first use. Different
// names give different keys: "app" for the App, "other" for a key that is
// not the App's, "oidc" for a token issuer.
func RSA(name string) *rsa.PrivateKey {
	mu.Lock()
	defer mu.Unlock()
	if key, ok := named[name]; ok {
		return key
	}
	key, err := New()
	if err != nil {
		panic(fmt.Sprintf("testkeys: generating %q: %v", name, err))
	}
	named[name] = key
	return key
}

// New generates a fresh key, for a program that needs one of its own.
func New() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, Bits)
}

// PKCS1PEM is key as GitHub hands it out: an "RSA PRIVATE KEY" PEM block.
func PKCS1PEM(key *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// ParsePKCS1PEM reads a key in the form PKCS1PEM writes.
func ParsePKCS1PEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes)
}

// PKCS8PEM is a key of any type as a "PRIVATE KEY" PEM block.
func PKCS8PEM(key any) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PublicPEM is a public key as a "PUBLIC KEY" PEM block (PKIX).
func PublicPEM(pub any) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// AppClaims are the claims of an App JWT as a well-behaved client signs it
// at now: issued a minute back, for clocks that disagree, expiring within
// GitHub's 10-minute limit, issued by iss (the App ID or its Client ID).
func AppClaims(iss any, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iat": now.Unix() - 60, "exp": now.Unix() + 540, "iss": iss}
}

// JWT signs claims with key as RS256, the algorithm of App JWTs and of
// GitHub Actions' OIDC tokens; kid, when not empty, names the key in the
// header.
func JWT(key *rsa.PrivateKey, claims jwt.Claims, kid string) (string, error) {
	token := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	if kid != "" {
		token.Header["kid"] = kid
	}
	return token.SignedString(key)
}

// fragmentBytes is the shortest piece of a key's body a leak check looks
// for: short enough to catch a value cut to 64 bytes, long enough never to
// match ordinary text.
const fragmentBytes = 16

// Fragments are the pieces of a PEM key that must never leave storage:
// every run of fragmentBytes characters within each line of its base64
// body, so that a leak of any part of a line is caught, however it was
// cut or quoted.
func Fragments(pemText string) []string {
	var fragments []string
	for _, line := range strings.Split(pemText, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "-----") {
			continue
		}
		for i := 0; i+fragmentBytes <= len(line); i++ {
			fragments = append(fragments, line[i:i+fragmentBytes])
		}
	}
	return fragments
}

// Leaks reports whether text holds any fragment of a PEM key.
func Leaks(text, pemText string) bool {
	for _, fragment := range Fragments(pemText) {
		if strings.Contains(text, fragment) {
			return true
		}
	}
	return false
}
