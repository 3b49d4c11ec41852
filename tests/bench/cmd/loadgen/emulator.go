package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

// emulator is the ghemu command, run as a process of its own so that its
// CPU is counted apart, and what it seeded.
type emulator struct {
	proc *vaultdev.Process
	ghemu.RunInfo
	key    *rsa.PrivateKey
	keyPEM string
	client *http.Client // for its control API
}

// startEmulator starts ghemu on loopback with a fresh App key and the bulk
// installation, over HTTP and HTTPS.
func (b *bench) startEmulator(ctx context.Context) error {
	bin, err := b.build(ctx, "ghemu", "internal/ghemu/cmd/ghemu")
	if err != nil {
		return err
	}
	keyFile, infoFile := filepath.Join(b.work, "app.pem"), filepath.Join(b.work, "ghemu.json")
	args := []string{"-addr", "127.0.0.1:0", "-key-out", keyFile, "-info-out", infoFile,
		"-bulk-repos", strconv.Itoa(bulkRepos), "-tls-addr", "127.0.0.1:0", "-tls-ca-out", filepath.Join(b.work, "ca.pem")}
	proc, err := vaultdev.StartProcess("ghemu", filepath.Join(b.work, "ghemu.log"), bin, args, os.Environ())
	if err != nil {
		return err
	}
	b.stops = append(b.stops, proc.Kill)
	e := &emulator{proc: proc, client: &http.Client{Timeout: time.Minute}}
	// The info file is written once the emulator listens; until then it is
	// missing or partly written.
	deadline := time.Now().Add(vaultdev.StartTimeout)
	for {
		data, err := os.ReadFile(infoFile)
		if err == nil && json.Unmarshal(data, &e.RunInfo) == nil {
			break
		}
		if !proc.Running() || time.Now().After(deadline) {
			return errors.New("the emulator did not start:\n" + proc.LogTail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	pemData, err := os.ReadFile(keyFile)
	if err != nil {
		return err
	}
	if e.key, err = testkeys.ParsePKCS1PEM(pemData); err != nil {
		return err
	}
	e.keyPEM = string(pemData)
	b.emu = e
	return nil
}

// control calls the emulator's control API.
func (e *emulator) control(ctx context.Context, method, path, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.URL+"/_emulator/"+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	return send(e.client, req)
}

func (e *emulator) setLatency(ctx context.Context, ms int) error {
	_, err := e.control(ctx, http.MethodPost, "latency", fmt.Sprintf(`{"ms":%d}`, ms))
	return err
}

func (e *emulator) stats(ctx context.Context) (ghemu.Stats, error) {
	var stats ghemu.Stats
	body, err := e.control(ctx, http.MethodGet, "stats", "")
	if err != nil {
		return stats, err
	}
	// The emulator always sends its per-route counts, even when empty.
	if err := json.Unmarshal(body, &stats); err != nil || stats.Endpoints == nil {
		return stats, errors.New("the emulator's /_emulator/stats has no request counts")
	}
	return stats, nil
}
