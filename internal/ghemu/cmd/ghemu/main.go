// Command ghemu runs the GitHub App API emulator as a standalone server for
// demos, benchmarks and out-of-process end-to-end tests. It seeds the sample
// fixture (see ghemu.Server.SeedSample) and serves until SIGINT or SIGTERM.
//
//	ghemu -key-out /tmp/app.pem -info-out /tmp/ghemu.json
//
// prints "ghemu listening on http://127.0.0.1:PORT". With -tls-addr and
// -tls-ca-out it also serves HTTPS (HTTP/2 offered, as GitHub does) on a
// second address, the same emulator behind both, with a certificate from a
// CA generated for the run; a Go client trusts it with
// SSL_CERT_FILE=<the -tls-ca-out file>. The control API is at /_emulator/
// (stats, tokens/{value}, latency, fail, clock-skew, reset-requests).
package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "ghemu:", err)
		os.Exit(1)
	}
}

// config holds the command-line flags.
type config struct {
	addr, clientID, keyOut, publicKey, infoOut string
	tlsAddr, tlsCAOut                          string
	appID                                      int64
	latency                                    time.Duration
	bulkRepos                                  int
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("ghemu", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "listen address")
	fs.Int64Var(&c.appID, "app-id", 1234, "App ID of the sample App")
	fs.StringVar(&c.clientID, "client-id", "Iv1.demo0123456789ab", "Client ID of the sample App")
	fs.StringVar(&c.keyOut, "key-out", "", "generate a 2048-bit App key and write it (PKCS#1 PEM, mode 0600) to this path")
	fs.StringVar(&c.publicKey, "public-key", "", "use the App key in this PEM file (public or private key)")
	fs.DurationVar(&c.latency, "latency", 0, "delay added to every reply")
	fs.StringVar(&c.infoOut, "info-out", "", "write the URL and sample IDs as JSON to this path")
	fs.StringVar(&c.tlsAddr, "tls-addr", "", "also serve HTTPS on this address (such as 127.0.0.1:0), certified for 127.0.0.1, ::1 and localhost; needs -tls-ca-out")
	fs.StringVar(&c.tlsCAOut, "tls-ca-out", "", "with -tls-addr: write the generated CA certificate (PEM) to this path")
	fs.IntVar(&c.bulkRepos, "bulk-repos", 0, "also install the App on organisation \""+ghemu.BulkOwner+"\" with this many selected repositories (for benchmarks)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.bulkRepos < 0 {
		return c, errors.New("-bulk-repos must not be negative")
	}
	if (c.tlsAddr == "") != (c.tlsCAOut == "") {
		return c, errors.New("-tls-addr and -tls-ca-out go together")
	}
	if (c.keyOut == "") == (c.publicKey == "") {
		return c, errors.New("exactly one of -key-out or -public-key is required")
	}
	return c, nil
}

// run serves until ctx is done.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	pub, err := appPublicKey(c)
	if err != nil {
		return err
	}

	s := ghemu.New()
	sample := s.SeedSample(c.appID, c.clientID, pub)
	info := ghemu.RunInfo{Sample: sample}
	if c.bulkRepos > 0 {
		info.BulkInstallationID = ghemu.BulkInstallationID
		info.BulkRepositories = s.SeedBulk(c.appID, c.bulkRepos)
	}
	s.SetLatency(c.latency)
	url, err := s.Start(c.addr)
	if err != nil {
		return err
	}
	defer s.Close()
	info.URL = url
	if c.tlsAddr != "" {
		if info.TLSURL, err = startTLS(s, c.tlsAddr, c.tlsCAOut); err != nil {
			return err
		}
	}

	if c.infoOut != "" {
		if err := writeInfo(c.infoOut, info); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "ghemu listening on", url)
	if info.TLSURL != "" {
		fmt.Fprintln(stdout, "ghemu listening on", info.TLSURL)
	}
	<-ctx.Done()
	return nil
}

// startTLS generates a CA, writes it to caOut, and serves HTTPS on addr
// with a certificate it signed for the loopback names.
func startTLS(s *ghemu.Server, addr, caOut string) (string, error) {
	ca, err := ghemu.NewCA()
	if err != nil {
		return "", err
	}
	cert, err := ca.ServerCert("127.0.0.1", "::1", "localhost")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(caOut, ca.PEM, 0o644); err != nil {
		return "", err
	}
	return s.StartTLS(addr, cert)
}

// appPublicKey generates the App key (-key-out) or reads it (-public-key).
func appPublicKey(c config) (*rsa.PublicKey, error) {
	if c.keyOut != "" {
		key, err := testkeys.New()
		if err != nil {
			return nil, err
		}
		if err := writePrivate(c.keyOut, testkeys.PKCS1PEM(key)); err != nil {
			return nil, err
		}
		return &key.PublicKey, nil
	}
	data, err := os.ReadFile(c.publicKey)
	if err != nil {
		return nil, err
	}
	return parsePublicKey(data)
}

// writePrivate writes a secret file readable by its owner only, even if a
// file with looser permissions was there before.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parsePublicKey accepts an RSA key as PEM in any of the usual encodings:
// PKIX or PKCS#1 public, PKCS#1 or PKCS#8 private.
func parsePublicKey(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block in the key file")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		return k, nil
	case *rsa.PrivateKey:
		return &k.PublicKey, nil
	}
	return nil, fmt.Errorf("%T is not an RSA key", key)
}

func writeInfo(path string, info ghemu.RunInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
