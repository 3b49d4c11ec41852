package githubapp

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// A role may name repositories by glob patterns ("team-a-*", "*-service"),
// alongside literal names. GitHub's token request takes names, so patterns
// are resolved against the installation's repositories, which only an
// installation token can list: the plugin mints one with metadata:read,
// lists, revokes it at once, and keeps the list for repositoryListTTL.

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

// repositoryPattern is the form of a role's pattern: a repository name's
// characters plus the wildcards * and ?.
var repositoryPattern = regexp.MustCompile(`^[A-Za-z0-9._*?-]{1,100}$`)

// isPattern reports whether a role's repository entry is a glob pattern.
func isPattern(s string) bool { return strings.ContainsAny(s, "*?") }

// matchesPattern matches a repository name against a glob pattern, as
// GitHub compares names: case-insensitively.
func matchesPattern(pattern, name string) bool {
	ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(name))
	return ok
}

// expandPatterns returns sc with its patterns replaced by the names of the
// installation's repositories they match. An empty result would read as
// "every repository", so it is an error, as is one over GitHub's limit.
func expandPatterns(sc scope, repos []ghclient.Repository) (scope, error) {
	var literals, patterns []string
	for _, entry := range sc.Repositories {
		if isPattern(entry) {
			patterns = append(patterns, entry)
		} else {
			literals = append(literals, entry)
		}
	}
	if len(patterns) == 0 {
		return sc, nil
	}
	names := literals
	seen := make(map[string]bool, len(literals))
	for _, name := range literals {
		seen[strings.ToLower(name)] = true
	}
	for _, repo := range repos {
		folded := strings.ToLower(repo.Name)
		if seen[folded] || !matchesAny(patterns, repo.Name) {
			continue
		}
		seen[folded] = true
		names = append(names, repo.Name)
	}
	out := sc
	out.Repositories = names
	if len(names)+len(sc.RepositoryIDs) == 0 {
		return scope{}, fmt.Errorf("the patterns %s match none of the installation's repositories", describeList(patterns))
	}
	if err := checkRepositoryCount(out); err != nil {
		return scope{}, fmt.Errorf("with the patterns %s matched, %w: narrow the patterns or the request", describeList(patterns), err)
	}
	return out, nil
}

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if matchesPattern(p, name) {
			return true
		}
	}
	return false
}

func hasPattern(sc scope) bool {
	for _, entry := range sc.Repositories {
		if isPattern(entry) {
			return true
		}
	}
	return false
}

// tokenRequest builds the mint request for sc, expanding its patterns
// against the installation's repositories (from the cache unless refresh).
// fromCache reports whether a cached list was used, so that a 422 can be
// retried once with a fresh one.
func (b *backend) tokenRequest(ctx context.Context, app *appClient, installationID int64, sc scope) (req ghclient.TokenRequest, fromCache bool, err error) {
	if hasPattern(sc) {
		repos, fresh, err := app.repositories.lookup(ctx, installationID, func(ctx context.Context, id int64) ([]ghclient.Repository, error) {
			return b.listRepositories(ctx, app.api, id)
		})
		if err != nil {
			return req, false, fmt.Errorf("listing the repositories of installation %d to match the role's patterns: %w", installationID, err)
		}
		if sc, err = expandPatterns(sc, repos); err != nil {
			return req, false, &scopeError{err}
		}
		fromCache = !fresh
	}
	return ghclient.TokenRequest{Repositories: sc.Repositories, RepositoryIDs: sc.RepositoryIDs, Permissions: sc.Permissions}, fromCache, nil
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
