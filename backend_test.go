package githubapp

import (
	"bytes"
	"context"
	"crypto/rsa"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

const (
	testAppID    = 4242
	testClientID = "Iv1.test0123456789"
	// vaultMaxRequestDuration is Vault's default request deadline
	// (default_max_request_duration), which its rollback manager's runs
	// have too.
	vaultMaxRequestDuration = 90 * time.Second
)

// testKeys returns the App's key and an unrelated one.
func testKeys(testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	return testkeys.RSA("app"), testkeys.RSA("other")
}

func pkcs1PEM(key *rsa.PrivateKey) string { return string(testkeys.PKCS1PEM(key)) }

func pkcs8PEM(t testing.TB, key any) string {
	t.Helper()
	pemBytes, err := testkeys.PKCS8PEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pemBytes)
}

// testEnv is a backend on in-memory storage, configured against an
// emulated GitHub that holds the sample App, org and user.
type testEnv struct {
	t        testing.TB
	b        *backend
	storage  logical.Storage
	emulator *ghemu.Server // the emulated GitHub
	sample   ghemu.Sample
	key      *rsa.PrivateKey
	logs     *syncBuffer
	// system answers the backend's questions to Vault; tests set the
	// caller's entity (EntityVal, GroupsVal) on it.
	system *logical.StaticSystemView
}

// syncBuffer collects the backend's log output for assertions.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// newUnconfiguredEnv starts the emulator and a backend with no config.
func newUnconfiguredEnv(t testing.TB) *testEnv {
	t.Helper()
	key, _ := testKeys(t)
	logs := &syncBuffer{}
	conf := logical.TestBackendConfig()
	conf.StorageView = &logical.InmemStorage{}
	system := logical.TestSystemView()
	system.PluginEnvironment = &logical.PluginEnvironment{VaultVersion: "1.21.0"}
	conf.System = system
	conf.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: logs})
	b, err := Factory(context.Background(), conf)
	if err != nil {
		t.Fatal(err)
	}
	emulator := ghemu.NewTestServer(t)
	return &testEnv{
		t: t, b: b.(*backend), storage: conf.StorageView, emulator: emulator, key: key, logs: logs, system: system,
		sample: emulator.SeedSample(testAppID, testClientID, &key.PublicKey),
	}
}

// newTestEnv also writes a valid config naming the sample App.
func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	e := newUnconfiguredEnv(t)
	e.mustWrite("config", map[string]any{
		fieldAppID:      testAppID,
		fieldPrivateKey: pkcs1PEM(e.key),
		fieldBaseURL:    e.emulator.URL(),
	})
	return e
}

// newRoleEnv is a configured environment with role "ci" on the sample
// org's installation, plus any extra role fields.
func newRoleEnv(t testing.TB, extra map[string]any) *testEnv {
	t.Helper()
	e := newTestEnv(t)
	role := map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)}
	for k, v := range extra {
		role[k] = v
	}
	e.mustWrite("roles/ci", role)
	return e
}

func (e *testEnv) do(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	e.t.Helper()
	return e.b.HandleRequest(context.Background(), &logical.Request{
		Operation: op,
		Path:      path,
		Data:      data,
		Storage:   e.storage,
	})
}

// mustWrite performs a create/update and fails the test on any error.
func (e *testEnv) mustWrite(path string, data map[string]any) *logical.Response {
	e.t.Helper()
	var op logical.Operation = logical.UpdateOperation
	if exists, _ := e.storage.Get(context.Background(), path); exists == nil {
		op = logical.CreateOperation
	}
	resp, err := e.do(op, path, data)
	requireOK(e.t, resp, err)
	return resp
}

func (e *testEnv) mustRead(path string) *logical.Response {
	e.t.Helper()
	resp, err := e.do(logical.ReadOperation, path, nil)
	requireOK(e.t, resp, err)
	if resp == nil {
		e.t.Fatalf("read %s: no response", path)
	}
	return resp
}

func requireOK(t testing.TB, resp *logical.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if resp != nil && resp.IsError() {
		t.Fatalf("unexpected error response: %v", resp.Error())
	}
}

// requireUserError asserts a 400-style error response whose message
// contains every one of wants.
func requireUserError(t testing.TB, resp *logical.Response, err error, wants ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("want an error response, got internal error: %v", err)
	}
	if resp == nil || !resp.IsError() {
		t.Fatalf("want an error response, got %#v", resp)
	}
	msg := resp.Error().Error()
	for _, want := range wants {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}

// storageSnapshot copies every storage entry, to prove a rejected write
// changed nothing.
func storageSnapshot(t testing.TB, s logical.Storage) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys, err := logical.CollectKeys(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	snap := make(map[string]string, len(keys))
	for _, k := range keys {
		entry, err := s.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		snap[k] = string(entry.Value)
	}
	return snap
}

func requireSameStorage(t testing.TB, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("storage changed: %d entries before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("storage entry %q changed", k)
		}
	}
}

func TestBackend_InvalidateDropsCachedState(t *testing.T) {
	e := newTestEnv(t)
	e.mustWrite("roles/ci", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	if _, err := e.b.getClient(context.Background(), e.storage); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.getRole(context.Background(), e.storage, "ci"); err != nil {
		t.Fatal(err)
	}

	e.b.invalidate(context.Background(), "config")
	e.b.invalidate(context.Background(), "roles/ci")

	e.b.lock.RLock()
	defer e.b.lock.RUnlock()
	if e.b.client != nil {
		t.Error("config invalidation kept the cached client")
	}
	if _, ok := e.b.roles["ci"]; ok {
		t.Error("role invalidation kept the cached role")
	}
}

func TestBackend_ReportsRunningVersion(t *testing.T) {
	e := newUnconfiguredEnv(t)
	if got := e.b.PluginVersion().Version; got != Version {
		t.Fatalf("running version %q, want %q", got, Version)
	}
}

// idOf writes an ID as requests carry it: a string of digits, the form
// Vault's policy checks compare.
func idOf[T int | int64](id T) string { return strconv.FormatInt(int64(id), 10) }
