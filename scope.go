package githubapp

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

const (
	fieldRepositories  = "repositories"
	fieldRepositoryIDs = "repository_ids"
	fieldPermissions   = "permissions"

	// maxRepositories is GitHub's limit on repositories named in one token
	// request; a role asking for more could never mint.
	maxRepositories = ghclient.MaxTokenRepositories
)

var (
	repoNamePattern   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	permissionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// scope is what a token may reach: some repositories (none listed = every
// repository of the installation) and some permissions (none listed = every
// permission granted to the installation).
type scope struct {
	Repositories  []string          `json:"repositories,omitempty"`
	RepositoryIDs []int64           `json:"repository_ids,omitempty"`
	Permissions   map[string]string `json:"permissions,omitempty"`
}

// scopeInput is a scope read from a request, remembering which fields the
// request carried so that partial updates and narrowing leave the others.
type scopeInput struct {
	scope
	hasRepositories, hasRepositoryIDs, hasPermissions bool
}

// scopeFields are the request fields of a scope, shared by roles (where they
// set the scope) and token requests (where they narrow it).
func scopeFields(form scopeForm, purpose string) map[string]*framework.FieldSchema {
	repositories := "Repository names (without the owner) " + purpose + ". Together with repository_ids at most 500."
	if form == roleScope {
		repositories += " An entry may be a glob pattern (team-a-*, *-service; * and ?), matched case-insensitively against the installation's repositories when a token is minted, " +
			"or a Vault identity template such as {{identity.entity.aliases.<accessor>.metadata.repository}}, resolved for each caller; " +
			"a template may yield owner/name when the owner is the role's."
	}
	return map[string]*framework.FieldSchema{
		fieldRepositories: {
			Type:        framework.TypeCommaStringSlice,
			Description: repositories,
		},
		fieldRepositoryIDs: {
			Type:        framework.TypeCommaIntSlice,
			Description: "Numeric repository IDs " + purpose + ".",
		},
		fieldPermissions: {
			Type:        framework.TypeKVPairs,
			Description: "Permissions " + purpose + ", as name=level pairs (level read, write or admin), e.g. permissions=contents=read permissions=pull_requests=write, or a JSON object.",
		},
	}
}

// scopeForm says which forms of repository entry a scope accepts: a role
// may hold glob patterns and identity templates; a token request only
// names repositories.
type scopeForm int

const (
	requestScope scopeForm = iota
	roleScope
)

// maxPermissionEntries bounds a permissions map: GitHub knows sixty-odd
// permissions, and a caller must not make an answer grow with thousands.
const maxPermissionEntries = 100

// readScope parses and validates the scope fields of a request. Warnings
// report permissions GitHub may know but this plugin does not yet.
func readScope(d *framework.FieldData, form scopeForm) (in scopeInput, warnings []string, err error) {
	if raw, ok := d.GetOk(fieldRepositories); ok {
		in.hasRepositories = true
		if in.Repositories, err = parseRepositories(raw.([]string), form); err != nil {
			return in, nil, err
		}
	}
	if raw, ok := d.GetOk(fieldRepositoryIDs); ok {
		in.hasRepositoryIDs = true
		if in.RepositoryIDs, err = parseRepositoryIDs(raw.([]int)); err != nil {
			return in, nil, err
		}
	}
	if err := checkRepositoryCount(in.scope); err != nil {
		return in, nil, err
	}
	if raw, ok := d.GetOk(fieldPermissions); ok {
		in.hasPermissions = true
		if err := refuseRepeatedPermissions(d.Raw[fieldPermissions]); err != nil {
			return in, nil, err
		}
		pairs, err := splitCommaPairs(raw.(map[string]string))
		if err != nil {
			return in, nil, err
		}
		if in.Permissions, warnings, err = parsePermissions(pairs); err != nil {
			return in, nil, err
		}
	}
	return in, warnings, nil
}

// checkRepositoryCount applies GitHub's limit on the repositories one token
// may name, to whatever a scope names: a request, a role, a role after a
// partial update.
func checkRepositoryCount(s scope) error {
	if n := len(s.Repositories) + len(s.RepositoryIDs); n > maxRepositories {
		return fmt.Errorf("repositories and repository_ids name %d repositories; GitHub allows at most %d in one token", n, maxRepositories)
	}
	return nil
}

// refuseRepeatedPermissions catches a permission named twice in list form
// (the CLI's repeated permissions=name=level arguments), which the SDK
// merges silently, keeping the last level.
func refuseRepeatedPermissions(raw any) error {
	list, ok := raw.([]any)
	if !ok {
		return nil
	}
	seen := make(map[string]bool, len(list))
	for _, item := range list {
		pair, _ := item.(string)
		name, _, _ := strings.Cut(pair, "=")
		if seen[name] {
			return fmt.Errorf("permissions names %s twice", quoteInput(name))
		}
		seen[name] = true
	}
	return nil
}

// parseRepositories checks each repository entry: a name, or for a role a
// glob pattern or an identity template.
func parseRepositories(raw []string, form scopeForm) ([]string, error) {
	entries := make([]string, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for _, entry := range raw {
		entry = strings.TrimSpace(entry)
		if err := checkRepositoryEntry(entry, form); err != nil {
			return nil, err
		}
		folded := strings.ToLower(entry)
		if seen[folded] {
			return nil, fmt.Errorf("repositories lists %s twice (GitHub repository names are case-insensitive)", quoteInput(entry))
		}
		seen[folded] = true
		entries = append(entries, entry)
	}
	return entries, nil
}

// isRepositoryName checks a repository name's form: GitHub's characters,
// and not "." or "..", which GitHub reserves and which would be path steps
// in a URL.
func isRepositoryName(name string) bool {
	return repoNamePattern.MatchString(name) && name != "." && name != ".."
}

func checkRepositoryEntry(entry string, form scopeForm) error {
	switch {
	case form == roleScope && isTemplate(entry):
		return validateTemplate(fieldRepositories, entry)
	case form == roleScope && isPattern(entry):
		if !repositoryPattern.MatchString(entry) {
			return fmt.Errorf("repositories: %s is not a repository name pattern (letters, digits, '.', '_', '-' and the wildcards * and ?)", quoteInput(entry))
		}
		return nil
	case strings.Contains(entry, "/"):
		owner, repo, _ := strings.Cut(entry, "/")
		return fmt.Errorf("repositories takes names without the owner: use %s, not %s", quoteInput(repo), quoteInput(owner+"/"+repo))
	case !isRepositoryName(entry):
		hint := ""
		if form == requestScope && (isPattern(entry) || isTemplate(entry)) {
			hint = "; patterns and templates belong in a role, a request names repositories"
		}
		return fmt.Errorf("repositories: %s is not a repository name (1 to 100 letters, digits, '.', '_' or '-'; not . or ..)%s", quoteInput(entry), hint)
	}
	return nil
}

func parseRepositoryIDs(raw []int) ([]int64, error) {
	ids := make([]int64, 0, len(raw))
	seen := make(map[int64]bool, len(raw))
	for _, v := range raw {
		id := int64(v)
		if id <= 0 {
			return nil, fmt.Errorf("repository_ids: %d is not a repository ID (IDs are positive integers)", id)
		}
		if seen[id] {
			return nil, fmt.Errorf("repository_ids lists %d twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}

// splitCommaPairs accepts the comma form permissions=contents=read,issues=write,
// which Vault's key-value parsing reads as contents -> "read,issues=write".
func splitCommaPairs(raw map[string]string) (map[string]string, error) {
	pairs := make(map[string]string, len(raw))
	add := func(name, level string) error {
		if _, dup := pairs[name]; dup {
			return fmt.Errorf("permissions names %s twice", quoteInput(name))
		}
		pairs[name] = level
		return nil
	}
	for name, value := range raw {
		first, rest, _ := strings.Cut(value, ",")
		if err := add(name, first); err != nil {
			return nil, err
		}
		for _, pair := range strings.Split(rest, ",") {
			if pair == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, "=")
			if !ok {
				return nil, fmt.Errorf("permissions: %s is not a name=level pair", quoteInput(pair))
			}
			if err := add(k, v); err != nil {
				return nil, err
			}
		}
	}
	return pairs, nil
}

func parsePermissions(raw map[string]string) (map[string]string, []string, error) {
	if len(raw) > maxPermissionEntries {
		return nil, nil, fmt.Errorf("permissions names %d permissions; GitHub knows fewer than %d", len(raw), maxPermissionEntries)
	}
	perms := make(map[string]string, len(raw))
	var unknown []string
	for _, name := range sortedKeys(raw) {
		level := raw[name]
		if !permissionPattern.MatchString(name) {
			return nil, nil, fmt.Errorf("permissions: %s is not a permission name (lower-case letters, digits and '_', e.g. contents or pull_requests)", quoteInput(name))
		}
		if !ghclient.IsLevel(level) {
			return nil, nil, fmt.Errorf("permissions: level %s for %q is not one of read, write or admin", quoteInput(level), name)
		}
		// A level a known permission does not accept is refused here rather
		// than by GitHub's 422; an unknown name may be one GitHub added since.
		allowed, known := ghclient.PermissionLevels(name)
		switch {
		case !known:
			unknown = append(unknown, name)
		case !slices.Contains(allowed, level):
			return nil, nil, fmt.Errorf("permissions: %q accepts %s, not %q", name, strings.Join(allowed, " or "), level)
		}
		perms[name] = level
	}
	if len(unknown) == 0 {
		return perms, nil, nil
	}
	return perms, []string{fmt.Sprintf("permissions %s: not GitHub permissions this plugin knows; GitHub will refuse the token if they are not granted to the installation",
		describeList(unknown))}, nil
}

// String describes the scope for messages, e.g. "repositories api, web;
// permissions contents=read".
func (s scope) String() string {
	repos := "all repositories"
	if s.restrictsRepositories() {
		repos = "repositories " + describeList(append(slices.Clone(s.Repositories), describeIDs(s.RepositoryIDs)...))
	}
	perms := "all permissions"
	if len(s.Permissions) > 0 {
		perms = "permissions " + describePermissions(s.Permissions)
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

// restrictsRepositories reports whether the scope names repositories; a
// scope that does not reaches every repository of the installation.
func (s scope) restrictsRepositories() bool {
	return len(s.Repositories) > 0 || len(s.RepositoryIDs) > 0
}

// narrow returns the scope a token request asks for, after checking that it
// stays inside s. Fields the request leaves out or sends empty keep s's
// values: an empty list must never widen a role to every repository.
func (s scope) narrow(req scope) (scope, error) {
	out := s
	if req.restrictsRepositories() {
		if err := s.coversRepositories(req); err != nil {
			return scope{}, err
		}
		out.Repositories, out.RepositoryIDs = req.Repositories, req.RepositoryIDs
	}
	if len(req.Permissions) > 0 {
		if err := s.coversPermissions(req.Permissions); err != nil {
			return scope{}, err
		}
		out.Permissions = req.Permissions
	}
	return out, nil
}

// coversRepositories checks a request's repositories against the role's:
// a name must be one of the role's names or match one of its patterns; an
// ID must be one of the role's IDs (patterns cover names only).
func (s scope) coversRepositories(req scope) error {
	if !s.restrictsRepositories() {
		return nil
	}
	allowed := make(map[string]bool, len(s.Repositories))
	var patterns []string
	for _, entry := range s.Repositories {
		if isPattern(entry) {
			patterns = append(patterns, entry)
		} else {
			allowed[strings.ToLower(entry)] = true
		}
	}
	var outside []string
	for _, name := range req.Repositories {
		if !allowed[strings.ToLower(name)] && !matchesAny(patterns, name) {
			outside = append(outside, name)
		}
	}
	if len(outside) > 0 {
		return fmt.Errorf("repositories %s are outside the role's repositories (%s)", describeList(outside), describeList(s.Repositories))
	}
	for _, id := range req.RepositoryIDs {
		if !slices.Contains(s.RepositoryIDs, id) {
			return fmt.Errorf("repository_ids %d is outside the role's repository_ids (%s); a role's names and patterns are matched by name: narrow by repositories",
				id, describeList(s.RepositoryIDs))
		}
	}
	return nil
}

func (s scope) coversPermissions(req map[string]string) error {
	if len(s.Permissions) == 0 {
		return nil
	}
	for _, name := range sortedKeys(req) {
		granted, ok := s.Permissions[name]
		if !ok {
			return fmt.Errorf("permissions: %q is outside the role's permissions (%s)", name, describePermissions(s.Permissions))
		}
		if !ghclient.LevelCovers(granted, req[name]) {
			return fmt.Errorf("permissions: %s=%s exceeds the role's %s=%s", name, req[name], name, granted)
		}
	}
	return nil
}

// maxListed bounds how many items a message lists: a role may name 500
// repositories, and a caller may send as many.
const maxListed = 10

// describeList lists items for a message, at most maxListed of them, each
// quoted and cut like any user input.
func describeList[T any](items []T) string {
	if len(items) == 0 {
		return "none"
	}
	parts := make([]string, 0, min(len(items), maxListed)+1)
	for _, item := range items[:min(len(items), maxListed)] {
		parts = append(parts, strings.Trim(quoteInput(fmt.Sprint(item)), `"`))
	}
	if len(items) > maxListed {
		parts = append(parts, fmt.Sprintf("and %d more", len(items)-maxListed))
	}
	return strings.Join(parts, ", ")
}

func describePermissions(perms map[string]string) string {
	parts := make([]string, 0, len(perms))
	for _, name := range sortedKeys(perms) {
		parts = append(parts, name+"="+perms[name])
	}
	return describeList(parts)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
