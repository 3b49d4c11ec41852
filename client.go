package githubapp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// The GitHub clients of a mount: the App's, built from the stored config
// on first use and dropped as a whole when the config changes (reset), and
// the revokers kept for tokens minted under another base_url. All of them
// share the mount's connection pool, logger and metrics, and are built by
// one constructor.

// userAgent identifies the plugin to GitHub; GitHub rejects requests
// without one.
func userAgent() string {
	return "vault-plugin-secrets-github-app/" + Version
}

// appClient is the GitHub App as one version of the config sets it up: the
// config, the API client that signs as the App, and what is cached from
// GitHub for it. It is replaced as a whole, so a request never mixes two
// configs.
type appClient struct {
	config *appConfig
	api    *ghclient.Client
	// owners maps owner logins to their installation IDs, and enterprises
	// enterprise slugs, each as GitHub spells it.
	owners, enterprises *ttlCache[string, int64]
	// repositories maps installation IDs to the repositories they reach,
	// for roles with patterns.
	repositories *ttlCache[int64, []ghclient.Repository]
}

// ownerCacheTTL bounds how long a moved or re-created installation can be
// missed; owner roles otherwise cost two GitHub calls per token.
const ownerCacheTTL = 5 * time.Minute

// getClient returns the App client for the stored config, building it on
// first use. It returns (nil, nil) when the engine is not configured.
func (b *backend) getClient(ctx context.Context, s logical.Storage) (*appClient, error) {
	b.lock.RLock()
	app := b.client
	b.lock.RUnlock()
	if app != nil {
		return app, nil
	}

	// Build under the write lock: a concurrent config write cannot slip
	// between reading storage and caching what was read.
	b.lock.Lock()
	defer b.lock.Unlock()
	if b.client != nil {
		return b.client, nil
	}
	cfg, err := readConfig(ctx, s)
	if err != nil || cfg == nil {
		return nil, err
	}
	api, err := b.appAPI(cfg)
	if err != nil {
		return nil, err
	}
	b.client = &appClient{
		config:       cfg,
		api:          api,
		owners:       newTTLCache[string](fixedLife[int64](ownerCacheTTL), 0, cacheLookupTimeout),
		repositories: newTTLCache[int64](repositoryListLife, failedListingTTL, repositoryListingTimeout),
		enterprises:  newTTLCache[string](fixedLife[int64](ownerCacheTTL), 0, cacheLookupTimeout),
	}
	return b.client, nil
}

// reset drops what was built from the config, so that the next request
// builds it anew from storage; b.lock must be held for writing. It is the
// one way the client is dropped: config writes and deletes, and Invalidate
// when another node changed the config.
func (b *backend) reset() {
	b.client = nil
}

// newGitHubClient builds a GitHub client on the mount's connection pool,
// logger and metrics: every client of the mount is built here.
func (b *backend) newGitHubClient(c ghclient.Config) (*ghclient.Client, error) {
	c.UserAgent = userAgent()
	c.HTTPClient = b.httpClient
	c.Logger = b.Logger().Named("github")
	c.Observer = b.metrics
	return ghclient.New(c)
}

// appAPI builds the client that signs as the App the config describes.
func (b *backend) appAPI(cfg *appConfig) (*ghclient.Client, error) {
	client, err := b.newGitHubClient(ghclient.Config{
		BaseURL:     cfg.BaseURL,
		AllowHTTP:   cfg.InsecureAllowHTTP,
		AppID:       cfg.AppID,
		ClientID:    cfg.ClientID,
		PrivateKey:  cfg.key,
		Undelivered: b.keepUndelivered(cfg.BaseURL),
		APIVersion:  cfg.APIVersion,
		// An unknown format cannot be stored (mergeAPIOptions).
		StatelessTokens: statelessTokensHeader[cfg.TokenFormat],
	})
	if errors.Is(err, ghclient.ErrCleartext) {
		// A config stored before plain http needed the opt-in.
		return nil, fmt.Errorf("the stored config's %w, or accept cleartext with: vault write <mount>/config %s=true", err, fieldInsecureAllowHTTP)
	}
	return client, err
}

// revocationClient returns a client for the GitHub the token came from.
// Revocation authenticates with the token itself, so it needs no config:
// it works after the config moved to another base_url, was deleted, or
// cannot be read.
func (b *backend) revocationClient(ctx context.Context, s logical.Storage, baseURL string) (*ghclient.Client, error) {
	baseURL = cmp.Or(baseURL, ghclient.DefaultBaseURL) // leases from before base_url was recorded
	if app, err := b.getClient(ctx, s); err == nil && app != nil && app.config.BaseURL == baseURL {
		return app.api, nil
	}
	return b.revoker(baseURL)
}

// revoker returns the client kept for revoking tokens of a base URL that is
// not the config's, so that mass revocation after a config change reuses
// one client and its connections.
func (b *backend) revoker(baseURL string) (*ghclient.Client, error) {
	b.lock.Lock()
	defer b.lock.Unlock()
	if c, ok := b.revokers[baseURL]; ok {
		return c, nil
	}
	// The URL passed the config's checks when the token was minted, and the
	// token has already travelled over it.
	c, err := b.newGitHubClient(ghclient.Config{BaseURL: baseURL, AllowHTTP: true})
	if err != nil {
		return nil, err
	}
	if len(b.revokers) >= maxRevokers {
		clear(b.revokers)
	}
	b.revokers[baseURL] = c
	return c, nil
}
