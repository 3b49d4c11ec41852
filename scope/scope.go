// Package scope is the plugin's scope language, its security boundary: what
// a role may reach, what a token request asks for, how a request narrows a
// role, and how a role's patterns and identity templates resolve.
//
// Vault's ACL checks a request's raw values against a policy's
// allowed_parameters and denied_parameters before the plugin sees them.
// This package reads each value in the one spelling that check compared
// (values.go), so that the plugin never grants more than the policy let
// through. It does no I/O and knows nothing of Vault's backend.
package scope

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
)

// Scope is what a token may reach: some repositories (none listed = every
// repository of the installation) and some permissions (none listed =
// every permission granted to the installation). A role's repositories
// may hold glob patterns and, before they are resolved for a caller,
// identity templates.
type Scope struct {
	Repositories  []string
	RepositoryIDs []int64
	Permissions   map[string]string
}

// RestrictsRepositories reports whether the scope names repositories; a
// scope that does not reaches every repository of the installation.
func (s Scope) RestrictsRepositories() bool {
	return len(s.Repositories) > 0 || len(s.RepositoryIDs) > 0
}

// String describes the scope for messages, e.g. "repositories api, web;
// permissions contents=read".
func (s Scope) String() string {
	repos := "all repositories"
	if s.RestrictsRepositories() {
		repos = "repositories " + quote.List(append(slices.Clone(s.Repositories), describeIDs(s.RepositoryIDs)...))
	}
	perms := "all permissions"
	if len(s.Permissions) > 0 {
		perms = "permissions " + DescribePermissions(s.Permissions)
	}
	return repos + "; " + perms
}

func describeIDs(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "id " + strconv.FormatInt(id, 10)
	}
	return out
}

// DescribePermissions lists name=level pairs in name order, bounded.
func DescribePermissions(perms map[string]string) string {
	parts := make([]string, 0, len(perms))
	for _, name := range quote.SortedKeys(perms) {
		parts = append(parts, name+"="+perms[name])
	}
	return quote.List(parts)
}

// Narrow returns the scope a token request asks for, after checking that
// it stays inside s. Fields the request leaves out keep s's values.
func (s Scope) Narrow(req Scope) (Scope, error) {
	out := s
	if req.RestrictsRepositories() {
		if err := s.coversRepositories(req); err != nil {
			return Scope{}, err
		}
		out.Repositories, out.RepositoryIDs = req.Repositories, req.RepositoryIDs
	}
	if len(req.Permissions) > 0 {
		if err := s.coversPermissions(req.Permissions); err != nil {
			return Scope{}, err
		}
		out.Permissions = req.Permissions
	}
	return out, nil
}

// coversRepositories checks a request's repositories against the role's:
// a name must be one of the role's names as the role spells it, or match
// one of its patterns; an ID must be one of the role's IDs (patterns cover
// names only). A name that differs from the role's only by case is
// refused, naming the role's spelling: the policy compared the caller's.
func (s Scope) coversRepositories(req Scope) error {
	if !s.RestrictsRepositories() {
		return nil
	}
	names := make(map[string]bool, len(s.Repositories))
	spelled := make(map[string]string, len(s.Repositories))
	var patterns []string
	for _, entry := range s.Repositories {
		if IsPattern(entry) {
			patterns = append(patterns, entry)
			continue
		}
		names[entry] = true
		spelled[strings.ToLower(entry)] = entry
	}
	var outside []string
	for _, name := range req.Repositories {
		if names[name] || matchesAny(patterns, name) {
			continue
		}
		if role, ok := spelled[strings.ToLower(name)]; ok {
			return fmt.Errorf("repositories: the role spells %s as %s; ask for it as the role spells it", quote.Input(name), quote.Input(role))
		}
		outside = append(outside, name)
	}
	if len(outside) > 0 {
		return fmt.Errorf("repositories %s are outside the role's repositories (%s)", quote.List(outside), quote.List(s.Repositories))
	}
	for _, id := range req.RepositoryIDs {
		if !slices.Contains(s.RepositoryIDs, id) {
			return fmt.Errorf("repository_ids %d is outside the role's repository_ids (%s); a role's names and patterns are matched by name: narrow by repositories",
				id, quote.List(s.RepositoryIDs))
		}
	}
	return nil
}

func (s Scope) coversPermissions(req map[string]string) error {
	if len(s.Permissions) == 0 {
		return nil
	}
	name, named := FirstBeyond(s.Permissions, req)
	switch {
	case name == "":
		return nil
	case !named:
		return fmt.Errorf("permissions: %q is outside the role's permissions (%s)", name, DescribePermissions(s.Permissions))
	}
	return fmt.Errorf("permissions: %s=%s exceeds the role's %s=%s", name, req[name], name, s.Permissions[name])
}

// FirstBeyond returns the first permission, in name order, that req asks
// beyond limit, and whether limit names it at all (if it does, req's level
// is higher); "" when req stays inside.
func FirstBeyond(limit, req map[string]string) (name string, named bool) {
	for _, name := range quote.SortedKeys(req) {
		granted, ok := limit[name]
		if !ok || !ghclient.LevelCovers(granted, req[name]) {
			return name, ok
		}
	}
	return "", false
}

// CheckSpelling compares the names GitHub granted with the names asked
// for. GitHub matches names regardless of case, so a name asked as "API"
// comes back as "api"; a Vault policy compared "API", so the plugin does
// not hand out a token for a spelling the policy never saw. granted holds
// every repository the token reaches; those asked for by ID are skipped.
func CheckSpelling(asked []string, askedIDs []int64, granted []ghclient.Repository) error {
	exact := make(map[string]bool, len(asked))
	for _, name := range asked {
		exact[name] = true
	}
	for _, repo := range granted {
		if exact[repo.Name] || slices.Contains(askedIDs, repo.ID) {
			continue
		}
		for _, name := range asked {
			if strings.EqualFold(name, repo.Name) {
				return fmt.Errorf("repositories: GitHub spells %s as %s; write the name as GitHub spells it (in the request, or in the role if the role names it)",
					quote.Input(name), quote.Input(repo.Name))
			}
		}
	}
	return nil
}
