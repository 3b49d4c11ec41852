// Package testkeys is the one home of the RSA keys the test suites, the
// emulator and the demo use, and of their PEM forms. A 2048-bit key takes a
// while to generate (seconds under -race), so each named key is generated
// once per process and shared.
package testkeys

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
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
