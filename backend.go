// Package githubapp is a Vault secrets engine that turns a GitHub App into a
// source of short-lived, narrowly scoped installation access tokens.
package githubapp

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// Version is the plugin's version, stamped at build time with
// -ldflags "-X github.com/vault-github-app/vault-plugin-secrets-github-app.Version=…"
// from the VERSION file (make build); a plain go build reports v0.0.0-dev.
var Version = "v0.0.0-dev"

// operationPrefix names every operation in the OpenAPI spec, giving
// operation IDs such as "github-app-write-config".
const operationPrefix = "github-app"

const backendHelp = `
The GitHub App secrets engine keeps a GitHub App's private key in Vault and
mints GitHub App installation access tokens as Vault leases.

Configure the App at "config", map role names to an installation and a
repository/permission scope at "roles/<name>", then read "token/<name>" to
get a token that expires within the hour. Revoking the lease revokes the
token at GitHub.
`

// Factory returns a configured instance of the backend.
func Factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := newBackend()
	b.storage = conf.StorageView
	if conf.System != nil {
		withCache := *conf
		withCache.System = newReplicationCachingView(conf.System)
		conf = &withCache
	}
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

// backend caches what every token request needs (the parsed config, the
// GitHub client built from it, the roles) so that minting costs one GitHub
// call and no storage decoding. Storage writes and Invalidate drop the cache.
type backend struct {
	*framework.Backend
	input inputRules

	// httpClient carries every GitHub call of the mount, whatever the
	// config: one connection pool, kept across config changes, so neither
	// a config change nor a burst of revocations dials anew per request.
	httpClient *http.Client

	lock sync.RWMutex
	// client is built from the stored config on first use and dropped
	// whenever the config changes; nil means "not built yet".
	client *appClient
	roles  map[string]*role
	// revokers revoke tokens minted under another base_url than the
	// config's (it moved, or was deleted): one client per base URL.
	revokers map[string]*ghclient.Client

	metrics *metrics

	// storage is the mount's storage, for the WAL entries written outside
	// any request's lifetime (see wal.go).
	storage logical.Storage
	// walLock makes counting the WAL and adding to it one step.
	walLock sync.Mutex
	// walAttemptTimeout is the const of that name; tests shorten it.
	walAttemptTimeout time.Duration
}

func newBackend() *backend {
	b := &backend{
		roles:             make(map[string]*role),
		revokers:          make(map[string]*ghclient.Client),
		httpClient:        ghclient.NewHTTPClient(),
		metrics:           newMetrics(),
		walAttemptTimeout: walAttemptTimeout,
	}
	token := pathToken(b)
	role := pathRole(b)
	b.Backend = &framework.Backend{
		Help:           strings.TrimSpace(backendHelp),
		BackendType:    logical.TypeLogical,
		RunningVersion: Version,
		Invalidate:     b.invalidate,
		Clean:          b.clean,
		// Retries revoking the tokens nobody received (wal.go).
		PeriodicFunc: b.retryUndelivered,
		PathsSpecial: &logical.Paths{
			// The WAL holds live tokens (wal.go).
			SealWrapStorage: []string{configStoragePath, framework.WALPrefix},
			// Tokens are minted, and leased, where the request ran: on a
			// performance secondary too, whose replicated storage is
			// read-only. Its WAL must be its own, as Vault's own engines
			// keep theirs.
			LocalStorage: []string{framework.WALPrefix},
		},
		Paths: framework.PathAppend(
			[]*framework.Path{pathConfig(b)},
			[]*framework.Path{pathRoleList(b), role},
			[]*framework.Path{token, pathMetrics(b)},
			pathInstallations(b),
		),
		Secrets: []*framework.Secret{secretToken(b)},
	}
	// Reading token/<role> narrows with the same fields a write takes.
	b.input = newInputRules(b.Paths, []*framework.Path{token}, map[*framework.Path]rawParser{
		token: narrowingParser,
		role:  roleWriteParser,
	})
	return b
}

// clean runs when the mount is unmounted or the plugin stops.
func (b *backend) clean(context.Context) {
	b.httpClient.CloseIdleConnections()
}

// invalidate runs when another node (replication) or this one changes
// storage, so that no stale config, client or role outlives the change.
func (b *backend) invalidate(_ context.Context, key string) {
	switch {
	case key == configStoragePath:
		b.lock.Lock()
		b.reset()
		b.lock.Unlock()
	case strings.HasPrefix(key, roleStoragePrefix):
		b.forgetRole(strings.TrimPrefix(key, roleStoragePrefix))
	}
}
