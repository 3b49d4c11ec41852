package githubapp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
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
	maps.Copy(fields, scopeFields(requestScopeFields))
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
			// A standby could mint but not store the lease: the SDK refuses
			// there before minting, and the server forwards the request to
			// the active one (system_view.go).
			logical.ReadOperation: &framework.PathOperation{
				Callback:                  b.pathTokenMint,
				ForwardPerformanceStandby: true,
				DisplayAttrs:              &framework.DisplayAttributes{OperationSuffix: "token"},
				Summary:                   "Mint an installation token with the role's scope, or narrowed by query parameters.",
				Responses:                 tokenResponses,
			},
			logical.UpdateOperation: &framework.PathOperation{
				Callback:                  b.pathTokenMint,
				ForwardPerformanceStandby: true,
				DisplayAttrs:              &framework.DisplayAttributes{OperationSuffix: "narrowed-token"},
				Summary:                   "Mint an installation token narrowed to some of the role's repositories and permissions.",
				Responses:                 tokenResponses,
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
	narrowing, warnings, err := scope.ParseRequest(d.Raw, sourceOf(req.Operation))
	if err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	return b.mintToken(ctx, req, d.Get(fieldName).(string), narrowing, warnings)
}

// narrowingParser checks a token request's scope fields as Vault's ACL
// compared them, before the SDK converts anything.
var narrowingParser = rawParser{
	fields: scope.Fields,
	check: func(op logical.Operation, data map[string]any) error {
		_, _, err := scope.ParseRequest(data, sourceOf(op))
		return err
	},
}

// sourceOf says where an operation's values came from: a read's from the
// query string, a write's from its body.
func sourceOf(op logical.Operation) scope.Source {
	if op == logical.ReadOperation {
		return scope.Query
	}
	return scope.Body
}

func (b *backend) mintToken(ctx context.Context, req *logical.Request, name string, narrowing scope.Scope, warnings []string) (*logical.Response, error) {
	r, err := b.getRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return logical.ErrorResponse("role %s does not exist; create it with: vault write <mount>/roles/<name> ...", quote.Input(name)), nil
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
	sc, err := t.scope.Narrow(narrowing)
	if err != nil {
		return logical.ErrorResponse("role %q: %s", name, err), nil
	}
	if sc, err = app.config.Ceiling.mintScope(name, r, t, sc); err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	installationID, err := b.installationOf(ctx, app, t)
	if err != nil {
		return installationFailure(app, name, t, err)
	}
	tok, sent, err := b.mint(ctx, app, installationID, sc)
	if err != nil {
		return mintFailure(app, name, t, installationID, sent, err)
	}
	if err := scope.CheckSpelling(sent.Repositories, sent.RepositoryIDs, tok.Repositories); err != nil {
		app.api.Discard(tok.Token, installationID, "a token for a repository spelled otherwise than asked")
		return logical.ErrorResponse("role %q: %s", name, err), nil
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
// mint retried, once, and only if the list has lived half its life: no
// caller can make every request a listing.
func (b *backend) mint(ctx context.Context, app *appClient, installationID int64, sc scope.Scope) (*ghclient.InstallationToken, *scope.Scope, error) {
	treq, fromCache, err := b.tokenRequest(ctx, app, installationID, sc)
	if err != nil {
		return nil, nil, err
	}
	tok, err := app.api.CreateInstallationToken(ctx, installationID, treq)
	if fromCache && repositoryRefused(err) {
		if age, life, ok := app.repositories.age(installationID); ok && age >= life/2 {
			app.repositories.forget(installationID)
			if treq, _, err = b.tokenRequest(ctx, app, installationID, sc); err != nil {
				return nil, nil, err
			}
			tok, err = app.api.CreateInstallationToken(ctx, installationID, treq)
		}
	}
	return tok, &scope.Scope{Repositories: treq.Repositories, RepositoryIDs: treq.RepositoryIDs, Permissions: treq.Permissions}, err
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
func mintFailure(app *appClient, name string, t target, installationID int64, sent *scope.Scope, err error) (*logical.Response, error) {
	var scopeErr *scopeError
	if errors.As(err, &scopeErr) {
		return logical.ErrorResponse("role %q: %s", name, err), nil
	}
	if installationGone(err) {
		app.forgetInstallation(t)
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
// GitHub finds on its owner or enterprise (cached). GitHub finds an account
// whatever the case it is written in; the plugin takes it only as GitHub
// spells it, as a Vault policy on roles/<name> compared the role's
// spelling.
func (b *backend) installationOf(ctx context.Context, app *appClient, t target) (int64, error) {
	switch {
	case t.enterprise != "":
		return b.lookupInstallation(ctx, app.enterprises, fieldEnterprise, t.enterprise, app.api.FindInstallationByEnterprise,
			func(a ghclient.Account) string { return a.Slug })
	case t.owner != "":
		return b.lookupInstallation(ctx, app.owners, fieldOwner, t.owner, app.api.FindInstallationByOwner,
			func(a ghclient.Account) string { return a.Login })
	}
	return t.installationID, nil
}

// lookupInstallation finds the installation on an account (an owner's
// login, an enterprise's slug) through the cache, and refuses it unless
// GitHub spells the account as the role does.
func (b *backend) lookupInstallation(ctx context.Context, cache *ttlCache[string, int64], field, account string,
	find func(context.Context, string) (*ghclient.Installation, error), spelling func(ghclient.Account) string,
) (int64, error) {
	id, fresh, err := cache.lookup(ctx, account, func(ctx context.Context, account string) (int64, error) {
		inst, err := find(ctx, account)
		if err != nil {
			return 0, err
		}
		if github := spelling(inst.Account); github != account {
			return 0, &scopeError{fmt.Errorf("GitHub spells the %s %s as %s: write the role's %s as GitHub spells it",
				field, quote.Input(account), quote.Input(github), field)}
		}
		return inst.ID, nil
	})
	b.metrics.countOwnerLookup(err == nil && !fresh)
	return id, err
}

// forgetInstallation drops the cached installation of an owner or
// enterprise that GitHub no longer serves, so the next request looks again.
func (app *appClient) forgetInstallation(t target) {
	switch {
	case t.enterprise != "":
		app.enterprises.forget(t.enterprise)
	case t.owner != "":
		app.owners.forget(t.owner)
	}
}

// installationFailure reports an owner or enterprise whose installation
// could not be found, or that GitHub spells otherwise.
func installationFailure(app *appClient, name string, t target, err error) (*logical.Response, error) {
	var scopeErr *scopeError
	if errors.As(err, &scopeErr) {
		return logical.ErrorResponse("role %q: %s", name, err), nil
	}
	field, account := fieldOwner, t.owner
	notFound := "GitHub answered 404 for it as an organization and as a user"
	if t.enterprise != "" {
		field, account, notFound = fieldEnterprise, t.enterprise, "GitHub answered 404 for it as an enterprise"
	}
	if githubStatus(err) == http.StatusNotFound {
		return logical.ErrorResponse("role %q: the App is not installed on %s %q (%s); install the App there or fix the role's %s", name, field, account, notFound, field), nil
	}
	return githubFailure(app.config, fmt.Sprintf("finding the installation on %s %q", field, account), err)
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
