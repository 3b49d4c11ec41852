package acltest

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-secure-stdlib/strutil"
	"github.com/hashicorp/vault/vault"
)

// The oracle. A policy writer who constrains a field means: whatever a
// token reaches through that field matches one of the field's allowed
// values (when allowed_parameters lists values for it; an empty list or
// only the "*" key allows anything) and none of its denied values, with
// Vault's matching (strutil.GlobbedStringsMatch: exact, or a leading
// and/or trailing '*'; case-sensitive). The oracle checks this on the
// token as the emulator holds it, never on what the plugin says it
// minted:
//
//   - repositories and repository_ids: every repository the token reaches,
//     by its name as GitHub spells it and by its ID in decimal; when the
//     request carried both fields, either may justify a repository;
//   - permissions: every name=level pair of the token, except
//     metadata=read, which GitHub adds to every token;
//   - owner and installation_id (role writes): the login of the account
//     the token's installation is on, and the installation's ID.
//
// A role write's repositories may hold patterns and "*", which the plugin
// defines (README, "Policies and narrowing"): "*" is every repository,
// and a policy that admits the value "*" admits that; a pattern reaches
// the names it matches, case-sensitively. Vault compares the pattern as
// written, so a repository a written pattern reaches must match the
// field's allowed values by its own name, while denied values are held to
// the pattern itself: denied_parameters cannot see what a pattern matches,
// which the README says, recommending allowed_parameters for role writers.
//
// A field the request did not carry constrains nothing (its key compared
// lower-cased, as Vault's ACL compares parameter names). For a role write
// the token is a plain one minted for the role after the write, the fields
// are the write's, and only what the write added counts: what that token
// reaches and a plain token minted for the role before the write did not
// (writes are partial: a write of repository_ids alone leaves the role's
// repositories, which the writer's policy never saw, as they were).

// reach is what a minted token reaches, as the emulator holds it.
type reach struct {
	installationID int64
	owner          string
	repositories   []repository
	permissions    map[string]string
}

type repository struct {
	name string
	id   int64
}

// reachOf reads a token's scope at the emulator.
func (e *env) reachOf(token string) (reach, bool) {
	info, ok := e.emulator.Token(token)
	if !ok {
		return reach{}, false
	}
	r := reach{installationID: info.InstallationID, owner: e.owners[info.InstallationID], permissions: info.Permissions}
	for i, id := range info.RepositoryIDs {
		r.repositories = append(r.repositories, repository{name: info.RepositoryNames[i], id: id})
	}
	return r, true
}

func (r reach) String() string {
	names := make([]string, len(r.repositories))
	for i, repo := range r.repositories {
		names[i] = repo.name
	}
	perms := make([]string, 0, len(r.permissions))
	for _, name := range slices.Sorted(maps.Keys(r.permissions)) {
		perms = append(perms, name+"="+r.permissions[name])
	}
	return fmt.Sprintf("installation %d (%s); repositories %s; permissions %s",
		r.installationID, r.owner, strings.Join(names, ", "), strings.Join(perms, ", "))
}

// violations lists what the token reaches, and a token reaching before
// did not (before is nil for none), that the policy's rules do not admit,
// for the fields the request carried: one line per broken constraint,
// naming everything that breaks it.
func violations(rules *vault.ACLPermissions, carried map[string]bool, written []string, r reach, before *reach) []string {
	var v violationList
	for _, repo := range r.repositories {
		if before != nil && slices.Contains(before.repositories, repo) {
			continue
		}
		if why := repositoryRefusal(rules, carried, written, repo); why != "" {
			v.add("repositories", fmt.Sprintf("%s (id %d)", repo.name, repo.id), why)
		}
	}
	if carried["permissions"] {
		for _, name := range slices.Sorted(maps.Keys(r.permissions)) {
			pair := name + "=" + r.permissions[name]
			if pair == "metadata=read" || (before != nil && before.permissions[name] == r.permissions[name]) {
				continue
			}
			if why := refusal(rules, "permissions", pair); why != "" {
				v.add("permissions", pair, why)
			}
		}
	}
	if before != nil && before.installationID == r.installationID {
		return v.lines()
	}
	if carried["owner"] {
		if why := refusal(rules, "owner", r.owner); why != "" {
			v.add("owner", r.owner, why)
		}
	}
	if carried["installation_id"] {
		if why := refusal(rules, "installation_id", strconv.FormatInt(r.installationID, 10)); why != "" {
			v.add("installation", strconv.FormatInt(r.installationID, 10), why)
		}
	}
	return v.lines()
}

// violationList groups the things of a kind (repositories, permissions)
// that break the same constraint, in the order found.
type violationList struct {
	keys  []string // kind and constraint
	items map[string][]string
}

func (v *violationList) add(kind, item, why string) {
	key := kind + "\x00" + why
	if v.items == nil {
		v.items = map[string][]string{}
	}
	if _, ok := v.items[key]; !ok {
		v.keys = append(v.keys, key)
	}
	v.items[key] = append(v.items[key], item)
}

func (v *violationList) lines() []string {
	out := make([]string, len(v.keys))
	for i, key := range v.keys {
		kind, why, _ := strings.Cut(key, "\x00")
		out[i] = kind + " " + strings.Join(v.items[key], ", ") + ": " + why
	}
	return out
}

// repositoryRefusal says why neither carried repository field admits a
// repository, or "" when one does or neither was carried. written are a
// role write's repository entries, for its patterns and "*".
func repositoryRefusal(rules *vault.ACLPermissions, carried map[string]bool, written []string, repo repository) string {
	if carried["repositories"] {
		if pattern, ok := writtenPattern(written, repo.name); ok {
			if pattern == "*" {
				return refusal(rules, "repositories", "*")
			}
			if why := allowedRefusal(rules, "repositories", repo.name); why != "" {
				return why
			}
			return refusal(rules, "repositories", pattern)
		}
	}
	var whys []string
	for _, f := range []struct{ field, value string }{
		{"repositories", repo.name},
		{"repository_ids", strconv.FormatInt(repo.id, 10)},
	} {
		if !carried[f.field] {
			continue
		}
		why := refusal(rules, f.field, f.value)
		if why == "" {
			return ""
		}
		whys = append(whys, why)
	}
	return strings.Join(whys, ", and ")
}

// writtenPattern returns the written pattern (or "*") through which a role
// reaches a repository it does not name literally.
func writtenPattern(written []string, name string) (string, bool) {
	if slices.Contains(written, name) {
		return "", false
	}
	for _, entry := range written {
		if ok, _ := path.Match(entry, name); ok && strings.ContainsAny(entry, "*?") {
			return entry, true
		}
	}
	return "", false
}

// refusal names the constraint on field that value breaks, or "".
func refusal(rules *vault.ACLPermissions, field, value string) string {
	if why := allowedRefusal(rules, field, value); why != "" {
		return why
	}
	if denied, ok := rules.DeniedParameters[field]; ok && (len(denied) == 0 || matchesAny(denied, value)) {
		return fmt.Sprintf("in denied_parameters %q = %s", field, describeValues(denied))
	}
	return ""
}

func allowedRefusal(rules *vault.ACLPermissions, field, value string) string {
	if allowed := rules.AllowedParameters[field]; len(allowed) > 0 && !matchesAny(allowed, value) {
		return fmt.Sprintf("not in allowed_parameters %q = %s", field, describeValues(allowed))
	}
	return ""
}

func matchesAny(list []any, value string) bool {
	return slices.ContainsFunc(list, func(el any) bool { return strutil.GlobbedStringsMatch(fmt.Sprint(el), value) })
}

func describeValues(list []any) string {
	quoted := make([]string, len(list))
	for i, el := range list {
		quoted[i] = strconv.Quote(fmt.Sprint(el))
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// carriedFields are the request's parameter names, lower-cased as Vault's
// ACL compares them.
func carriedFields(data map[string]any) map[string]bool {
	carried := make(map[string]bool, len(data))
	for k := range data {
		carried[strings.ToLower(k)] = true
	}
	return carried
}
