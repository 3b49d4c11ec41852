package githubapp

import (
	"context"
	"fmt"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

// A role's glob patterns (see the scope package) are resolved against the
// installation's repositories, which only an installation token can list:
// the plugin mints one with metadata:read, lists, revokes it at once, and
// keeps the list for repositoryListTTL.

const (
	// repositoryListTTL bounds how long a repository created since the
	// listing can be missed by a pattern; a listing costs two GitHub calls
	// plus one per 100 repositories.
	repositoryListTTL = time.Minute
	// failedListingTTL keeps a failed listing's error, so that a listing
	// which fails expensively (an installation beyond 50,000 repositories,
	// GitHub's pages that never end) costs once, not once per request.
	failedListingTTL = 10 * time.Second
	// minRelistAge is the age a cached list must reach before a 422 may
	// fetch it again: at most one listing per half minute per installation,
	// whatever callers ask for.
	minRelistAge = repositoryListTTL / 2
)

// tokenRequest builds the mint request for sc, expanding its patterns
// against the installation's repositories (from the cache unless refresh).
// fromCache reports whether a cached list was used, so that a 422 can be
// retried once with a fresh one.
func (b *backend) tokenRequest(ctx context.Context, app *appClient, installationID int64, sc scope.Scope) (req ghclient.TokenRequest, fromCache bool, err error) {
	if scope.HasPattern(sc) {
		repos, fresh, err := app.repositories.lookup(ctx, installationID, func(ctx context.Context, id int64) ([]ghclient.Repository, error) {
			return b.listRepositories(ctx, app.api, id)
		})
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

// listRepositories lists an installation's repositories with a token that
// can do nothing else (metadata:read), revoked as soon as the list is read.
func (b *backend) listRepositories(ctx context.Context, client *ghclient.Client, installationID int64) ([]ghclient.Repository, error) {
	tok, err := client.CreateInstallationToken(ctx, installationID, ghclient.TokenRequest{
		Permissions: map[string]string{"metadata": "read"},
	})
	if err != nil {
		return nil, err
	}
	defer client.Discard(tok.Token, installationID, "the metadata:read token that listed the installation's repositories")
	return client.ListInstallationRepositories(ctx, tok.Token)
}

// scopeError is a scope the caller's request or the role cannot satisfy: a
// 400, not an internal error.
type scopeError struct{ error }

func (e *scopeError) Unwrap() error { return e.error }
