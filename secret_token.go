package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

const (
	fieldToken               = "token"
	fieldExpiresAt           = "expires_at"
	fieldRepositorySelection = "repository_selection"

	secretTokenType = "github_app_installation_token" //nolint:gosec // G101: the name of a secret type, not a credential

	// expiredMargin is how long past its expiry a token must be before
	// revocation skips GitHub: it covers the Date header's one-second
	// resolution and the local clock's drift since the mint.
	expiredMargin = time.Minute

	// maxRevokers bounds the clients kept for base URLs other than the
	// config's; there are rarely more than one or two.
	maxRevokers = 16

	fieldExpiresLocal = "expires_at_local"
	fieldRole         = "role"
	fieldHashedToken  = "hashed_token"
)

func secretToken(b *backend) *framework.Secret {
	return &framework.Secret{
		Type:   secretTokenType,
		Fields: tokenResponseFields(),
		// No Renew: GitHub cannot extend a token, so the lease is not
		// renewable and Vault refuses renewals itself.
		Revoke: b.revokeToken,
	}
}

// tokenResponseFields describe a mint response, for the secret type and the
// OpenAPI spec alike.
func tokenResponseFields() map[string]*framework.FieldSchema {
	return map[string]*framework.FieldSchema{
		fieldToken: {
			Type:         framework.TypeString,
			Description:  "The installation access token (ghs_...). Treat it as an opaque string: its length and format vary.",
			DisplayAttrs: &framework.DisplayAttributes{Sensitive: true},
		},
		fieldExpiresAt: {
			Type:        framework.TypeString,
			Description: "When GitHub expires the token, RFC 3339.",
		},
		fieldInstallationID: {
			Type:        framework.TypeInt64,
			Description: "The installation the token acts as.",
		},
		fieldPermissions: {
			Type:        framework.TypeMap,
			Description: "The token's permissions, as GitHub granted them.",
		},
		fieldRepositorySelection: {
			Type:        framework.TypeString,
			Description: "all or selected.",
		},
		fieldRepositories: {
			Type:        framework.TypeStringSlice,
			Description: "Names of the repositories the token is limited to, when it is.",
		},
		fieldHashedToken: {
			Type:        framework.TypeString,
			Description: `How GitHub's audit log names the token: base64 of its SHA-256. Search the log with hashed_token:"<value>". The plugin's mint and revoke log lines carry it too, never the token.`,
		},
	}
}

// tokenLease is what a lease keeps to revoke its token. Vault stores it
// through JSON, so it must be readable back from JSON alone: Vault core
// calls Revoke with it when it fails to register a fresh lease.
type tokenLease struct {
	Token     string
	ExpiresAt string // GitHub's expires_at, on GitHub's clock
	// ExpiresLocal is when the token expires by the local clock: the mint
	// time plus the token's life as GitHub measured it. Leases written
	// before v0.2.0 lack it.
	ExpiresLocal   string
	BaseURL        string
	InstallationID int64
	Role           string
}

func (l tokenLease) internalData() map[string]any {
	return map[string]any{
		fieldToken:          l.Token,
		fieldExpiresAt:      l.ExpiresAt,
		fieldExpiresLocal:   l.ExpiresLocal,
		fieldBaseURL:        l.BaseURL,
		fieldInstallationID: l.InstallationID,
		fieldRole:           l.Role,
	}
}

func leaseFromInternalData(data map[string]any) (tokenLease, error) {
	var l tokenLease
	var ok bool
	if l.Token, ok = data[fieldToken].(string); !ok || l.Token == "" {
		return l, errors.New("lease data holds no token")
	}
	l.ExpiresAt, _ = data[fieldExpiresAt].(string)
	l.ExpiresLocal, _ = data[fieldExpiresLocal].(string)
	l.BaseURL, _ = data[fieldBaseURL].(string)
	l.Role, _ = data[fieldRole].(string)
	switch id := data[fieldInstallationID].(type) {
	case json.Number:
		l.InstallationID, _ = id.Int64()
	case float64:
		l.InstallationID = int64(id)
	case int64:
		l.InstallationID = id
	}
	return l, nil
}

// expired reports whether GitHub has surely forgotten the token, by its own
// clock as translated at mint time. GitHub's expires_at is never compared
// with the local clock: with GitHub's clock hours behind, that would skip
// revoking a live token. A lease without a local expiry (written before
// v0.2.0) or with an unreadable one counts as live, so revocation is
// attempted, and GitHub's 401 for an expired token counts as done.
func (l tokenLease) expired(now time.Time) bool {
	t, err := time.Parse(time.RFC3339, l.ExpiresLocal)
	return err == nil && now.After(t.Add(expiredMargin))
}

// revokeToken revokes a lease's token at GitHub, and counts the outcome.
func (b *backend) revokeToken(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	err := b.revokeLease(ctx, req)
	b.metrics.countRevocation(err != nil)
	return nil, err
}

// revokeLease returns an error only for faults worth retrying: Vault
// retries failed revocations a few times and then gives up on the lease,
// so "already gone" must count as done.
func (b *backend) revokeLease(ctx context.Context, req *logical.Request) error {
	lease, err := leaseFromInternalData(req.Secret.InternalData)
	if err != nil {
		return err
	}
	if lease.expired(time.Now()) {
		return nil
	}
	client, err := b.revocationClient(ctx, req.Storage, lease.BaseURL)
	if err != nil {
		return err
	}
	if err := client.RevokeInstallationToken(ctx, lease.Token); err != nil {
		return fmt.Errorf("revoking the token of role %q (installation %d, hashed_token %s) at GitHub: %w",
			lease.Role, lease.InstallationID, ghclient.HashedToken(lease.Token), err)
	}
	b.Logger().Info("revoked installation token", "role", lease.Role, "installation_id", lease.InstallationID,
		fieldHashedToken, ghclient.HashedToken(lease.Token))
	return nil
}

func (b *backend) tokenResponse(roleName string, r *role, installationID int64, baseURL string, tok *ghclient.InstallationToken) *logical.Response {
	names := make([]string, len(tok.Repositories))
	for i, repo := range tok.Repositories {
		names[i] = repo.Name
	}
	expiresAt := tok.ExpiresAt.UTC().Format(time.RFC3339)
	resp := b.Secret(secretTokenType).Response(map[string]any{
		fieldToken:               tok.Token,
		fieldExpiresAt:           expiresAt,
		fieldInstallationID:      installationID,
		fieldPermissions:         tok.Permissions,
		fieldRepositorySelection: tok.RepositorySelection,
		fieldRepositories:        names,
		fieldHashedToken:         ghclient.HashedToken(tok.Token),
	}, tokenLease{
		Token:          tok.Token,
		ExpiresAt:      expiresAt,
		ExpiresLocal:   time.Now().Add(tok.Lifetime()).UTC().Format(time.RFC3339),
		BaseURL:        baseURL,
		InstallationID: installationID,
		Role:           roleName,
	}.internalData())
	ttl := leaseTTL(r.TTL, tok.Lifetime())
	resp.Secret.TTL, resp.Secret.MaxTTL = ttl, ttl
	return resp
}

// leaseTTL is the role's TTL capped at the token's life (measured on
// GitHub's clock, so that no skew between the clocks stretches or cuts
// it) and at the hour GitHub's tokens live, whatever a reply claims. It is
// always set explicitly: a zero TTL would give Vault's 32-day default to a
// token that dies in an hour.
func leaseTTL(roleTTL, lifetime time.Duration) time.Duration {
	// Less a second: GitHub's Date is truncated to the second, so the life
	// it implies may be a second long, and the lease must not outlive the
	// token.
	ttl := min((lifetime - time.Second).Truncate(time.Second), maxTokenTTL)
	if roleTTL > 0 {
		ttl = min(ttl, roleTTL)
	}
	return max(ttl, time.Second)
}
