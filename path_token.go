package githubapp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

const (
	fieldToken               = "token"
	fieldExpiresAt           = "expires_at"
	fieldRepositorySelection = "repository_selection"
)

func pathToken(b *backend) *framework.Path {
	fields := map[string]*framework.FieldSchema{
		fieldName: {
			Type:        framework.TypeString,
			Description: "Name of the role to mint a token for.",
			Required:    true,
		},
	}
	maps.Copy(fields, scopeFields(requestScope, "to narrow this one token to; each must stay inside the role's scope"))
	tokenResponses := map[int][]framework.Response{
		http.StatusOK: {{Description: "OK", Fields: tokenResponseFields()}},
	}

	return &framework.Path{
		Pattern: "token/(?P<name>.+)",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationVerb:   "generate",
		},
		Fields: fields,
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.ReadOperation: &framework.PathOperation{
				Callback:     b.pathTokenMint,
				DisplayAttrs: &framework.DisplayAttributes{OperationSuffix: "token"},
				Summary:      "Mint an installation token with the role's scope, or narrowed by query parameters.",
				Responses:    tokenResponses,
			},
			logical.UpdateOperation: &framework.PathOperation{
				Callback:     b.pathTokenMint,
				DisplayAttrs: &framework.DisplayAttributes{OperationSuffix: "narrowed-token"},
				Summary:      "Mint an installation token narrowed to some of the role's repositories and permissions.",
				Responses:    tokenResponses,
			},
		},
		HelpSynopsis:    "Mint a GitHub App installation token for a role, as a Vault lease.",
		HelpDescription: pathTokenHelp,
	}
}

const pathTokenHelp = `
Reading token/<role> mints a GitHub App installation access token with the
role's repositories and permissions. Writing to it, or reading it with
parameters, mints one narrowed further: repositories, repository_ids and
permissions must each stay inside the role's scope.

The token comes as a lease whose TTL is the role's ttl, capped at the
token's life as GitHub's clock measures it (an hour).
Leases cannot be renewed: read the path again for a fresh token. Revoking
the lease revokes the token at GitHub.

Response fields: token, expires_at (RFC 3339), installation_id, permissions,
repository_selection (all or selected), repositories (names), hashed_token
(how GitHub's audit log names the token: hashed_token:"<value>").

Examples:
  vault read github/token/ci
  vault write github/token/ci repositories=api permissions=contents=read
  vault read github/token/ci repositories=api
`

// pathTokenMint serves reads and writes alike: a read with scope parameters
// (vault read github/token/ci repositories=api) narrows just as a write does,
// rather than silently minting the role's full scope.
func (b *backend) pathTokenMint(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	in, warnings, err := readScope(d, requestScope)
	if err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	return b.mintToken(ctx, req, d.Get(fieldName).(string), in.scope, warnings)
}

func (b *backend) mintToken(ctx context.Context, req *logical.Request, name string, narrowing scope, warnings []string) (*logical.Response, error) {
	r, err := b.getRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return logical.ErrorResponse("role %s does not exist; create it with: vault write <mount>/roles/<name> ...", quoteInput(name)), nil
	}
	app, err := b.getClient(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	if app == nil {
		return errNotConfigured(), nil
	}
	t, err := r.resolve(b.System(), req.EntityID)
	if err != nil {
		return roleFailure(name, err)
	}
	sc, err := t.scope.narrow(narrowing)
	if err != nil {
		return logical.ErrorResponse("role %q: %s", name, err), nil
	}
	if sc, err = app.config.Ceiling.mintScope(name, r, t, sc); err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	installationID, err := b.installationOf(ctx, app, t)
	if err != nil {
		if githubStatus(err) == http.StatusNotFound {
			return logical.ErrorResponse("role %q: the App is not installed on owner %q (GitHub answered 404 for it as an organization and as a user); install the App there or fix the role's owner", name, t.owner), nil
		}
		return githubFailure(app.config, fmt.Sprintf("finding the installation on %q", t.owner), err)
	}
	tok, sent, err := b.mint(ctx, app, installationID, sc)
	if err != nil {
		return mintFailure(app, name, t, installationID, sent, err)
	}
	// A sent mint completes even when the caller has left meanwhile, and
	// Vault drops the response of a cancelled request: the token would live
	// for an hour with no lease to revoke it.
	if err := ctx.Err(); err != nil {
		app.api.Discard(tok.Token, installationID, "a token whose request was cancelled before it could be delivered")
		return nil, err
	}

	resp := b.tokenResponse(name, r, installationID, app.config.BaseURL, tok)
	b.Logger().Info("minted installation token", "role", name, "installation_id", installationID,
		fieldHashedToken, resp.Data[fieldHashedToken], "expires_at", resp.Data[fieldExpiresAt], "repositories", len(tok.Repositories))
	resp.Warnings = warnings
	return resp, nil
}

// mint mints a token for sc, its patterns expanded, and returns the scope
// GitHub was sent: nil when the mint was not sent because listing the
// repositories for the patterns failed. When GitHub refuses a repository of a list matched from
// the cache (renamed or deleted since), the list is fetched again and the
// mint retried, once, and only if the list is old enough: no caller can
// make every request a listing.
func (b *backend) mint(ctx context.Context, app *appClient, installationID int64, sc scope) (*ghclient.InstallationToken, *scope, error) {
	treq, fromCache, err := b.tokenRequest(ctx, app, installationID, sc)
	if err != nil {
		return nil, nil, err
	}
	tok, err := app.api.CreateInstallationToken(ctx, installationID, treq)
	if fromCache && repositoryRefused(err) {
		if age, ok := app.repositories.age(installationID); ok && age >= minRelistAge {
			app.repositories.forget(installationID)
			if treq, _, err = b.tokenRequest(ctx, app, installationID, sc); err != nil {
				return nil, nil, err
			}
			tok, err = app.api.CreateInstallationToken(ctx, installationID, treq)
		}
	}
	return tok, &scope{Repositories: treq.Repositories, RepositoryIDs: treq.RepositoryIDs, Permissions: treq.Permissions}, err
}

// roleFailure reports a role that cannot be resolved for the caller: a 400
// when the role or the caller's identity is at fault.
func roleFailure(name string, err error) (*logical.Response, error) {
	var scopeErr *scopeError
	if errors.As(err, &scopeErr) {
		return logical.ErrorResponse("role %q: %s", name, err), nil
	}
	return nil, fmt.Errorf("role %q: %w", name, err)
}

// mintFailure reports a refused or failed mint (or the listing of
// repositories before it, when sent is nil), and forgets an owner's
// installation that GitHub no longer serves so the next request looks again.
func mintFailure(app *appClient, name string, t target, installationID int64, sent *scope, err error) (*logical.Response, error) {
	var scopeErr *scopeError
	if errors.As(err, &scopeErr) {
		return logical.ErrorResponse("role %q: %s", name, err), nil
	}
	if t.owner != "" && installationGone(err) {
		app.owners.forget(strings.ToLower(t.owner))
	}
	action := fmt.Sprintf("minting a token for role %q (installation %d)", name, installationID)
	switch {
	case sent == nil:
		action = fmt.Sprintf("listing the repositories of installation %d to match the patterns of role %q", installationID, name)
	case githubStatus(err) == http.StatusUnprocessableEntity:
		// GitHub does not say which repository or permission it refused.
		action += " with " + sent.String()
	}
	return githubFailure(app.config, action, err)
}

// installationOf returns the target's installation: its ID, or the one
// GitHub finds on its owner (cached).
func (b *backend) installationOf(ctx context.Context, app *appClient, t target) (int64, error) {
	if t.owner == "" {
		return t.installationID, nil
	}
	id, fresh, err := app.owners.lookup(ctx, strings.ToLower(t.owner), func(ctx context.Context, owner string) (int64, error) {
		inst, err := app.api.FindInstallationByOwner(ctx, owner)
		if err != nil {
			return 0, err
		}
		return inst.ID, nil
	})
	b.metrics.countOwnerLookup(err == nil && !fresh)
	return id, err
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
