package ghemu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// GitHub serves its API over HTTPS and offers HTTP/2. StartTLS does the
// same, with a certificate from a CA made for the run, so that a client's
// TLS cost and its reuse of connections can be measured: every completed
// handshake is counted, and every API request by protocol.

// certLife is how long generated certificates are valid: longer than any
// benchmark or test run.
const certLife = 24 * time.Hour

// CA is a certificate authority generated for one run. Clients trust it
// through PEM: for a Go program on Linux, SSL_CERT_FILE=<file holding PEM>
// replaces the system roots without any change to the program.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// PEM is the CA certificate, PEM-encoded.
	PEM []byte
}

// NewCA generates a CA. ECDSA P-256 keys, as api.github.com's certificate
// has, are also fast to generate.
func NewCA() (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "ghemu test CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := signCert(tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Pool is a certificate pool holding only the CA, for Go clients in tests.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// ServerCert issues a server certificate for hosts (IP addresses or DNS
// names; at least one).
func (ca *CA) ServerCert(hosts ...string) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("ghemu: a server certificate needs a host")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: hosts[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := signCert(tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// signCert completes a template's serial number and validity and signs it.
func signCert(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(certLife)
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
}

// tlsCounters observe the StartTLS listener.
type tlsCounters struct {
	handshakes atomic.Int64
	http2      atomic.Int64
	http1      atomic.Int64
}

// StartTLS listens on addr with TLS and cert, offering HTTP/2 and
// HTTP/1.1 as GitHub does, and serves in the background. It returns the
// base URL (https://…). It may be used with Start on the same emulator:
// both listeners serve the same Apps, tokens and recording.
func (s *Server) StartTLS(addr string, cert tls.Certificate) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{
		Handler:           s.countProtocols(s),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.countConnection,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"h2", "http/1.1"},
			MinVersion:   tls.VersionTLS12,
			// Called once per completed handshake, resumptions included:
			// a client that reuses its connections makes this stay put.
			VerifyConnection: func(tls.ConnectionState) error {
				s.tls.handshakes.Add(1)
				return nil
			},
		},
	}
	url := "https://" + ln.Addr().String()
	if err := s.setListener(url, func() { srv.Close() }); err != nil {
		ln.Close()
		return "", err
	}
	// ServeTLS returns only once Close has shut the server down, with
	// http.ErrServerClosed.
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return url, nil
}

// countProtocols counts API requests by protocol; the control API, which
// benchmarks poll, is left out.
func (s *Server) countProtocols(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, adminPrefix) {
			if r.ProtoMajor == 2 {
				s.tls.http2.Add(1)
			} else {
				s.tls.http1.Add(1)
			}
		}
		next.ServeHTTP(w, r)
	})
}
