package scope

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
)

// A role may name repositories by glob patterns ("team-a-*", "*-service"),
// alongside literal names. GitHub's token request takes names, so a
// pattern is matched against the installation's repositories when a token
// is minted. Matching is case-sensitive, as Vault's policy globs are: a
// pattern a policy allowed as "team-a-*" reaches only names a policy
// allowing "team-a-*" would let through.

// repositoryPattern is the form of a role's pattern: a repository name's
// characters plus the wildcards * and ?.
var repositoryPattern = regexp.MustCompile(`^[A-Za-z0-9._*?-]{1,100}$`)

// IsPattern reports whether a role's repository entry is a glob pattern.
func IsPattern(s string) bool { return strings.ContainsAny(s, "*?") }

// HasPattern reports whether a scope's repositories hold a pattern, which
// needs the installation's repository list to mint.
func HasPattern(s Scope) bool {
	for _, entry := range s.Repositories {
		if IsPattern(entry) {
			return true
		}
	}
	return false
}

func matchesPattern(pattern, name string) bool {
	ok, _ := path.Match(pattern, name)
	return ok
}

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if matchesPattern(p, name) {
			return true
		}
	}
	return false
}

// Expand returns s with its patterns replaced by the names, among the
// installation's repositories (names, as GitHub spells them), that they
// match. An empty result would read as "every repository", so it is an
// error, as is one over GitHub's limit.
func Expand(s Scope, installation []string) (Scope, error) {
	var literals, patterns []string
	for _, entry := range s.Repositories {
		if IsPattern(entry) {
			patterns = append(patterns, entry)
		} else {
			literals = append(literals, entry)
		}
	}
	if len(patterns) == 0 {
		return s, nil
	}
	names := literals
	seen := make(map[string]bool, len(literals))
	for _, name := range literals {
		seen[strings.ToLower(name)] = true
	}
	for _, name := range installation {
		folded := strings.ToLower(name)
		if seen[folded] || !matchesAny(patterns, name) {
			continue
		}
		seen[folded] = true
		names = append(names, name)
	}
	out := s
	out.Repositories = names
	if len(names)+len(s.RepositoryIDs) == 0 {
		return Scope{}, fmt.Errorf("the patterns %s match none of the installation's repositories (matched case-sensitively)", quote.List(patterns))
	}
	if err := checkRepositoryCount(out); err != nil {
		return Scope{}, fmt.Errorf("with the patterns %s matched, %w: narrow the patterns or the request", quote.List(patterns), err)
	}
	return out, nil
}
