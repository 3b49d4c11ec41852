package githubapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

// The mint flow: a role resolved for the caller, narrowed, its
// installation found, its patterns expanded against the installation's
// repositories (repository_listing.go), the token minted and checked, and
// the response built (secret_token.go). path_token.go only translates the
// request.

// mintToken mints a token of role r, named name, narrowed as the request
// asks.
func (b *backend) mintToken(ctx context.Context, req *logical.Request, name string, r *role, narrowing scope.Scope, warnings []string) (*logical.Response, error) {
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
	if t.enterprise != "" {
		// The ceiling allows an enterprise by its installation's ID, known
		// only now.
		t.installationID = installationID
		if sc, err = app.config.Ceiling.mintScope(name, r, t, sc); err != nil {
			return logical.ErrorResponse(err.Error()), nil
		}
	}
	tok, sent, err := b.mint(ctx, app, installationID, sc)
	if err != nil {
		return mintFailure(app, name, t, installationID, sent, err)
	}
	if err := scope.CheckSpelling(sent.Repositories, sent.RepositoryIDs, tok.Repositories); err != nil {
		app.api.Discard(tok.Token, installationID, "a token for a repository spelled otherwise than asked")
		return logical.ErrorResponse("role %q: %s", name, err), nil
	}
	if err := b.ceilingHolds(ctx, req.Storage, app, name, r, t, sc); err != nil {
		app.api.Discard(tok.Token, installationID, "a token beyond a ceiling set while it was minted")
		var refused *scopeError
		if errors.As(err, &refused) {
			return logical.ErrorResponse(err.Error()), nil
		}
		return nil, err
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

// tokenRequest builds the mint request for sc, expanding its patterns
// against the installation's repositories (from the cache unless refresh).
// fromCache reports whether a cached list was used, so that a 422 can be
// retried once with a fresh one.
func (b *backend) tokenRequest(ctx context.Context, app *appClient, installationID int64, sc scope.Scope) (req ghclient.TokenRequest, fromCache bool, err error) {
	if scope.HasPattern(sc) {
		repos, fresh, err := b.installationRepositories(ctx, app, installationID)
		if err != nil {
			return req, false, fmt.Errorf("listing the repositories of installation %d to match the role's patterns: %w", installationID, err)
		}
		if sc, err = scope.Expand(sc, repositoryNames(repos)); err != nil {
			return req, false, &scopeError{err}
		}
		fromCache = !fresh
	}
	return ghclient.TokenRequest{Repositories: sc.Repositories, RepositoryIDs: sc.RepositoryIDs, Permissions: sc.Permissions}, fromCache, nil
}

func repositoryNames(repos []ghclient.Repository) []string {
	names := make([]string, len(repos))
	for i, repo := range repos {
		names[i] = repo.Name
	}
	return names
}

// scopeError is a scope the caller's request or the role cannot satisfy: a
// 400, not an internal error.
type scopeError struct{ error }

func (e *scopeError) Unwrap() error { return e.error }
