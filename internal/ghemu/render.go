package ghemu

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The JSON shapes below follow GitHub's REST schema closely, including the
// many *_url fields: a repository object weighs about 6 KB, as on GitHub
// (render_test.go checks it), so performance tests measure the reply a
// client really has to read, and can prove the plugin does not carry it
// around.

// nodeID builds a legacy GraphQL node ID, such as "MDEwOlJlcG9zaXRvcnkx"
// for repository 1.
func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%02d:%s%d", len(kind), kind, id))
}

// urlField is a JSON field whose value is a base URL plus a suffix.
type urlField struct{ name, suffix string }

var accountURLFields = []urlField{
	{"followers_url", "/followers"},
	{"following_url", "/following{/other_user}"},
	{"gists_url", "/gists{/gist_id}"},
	{"starred_url", "/starred{/owner}{/repo}"},
	{"subscriptions_url", "/subscriptions"},
	{"organizations_url", "/orgs"},
	{"repos_url", "/repos"},
	{"events_url", "/events{/privacy}"},
	{"received_events_url", "/received_events"},
}

var repoURLFields = []urlField{
	{"forks_url", "/forks"},
	{"keys_url", "/keys{/key_id}"},
	{"collaborators_url", "/collaborators{/collaborator}"},
	{"teams_url", "/teams"},
	{"hooks_url", "/hooks"},
	{"issue_events_url", "/issues/events{/number}"},
	{"events_url", "/events"},
	{"assignees_url", "/assignees{/user}"},
	{"branches_url", "/branches{/branch}"},
	{"tags_url", "/tags"},
	{"blobs_url", "/git/blobs{/sha}"},
	{"git_tags_url", "/git/tags{/sha}"},
	{"git_refs_url", "/git/refs{/sha}"},
	{"trees_url", "/git/trees{/sha}"},
	{"statuses_url", "/statuses/{sha}"},
	{"languages_url", "/languages"},
	{"stargazers_url", "/stargazers"},
	{"contributors_url", "/contributors"},
	{"subscribers_url", "/subscribers"},
	{"subscription_url", "/subscription"},
	{"commits_url", "/commits{/sha}"},
	{"git_commits_url", "/git/commits{/sha}"},
	{"comments_url", "/comments{/number}"},
	{"issue_comment_url", "/issues/comments{/number}"},
	{"contents_url", "/contents/{+path}"},
	{"compare_url", "/compare/{base}...{head}"},
	{"merges_url", "/merges"},
	{"archive_url", "/{archive_format}{/ref}"},
	{"downloads_url", "/downloads"},
	{"issues_url", "/issues{/number}"},
	{"pulls_url", "/pulls{/number}"},
	{"milestones_url", "/milestones{/number}"},
	{"notifications_url", "/notifications{?since,all,participating}"},
	{"labels_url", "/labels{/name}"},
	{"releases_url", "/releases{/id}"},
	{"deployments_url", "/deployments"},
}

func addURLFields(m map[string]any, base string, fields []urlField) {
	for _, f := range fields {
		m[f.name] = base + f.suffix
	}
}

// accountJSON is GitHub's simple-user object.
func accountJSON(u urls, a Account) map[string]any {
	api := u.api + "/users/" + a.Login
	m := map[string]any{
		"login":          a.Login,
		"id":             a.ID,
		"node_id":        nodeID(a.Type, a.ID),
		"avatar_url":     fmt.Sprintf("%s/avatars/u/%d?v=4", u.web, a.ID),
		"gravatar_id":    "",
		"url":            api,
		"html_url":       u.web + "/" + a.Login,
		"type":           a.Type,
		"user_view_type": "public",
		"site_admin":     false,
	}
	addURLFields(m, api, accountURLFields)
	return m
}

// renderKey is everything a repository object is rendered from besides
// the repository itself, which never changes (AddRepository replaces it).
type renderKey struct {
	urls  urls
	owner Account
}

// repoJSON is GitHub's full repository object, as JSON. A token naming 500
// repositories carries about 3 MB of them: rendering them anew for every
// mint made the emulator, not the client under test, the bulk of an
// in-process benchmark's allocations (docs/benchmarks.md). So each
// rendering is cached on the repository, keyed by the rest of its
// inputs, and can never be stale. The caller holds s.mu (read or write);
// the result is shared and must not be modified.
func (s *Server) repoJSON(u urls, r *repository) json.RawMessage {
	key := renderKey{urls: u, owner: s.account(r.Owner)}
	if cached, ok := r.rendered.Load(key); ok {
		return cached.(json.RawMessage)
	}
	body := json.RawMessage(mustMarshal(githubOrder(mustMarshal(repoObject(u, r, key.owner)))))
	r.rendered.Store(key, body)
	return body
}

// leadingRepositoryFields open GitHub's repository object, in its order; a
// client that stops reading an object once it has what it needs sees them
// first, as it would on GitHub.
var leadingRepositoryFields = []string{"id", "node_id", "name", "full_name", "private", "owner"}

// githubOrder puts an object's leading fields first, in GitHub's order,
// the rest after them as encoded.
func githubOrder(object []byte) orderedObject {
	obj, err := decodeOrdered(object)
	if err != nil {
		panic(fmt.Sprintf("ghemu: reorder: %v", err)) // only the emulator's own objects come here
	}
	rank := func(f orderedField) int {
		if i := slices.Index(leadingRepositoryFields, f.name); i >= 0 {
			return i
		}
		return len(leadingRepositoryFields)
	}
	slices.SortStableFunc(obj, func(a, b orderedField) int { return rank(a) - rank(b) })
	return obj
}

// preEncoded is a reply that carries rendered repository objects and
// encodes itself in parts: encoding/json would re-validate every byte of
// them, on the CPUs the benchmarks share with the plugin, and joining them
// would allocate the whole reply, 3 MB that in-process benchmarks would
// count as the client's.
type preEncoded interface {
	// jsonParts is the reply's JSON in pieces, to be sent in order.
	jsonParts() [][]byte
}

// repositoryParts is an object's JSON, head, followed by a last member
// "repositories" holding repos; nil repos adds no member.
func repositoryParts(head []byte, repos []json.RawMessage) [][]byte {
	if repos == nil {
		return [][]byte{head}
	}
	parts := make([][]byte, 0, 2*len(repos)+2)
	open := `"repositories":[`
	if len(head) > 2 { // not {}
		open = "," + open
	}
	parts = append(parts, head[:len(head)-1], []byte(open))
	for i, r := range repos {
		if i > 0 {
			parts = append(parts, []byte(","))
		}
		parts = append(parts, r)
	}
	return append(parts, []byte("]}"))
}

// sendParts sends a JSON body given in parts. The writes are buffered, but
// the rendered objects themselves are never copied into a buffer of the
// reply's size.
func sendParts(w http.ResponseWriter, status int, parts [][]byte) {
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(status)
	bw := bufio.NewWriterSize(w, min(size, 64<<10))
	for _, p := range parts {
		if _, err := bw.Write(p); err != nil {
			return // the client hung up: nothing left to do
		}
	}
	_ = bw.Flush() // likewise
}

// jsonParts sends the mint reply in GitHub's field order, the repository
// objects last.
func (m *mintBody) jsonParts() [][]byte {
	fields := *m
	fields.Repositories = nil // omitted: spliced in below
	return repositoryParts(mustMarshal(&fields), m.Repositories)
}

// withRepositories is a reply object whose last member, "repositories",
// holds rendered repository objects; fields marshals to the others.
type withRepositories struct {
	fields any
	repos  []json.RawMessage
}

func (o withRepositories) jsonParts() [][]byte {
	return repositoryParts(mustMarshal(o.fields), o.repos)
}

// MarshalJSON serves reply edits, which re-encode a reply to edit it.
func (o withRepositories) MarshalJSON() ([]byte, error) {
	return bytes.Join(o.jsonParts(), nil), nil
}

// repoObject is GitHub's full-repository schema, including the
// organization for a repository an organisation owns.
func repoObject(u urls, r *repository, owner Account) map[string]any {
	full := r.Owner + "/" + r.Name
	api := u.api + "/repos/" + full
	visibility := "public"
	if r.Private {
		visibility = "private"
	}
	created := timestamp(r.created)
	m := map[string]any{
		"id":                             r.ID,
		"node_id":                        nodeID("Repository", r.ID),
		"name":                           r.Name,
		"full_name":                      full,
		"private":                        r.Private,
		"owner":                          accountJSON(u, owner),
		"html_url":                       u.web + "/" + full,
		"description":                    "Emulated repository " + full + ", served by the ghemu GitHub App API emulator.",
		"fork":                           false,
		"url":                            api,
		"created_at":                     created,
		"updated_at":                     created,
		"pushed_at":                      created,
		"git_url":                        "git://" + u.host + "/" + full + ".git",
		"ssh_url":                        "git@" + u.host + ":" + full + ".git",
		"clone_url":                      u.web + "/" + full + ".git",
		"svn_url":                        u.web + "/" + full,
		"homepage":                       nil,
		"size":                           1024,
		"stargazers_count":               0,
		"watchers_count":                 0,
		"language":                       "Go",
		"has_issues":                     true,
		"has_projects":                   true,
		"has_downloads":                  true,
		"has_wiki":                       true,
		"has_pages":                      false,
		"has_discussions":                false,
		"forks_count":                    0,
		"mirror_url":                     nil,
		"archived":                       false,
		"disabled":                       false,
		"open_issues_count":              0,
		"license":                        mitLicense(u),
		"allow_forking":                  !r.Private,
		"is_template":                    false,
		"web_commit_signoff_required":    false,
		"topics":                         []string{"emulator", "github-app", "vault"},
		"visibility":                     visibility,
		"forks":                          0,
		"open_issues":                    0,
		"watchers":                       0,
		"default_branch":                 "main",
		"permissions":                    map[string]bool{"admin": false, "maintain": false, "push": false, "triage": false, "pull": true},
		"security_and_analysis":          securityAndAnalysis(),
		"custom_properties":              map[string]any{},
		"temp_clone_token":               "",
		"network_count":                  0,
		"subscribers_count":              0,
		"allow_rebase_merge":             true,
		"allow_squash_merge":             true,
		"allow_merge_commit":             true,
		"allow_auto_merge":               false,
		"allow_update_branch":            false,
		"delete_branch_on_merge":         false,
		"use_squash_pr_title_as_default": false,
		"squash_merge_commit_title":      "COMMIT_OR_PR_TITLE",
		"squash_merge_commit_message":    "COMMIT_MESSAGES",
		"merge_commit_title":             "MERGE_MESSAGE",
		"merge_commit_message":           "PR_TITLE",
	}
	if owner.Type == AccountOrganization {
		m["organization"] = accountJSON(u, owner)
	}
	addURLFields(m, api, repoURLFields)
	shapeRepository(m, u.version)
	return m
}

func mitLicense(u urls) map[string]any {
	return map[string]any{
		"key":     "mit",
		"name":    "MIT License",
		"spdx_id": "MIT",
		"url":     u.api + "/licenses/mit",
		"node_id": "MDc6TGljZW5zZTEz",
	}
}

func securityAndAnalysis() map[string]any {
	out := map[string]any{}
	for _, k := range []string{"advanced_security", "secret_scanning", "secret_scanning_push_protection",
		"secret_scanning_non_provider_patterns", "secret_scanning_validity_checks", "dependabot_security_updates"} {
		out[k] = map[string]string{"status": "disabled"}
	}
	return out
}

// enterpriseJSON is GitHub's enterprise object, an enterprise
// installation's account.
func enterpriseJSON(u urls, a Account, created time.Time) map[string]any {
	return map[string]any{
		"id":          a.ID,
		"node_id":     nodeID("Enterprise", a.ID),
		"name":        a.Login,
		"slug":        a.Login,
		"description": nil,
		"website_url": nil,
		"html_url":    u.web + "/enterprises/" + a.Login,
		"avatar_url":  fmt.Sprintf("%s/avatars/b/%d?v=4", u.web, a.ID),
		"created_at":  timestamp(created),
		"updated_at":  timestamp(created),
	}
}

// installationJSON is GitHub's installation object. The caller holds s.mu.
func (s *Server) installationJSON(u urls, in *installation) map[string]any {
	app := s.apps[in.AppID]
	html := fmt.Sprintf("%s/settings/installations/%d", u.web, in.ID)
	account := accountJSON(u, in.Account)
	switch in.Account.Type {
	case AccountOrganization:
		html = fmt.Sprintf("%s/organizations/%s/settings/installations/%d", u.web, in.Account.Login, in.ID)
	case AccountEnterprise:
		html = fmt.Sprintf("%s/enterprises/%s/settings/installations/%d", u.web, in.Account.Login, in.ID)
		account = enterpriseJSON(u, in.Account, in.created)
	}
	var suspendedAt, suspendedBy any
	if !in.suspendedAt.IsZero() {
		suspendedAt = timestamp(in.suspendedAt)
		suspendedBy = accountJSON(u, in.Account)
	}
	m := map[string]any{
		"id":                        in.ID,
		"account":                   account,
		"repository_selection":      in.RepositorySelection,
		"access_tokens_url":         fmt.Sprintf("%s/app/installations/%d/access_tokens", u.api, in.ID),
		"repositories_url":          u.api + "/installation/repositories",
		"html_url":                  html,
		"app_id":                    in.AppID,
		"target_id":                 in.Account.ID,
		"target_type":               in.Account.Type,
		"permissions":               in.Permissions,
		"events":                    []string{},
		"created_at":                timestamp(in.created),
		"updated_at":                timestamp(in.created),
		"single_file_name":          nil,
		"has_multiple_single_files": false,
		"single_file_paths":         []string{},
		"suspended_by":              suspendedBy,
		"suspended_at":              suspendedAt,
	}
	if app != nil {
		m["client_id"] = app.ClientID
		m["app_slug"] = app.Slug
	}
	return m
}

// appJSON is GitHub's integration object. The caller holds s.mu.
func (s *Server) appJSON(u urls, a *app) map[string]any {
	var owner any
	if a.Owner.Login != "" {
		owner = accountJSON(u, a.Owner)
	}
	created := timestamp(a.created)
	return map[string]any{
		"id":                  a.ID,
		"slug":                a.Slug,
		"node_id":             nodeID("Integration", a.ID),
		"client_id":           a.ClientID,
		"owner":               owner,
		"name":                a.Name,
		"description":         "",
		"external_url":        u.web,
		"html_url":            u.web + "/apps/" + a.Slug,
		"created_at":          created,
		"updated_at":          created,
		"permissions":         a.Permissions,
		"events":              []string{},
		"installations_count": len(s.appInstallations(a.ID)),
	}
}
