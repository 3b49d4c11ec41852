package acltest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"

	githubapp "github.com/vault-github-app/vault-plugin-secrets-github-app"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/testkeys"
)

const (
	testAppID    = 4242
	testClientID = "Iv1.acltest0123456"
)

// extraRepositories join the sample org acme's selected repositories (api,
// web, docs, infra; billing is acme's but not selected): names that a
// denied list names, that one prefix glob matches in two spellings
// (team-a-x, Team-A-Y), and that a suffix glob matches.
var extraRepositories = []ghemu.Repository{
	{ID: 2010, Owner: "acme", Name: "secret", Private: true},
	{ID: 2011, Owner: "acme", Name: "team-a-x"},
	{ID: 2012, Owner: "acme", Name: "Team-A-Y"},
	{ID: 2013, Owner: "acme", Name: "api-svc"},
}

// The roles every case starts from, on acme's installation: one listing
// repositories, one listing none (every repository, every permission
// granted), one with a pattern. Written the ordinary way, as the README
// does.
var baseRoles = map[string]string{
	"repos": `{"installation_id": "1001", "repositories": ["api", "secret", "team-a-x", "Team-A-Y"],
		"permissions": ["contents=write", "issues=write", "metadata=read"]}`,
	"all":  `{"installation_id": "1001"}`,
	"team": `{"installation_id": "1001", "repositories": ["team-*"], "permissions": ["contents=write", "pull_requests=write"]}`,
}

// env is the emulated GitHub the plugin mints from, shared by the cases
// of a test, and the App's key.
type env struct {
	emulator *ghemu.Server
	keyPEM   string
	// owners maps installation IDs to their accounts' logins.
	owners map[int64]string
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	key := testkeys.RSA("app")
	emulator := ghemu.NewTestServer(tb)
	sample := emulator.SeedSample(testAppID, testClientID, &key.PublicKey)
	// The policies and requests name the sample's IDs.
	if sample.OrgInstallationID != 1001 || sample.UserInstallationID != 1002 || sample.Repositories["acme/api"] != 2001 {
		tb.Fatalf("the emulator's sample has other IDs than the cases name: %+v", sample)
	}
	for _, r := range extraRepositories {
		emulator.AddRepository(r)
		emulator.SelectRepositories(sample.OrgInstallationID, r.ID)
	}
	return &env{
		emulator: emulator, keyPEM: string(testkeys.PKCS1PEM(key)),
		owners: map[int64]string{
			sample.OrgInstallationID:       "acme",
			sample.UserInstallationID:      "octocat",
			sample.SuspendedInstallationID: "frozen",
		},
	}
}

// plugin is an instance of the plugin and its storage.
type plugin struct {
	backend logical.Backend
	storage logical.Storage
}

// newPlugin is a fresh instance of the plugin on in-memory storage,
// configured against the emulator, with the base roles.
func (e *env) newPlugin(tb testing.TB) *plugin {
	tb.Helper()
	conf := logical.TestBackendConfig()
	conf.StorageView = &logical.InmemStorage{}
	system := logical.TestSystemView()
	system.PluginEnvironment = &logical.PluginEnvironment{VaultVersion: "1.21.0"}
	conf.System = system
	conf.Logger = hclog.NewNullLogger()
	b, err := githubapp.Factory(context.Background(), conf)
	if err != nil {
		tb.Fatal(err)
	}
	p := &plugin{backend: b, storage: conf.StorageView}
	config, err := json.Marshal(map[string]any{"app_id": testAppID, "private_key": e.keyPEM, "base_url": e.emulator.URL()})
	if err != nil {
		tb.Fatal(err)
	}
	e.mustWrite(tb, p, "config", string(config))
	for name, body := range baseRoles {
		e.mustWrite(tb, p, "roles/"+name, body)
	}
	return p
}

// mustWrite writes a JSON body as root would, failing the test on any
// error; a failure names the path, never the body (the config's holds the
// key).
func (e *env) mustWrite(tb testing.TB, p *plugin, path, body string) {
	tb.Helper()
	req := httpRequest{method: "POST", path: path, body: body}
	data, err := req.data()
	if err != nil {
		tb.Fatalf("setting up %s: %v", path, err)
	}
	op, err := p.operation(req.operation(), path, data)
	if err != nil {
		tb.Fatalf("setting up %s: %v", path, err)
	}
	resp, err := p.handle(op, path, data)
	if err != nil || resp.IsError() {
		tb.Fatalf("setting up %s: %s", path, e.redact(describeOutcome(resp, err)))
	}
}

// handle sends a request to the plugin as Vault does, its data through
// the plugin transport.
func (p *plugin) handle(op logical.Operation, path string, data map[string]any) (*logical.Response, error) {
	req, err := p.request(op, path, data)
	if err != nil {
		return nil, err
	}
	return p.backend.HandleRequest(context.Background(), req)
}

// operation is op after Vault's existence check (vault/request_handling.go
// existenceCheck), which runs before the ACL's: an update of a path whose
// backend checks existence and finds none is a create.
func (p *plugin) operation(op logical.Operation, path string, data map[string]any) (logical.Operation, error) {
	if op != logical.UpdateOperation {
		return op, nil
	}
	req, err := p.request(op, path, data)
	if err != nil {
		return op, err
	}
	checked, exists, err := p.backend.HandleExistenceCheck(context.Background(), req)
	if err != nil || !checked || exists {
		return op, err
	}
	return logical.CreateOperation, nil
}

func (p *plugin) request(op logical.Operation, path string, data map[string]any) (*logical.Request, error) {
	sent, err := transport(data)
	if err != nil {
		return nil, err
	}
	return &logical.Request{Operation: op, Path: path, Data: sent, Storage: p.storage}, nil
}

// transport carries a request's data from Vault to an external plugin as
// the SDK's gRPC transport does (sdk/plugin/pb/translation.go):
// json.Marshal on Vault's side, a plain json.Unmarshal on the plugin's, so
// the plugin sees float64 where Vault's ACL saw a json.Number, and []any
// where it saw the []string of a repeated query parameter.
func transport(data map[string]any) (map[string]any, error) {
	if data == nil {
		return nil, nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	var sent map[string]any
	err = json.Unmarshal(raw, &sent)
	return sent, err
}

// describeOutcome says what the plugin answered, for messages.
func describeOutcome(resp *logical.Response, err error) string {
	switch {
	case err != nil:
		return "internal error: " + err.Error()
	case resp == nil:
		return "no response"
	case resp.IsError():
		return "refused: " + resp.Error().Error()
	}
	return "ok"
}

// redact replaces any text that carries a fragment of the App's key.
func (e *env) redact(s string) string {
	if testkeys.Leaks(s, e.keyPEM) {
		return fmt.Sprintf("(%d characters not shown: they hold part of the App's private key)", len(s))
	}
	return s
}
