package githubapp

import (
	"context"
	"fmt"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

// A role's glob patterns (see the scope package) are resolved against the
// installation's repositories, which only an installation token can list:
// the plugin mints one with metadata:read, lists, revokes it at once, and
// keeps the list a while (repository_listing.go).

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
