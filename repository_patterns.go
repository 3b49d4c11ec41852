package githubapp

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// A role may name repositories by glob patterns ("team-a-*", "*-service"),
// alongside literal names. GitHub's token request takes names, so patterns
// are resolved against the installation's repositories, which only an
// installation token can list: the plugin mints one with metadata:read,
// lists, revokes it at once, and keeps the list a while (repository_listing.go).

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
		repos, fresh, err := b.installationRepositories(ctx, app, installationID)
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

// scopeError is a scope the caller's request or the role cannot satisfy: a
// 400, not an internal error.
type scopeError struct{ error }

func (e *scopeError) Unwrap() error { return e.error }
