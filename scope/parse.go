package scope

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
)

// MaxRepositories is GitHub's limit on repositories named in one token
// request; a role asking for more could never mint.
const MaxRepositories = ghclient.MaxTokenRepositories

// maxPermissionEntries bounds a permissions list: GitHub knows sixty-odd
// permissions, and a caller must not make an answer grow with thousands.
const maxPermissionEntries = 100

var (
	repoNamePattern   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	permissionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	idPattern         = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	// repoTextPattern is what a template may have written around its
	// directives: a repository name's characters.
	repoTextPattern = regexp.MustCompile(`^[A-Za-z0-9._-]*$`)
)

// The examples the errors show for sending several items of a field.
var examples = map[string]string{
	FieldRepositories:  "api web",
	FieldRepositoryIDs: "123 456",
	FieldPermissions:   "contents=read issues=write",
}

// ParseRequest reads the narrowing a token request asks for. A field left
// out does not narrow; a field present must name something, in the one
// spelling Vault's ACL compared (see items). Warnings name permissions
// GitHub may know that this plugin does not.
func ParseRequest(raw map[string]any, src Source) (Scope, []string, error) {
	var s Scope
	var warnings []string
	for _, field := range Fields {
		value, ok := raw[field]
		if !ok {
			continue
		}
		list, err := items(field, value, src, examples[field])
		if errors.Is(err, errNamesNothing) {
			return Scope{}, nil, fmt.Errorf("%s names nothing: leave the field out to keep the role's %s, or name at least one", field, field)
		}
		if err != nil {
			return Scope{}, nil, err
		}
		if warnings, err = s.set(field, list, requestForm); err != nil {
			return Scope{}, nil, err
		}
	}
	return s, warnings, checkRepositoryCount(s)
}

// Update is a write to a role's scope: the fields it carried, and what
// each says.
type Update struct {
	scope Scope
	// present, cleared and every are keyed by field name.
	present, cleared, every map[string]bool
	warnings                []string
}

// ParseRoleUpdate reads the scope fields of a role write. Beyond a
// request's forms, an entry may be a pattern or an identity template, a
// field may be Every alone, and an empty value clears a repository list
// as long as the role still names repositories after the write (Apply).
func ParseRoleUpdate(raw map[string]any) (Update, error) {
	u := Update{present: map[string]bool{}, cleared: map[string]bool{}, every: map[string]bool{}}
	for _, field := range Fields {
		value, ok := raw[field]
		if !ok {
			continue
		}
		u.present[field] = true
		list, err := items(field, value, Body, examples[field])
		switch {
		case errors.Is(err, errNamesNothing):
			u.cleared[field] = true
			continue
		case err != nil:
			return Update{}, err
		case slices.Contains(list, Every):
			if len(list) > 1 || field == FieldRepositoryIDs {
				return Update{}, everyAlone(field)
			}
			u.every[field] = true
			continue
		}
		warnings, err := u.scope.set(field, list, roleForm)
		if err != nil {
			return Update{}, err
		}
		u.warnings = warnings
	}
	return u, nil
}

func everyAlone(field string) error {
	switch field {
	case FieldRepositoryIDs:
		return fmt.Errorf("repository_ids takes IDs; every repository is written %s=%s", FieldRepositories, Every)
	case FieldRepositories:
		return fmt.Errorf("repositories: %s stands alone: it means every repository of the installation", Every)
	}
	return fmt.Errorf("permissions: %s stands alone: it means every permission granted to the installation", Every)
}

// Warnings name permissions GitHub may know that this plugin does not.
func (u Update) Warnings() []string { return u.warnings }

// Apply returns the role's scope after the update. Widening a role to every
// repository or permission takes Every: a value left empty that would do
// it is refused, so a Vault policy that does not allow Every (or denies it)
// keeps delegated role writers from widening a role.
func (u Update) Apply(stored Scope) (Scope, error) {
	out := stored
	switch {
	case u.every[FieldRepositories] && u.present[FieldRepositoryIDs] && !u.cleared[FieldRepositoryIDs]:
		return Scope{}, fmt.Errorf("repositories=%s gives every repository; it cannot go with repository_ids", Every)
	case u.every[FieldRepositories]:
		out.Repositories, out.RepositoryIDs = nil, nil
	case u.present[FieldRepositories]:
		out.Repositories = u.scope.Repositories
	}
	if u.present[FieldRepositoryIDs] {
		out.RepositoryIDs = u.scope.RepositoryIDs
	}
	if (u.cleared[FieldRepositories] || u.cleared[FieldRepositoryIDs]) && !out.RestrictsRepositories() {
		return Scope{}, fmt.Errorf("after this write the role would name no repositories, which gives it every repository of the installation: write %s=%s to mean that",
			FieldRepositories, Every)
	}
	switch {
	case u.cleared[FieldPermissions]:
		return Scope{}, fmt.Errorf("permissions names nothing: name the permissions (permissions=contents=read), or write permissions=%s for every permission granted to the installation", Every)
	case u.every[FieldPermissions]:
		out.Permissions = nil
	case u.present[FieldPermissions]:
		out.Permissions = u.scope.Permissions
	}
	if err := checkRepositoryCount(out); err != nil {
		return Scope{}, fmt.Errorf("after this write, %w", err)
	}
	return out, nil
}

// form says which repository entries a scope accepts: a role may hold glob
// patterns and identity templates; a token request only names repositories.
type form int

const (
	requestForm form = iota
	roleForm
)

// set parses one field's items into s.
func (s *Scope) set(field string, list []string, f form) (warnings []string, err error) {
	switch field {
	case FieldRepositories:
		s.Repositories, err = parseRepositories(list, f)
	case FieldRepositoryIDs:
		s.RepositoryIDs, err = parseRepositoryIDs(list)
	case FieldPermissions:
		s.Permissions, warnings, err = parsePermissions(list)
	}
	return warnings, err
}

// checkRepositoryCount applies GitHub's limit on the repositories one token
// may name, to whatever a scope names.
func checkRepositoryCount(s Scope) error {
	if n := len(s.Repositories) + len(s.RepositoryIDs); n > MaxRepositories {
		return fmt.Errorf("repositories and repository_ids name %d repositories; GitHub allows at most %d in one token", n, MaxRepositories)
	}
	return nil
}

// parseRepositories checks each repository entry: a name, or for a role a
// glob pattern or an identity template. GitHub's names are unique
// regardless of case, so two spellings of one name are one name twice.
func parseRepositories(list []string, f form) ([]string, error) {
	seen := make(map[string]bool, len(list))
	for _, entry := range list {
		if err := checkRepositoryEntry(entry, f); err != nil {
			return nil, err
		}
		folded := strings.ToLower(entry)
		if seen[folded] {
			return nil, fmt.Errorf("repositories names %s twice (GitHub's repository names are unique regardless of case)", quote.Input(entry))
		}
		seen[folded] = true
	}
	return list, nil
}

// IsRepositoryName checks a repository name's form: GitHub's characters,
// and not "." or "..", which GitHub reserves and which would be path steps
// in a URL.
func IsRepositoryName(name string) bool {
	return repoNamePattern.MatchString(name) && name != "." && name != ".."
}

func checkRepositoryEntry(entry string, f form) error {
	switch {
	case f == roleForm && IsTemplate(entry):
		if err := ValidateTemplate(FieldRepositories, entry); err != nil {
			return err
		}
		if !repoTextPattern.MatchString(writtenText(entry)) {
			return fmt.Errorf("repositories: template %s has text written around its directives that no repository name holds: write only letters, digits, '.', '_' and '-' there "+
				"(an owner/name comes from the first directive)", quote.Input(entry))
		}
		return nil
	case f == roleForm && IsPattern(entry):
		if !repositoryPattern.MatchString(entry) {
			return fmt.Errorf("repositories: %s is not a repository name pattern (letters, digits, '.', '_', '-' and the wildcards * and ?)", quote.Input(entry))
		}
		// "**" or "?*" reaches every repository as Every does, but a
		// policy denying Every compares another value, and
		// require_explicit_scope would see a pattern.
		if strings.Trim(entry, "*?") == "" {
			return fmt.Errorf("repositories: %s is a pattern of wildcards only, which matches every repository (or every one of some lengths): name some characters, or write repositories=%s for every repository",
				quote.Input(entry), Every)
		}
		return nil
	case strings.Contains(entry, "/"):
		owner, repo, _ := strings.Cut(entry, "/")
		return fmt.Errorf("repositories takes names without the owner: use %s, not %s", quote.Input(repo), quote.Input(owner+"/"+repo))
	case !IsRepositoryName(entry):
		hint := ""
		if f == requestForm && (IsPattern(entry) || IsTemplate(entry)) {
			hint = "; patterns and templates belong in a role, a request names repositories"
		}
		return fmt.Errorf("repositories: %s is not a repository name (1 to 100 letters, digits, '.', '_' or '-'; not . or ..)%s", quote.Input(entry), hint)
	}
	return nil
}

// parseRepositoryIDs reads IDs written as Vault compares them: decimal
// digits with no sign, leading zero or space, so that "007" cannot pass a
// policy that denies "7".
func parseRepositoryIDs(list []string) ([]int64, error) {
	ids := make([]int64, 0, len(list))
	seen := make(map[int64]bool, len(list))
	for _, item := range list {
		id, err := strconv.ParseInt(item, 10, 64)
		if err != nil || !idPattern.MatchString(item) {
			return nil, fmt.Errorf(`repository_ids: %s is not a repository ID written plainly: a positive integer in decimal digits, with no sign or leading zero, as a string (e.g. "123")`, quote.Input(item))
		}
		if seen[id] {
			return nil, fmt.Errorf("repository_ids names %d twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}

// parsePermissions reads name=level items. Names and levels are lower-case,
// as GitHub and a policy's values spell them; nothing is folded.
func parsePermissions(list []string) (map[string]string, []string, error) {
	if len(list) > maxPermissionEntries {
		return nil, nil, fmt.Errorf("permissions names %d permissions; GitHub knows fewer than %d", len(list), maxPermissionEntries)
	}
	perms := make(map[string]string, len(list))
	var unknown []string
	for _, item := range list {
		name, level, ok := strings.Cut(item, "=")
		if !ok {
			return nil, nil, fmt.Errorf("permissions: %s is not a name=level pair such as contents=read", quote.Input(item))
		}
		if _, dup := perms[name]; dup {
			return nil, nil, fmt.Errorf("permissions names %s twice", quote.Input(name))
		}
		known, err := checkPermission(name, level)
		if err != nil {
			return nil, nil, err
		}
		if !known {
			unknown = append(unknown, name)
		}
		perms[name] = level
	}
	if len(unknown) == 0 {
		return perms, nil, nil
	}
	slices.Sort(unknown)
	return perms, []string{fmt.Sprintf("permissions %s: not GitHub permissions this plugin knows; GitHub will refuse the token if they are not granted to the installation",
		quote.List(unknown))}, nil
}

// checkPermission checks a name and level, and reports whether the name is
// one this plugin knows. A level a known permission does not accept is
// refused here rather than by GitHub's 422; an unknown name may be one
// GitHub added since.
func checkPermission(name, level string) (known bool, err error) {
	if !permissionPattern.MatchString(name) {
		return false, fmt.Errorf("permissions: %s is not a permission name (lower-case letters, digits and '_', e.g. contents or pull_requests)", quote.Input(name))
	}
	if !ghclient.IsLevel(level) {
		return false, fmt.Errorf("permissions: level %s for %q is not one of read, write or admin", quote.Input(level), name)
	}
	allowed, known := ghclient.PermissionLevels(name)
	if known && !slices.Contains(allowed, level) {
		return true, fmt.Errorf("permissions: %q accepts %s, not %q", name, strings.Join(allowed, " or "), level)
	}
	return known, nil
}
