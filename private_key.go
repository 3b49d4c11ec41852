package githubapp

import (
	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"

	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// minKeyBits is the smallest RSA key accepted; GitHub itself generates
// 2048-bit keys, and anything smaller is breakable.
const minKeyBits = 2048

// parsePrivateKey decodes the PEM file GitHub generates for an App (PKCS#1)
// or the same key converted to PKCS#8. Errors describe the problem without
// ever quoting the input, which is secret.
func parsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, errors.New("private_key is not PEM-encoded: paste the whole .pem file GitHub generated for the App, including its BEGIN and END lines")
	}
	if isEncrypted(block) {
		return nil, errors.New("private_key is encrypted: decrypt it first (for example with openssl pkey) and supply the unencrypted PEM")
	}
	key, err := decodeRSAKey(block)
	if err != nil {
		return nil, err
	}
	if bits := key.N.BitLen(); bits < minKeyBits {
		return nil, fmt.Errorf("private_key is a %d-bit RSA key; GitHub App keys must have at least %d bits", bits, minKeyBits)
	}
	if err := key.Validate(); err != nil {
		return nil, errors.New("private_key is not a valid RSA key: its components are inconsistent")
	}
	return key, nil
}

func isEncrypted(block *pem.Block) bool {
	return block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED")
}

func decodeRSAKey(block *pem.Block) (*rsa.PrivateKey, error) {
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("private_key has an RSA PRIVATE KEY header but its body is not a valid PKCS#1 key")
		}
		return key, nil
	case "PRIVATE KEY":
		parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("private_key has a PRIVATE KEY header but its body is not a valid PKCS#8 key")
		}
		key, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private_key is a %s key; GitHub Apps use RSA keys", keyKind(parsed))
		}
		return key, nil
	case "EC PRIVATE KEY":
		return nil, errors.New("private_key is an ECDSA key; GitHub Apps use RSA keys")
	default:
		return nil, fmt.Errorf("private_key holds a PEM block of type %s; expected an RSA private key (RSA PRIVATE KEY or PRIVATE KEY)", quote.Input(block.Type))
	}
}

func keyKind(key any) string {
	name := fmt.Sprintf("%T", key) // e.g. *ecdsa.PrivateKey, ed25519.PrivateKey
	name = strings.TrimPrefix(name, "*")
	name, _, _ = strings.Cut(name, ".")
	return strings.ToUpper(name)
}

// keyFingerprint is the fingerprint GitHub shows on the App's settings page,
// so an admin can tell which of the App's keys Vault holds.
func keyFingerprint(key *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.StdEncoding.EncodeToString(sum[:]), nil
}
