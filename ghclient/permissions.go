package ghclient

import "strings"

// permissionLevels is GitHub's schema of installation token permissions and
// the levels each accepts (GitHub's REST schema, late 2026). GitHub adds
// permissions over time, so callers should treat a name missing here as
// possibly valid.
var permissionLevels = func() map[string][]string {
	m := make(map[string][]string)
	add := func(levels []string, names string) {
		for _, name := range strings.Fields(names) {
			m[name] = levels
		}
	}
	add([]string{"read", "write"}, `actions administration artifact_metadata attestations checks
		codespaces contents dependabot_secrets deployments discussions environments issues
		merge_queues metadata packages pages pull_requests repository_custom_properties
		repository_hooks secret_scanning_alerts secrets security_events single_file statuses
		vulnerability_alerts custom_properties_for_organizations members
		organization_administration organization_custom_roles organization_custom_org_roles
		organization_copilot_agent_settings organization_announcement_banners organization_hooks
		organization_personal_access_tokens organization_personal_access_token_requests
		organization_packages organization_secrets organization_self_hosted_runners
		organization_user_blocking email_addresses followers git_ssh_keys gpg_keys
		interaction_limits starring`)
	add([]string{"read", "write", "admin"}, `repository_projects organization_custom_properties
		organization_projects enterprise_custom_properties_for_organizations`)
	add([]string{"write"}, `workflows organization_copilot_seat_management profile`)
	add([]string{"read"}, `organization_events organization_plan`)
	return m
}()

// PermissionLevels returns the levels GitHub accepts for a permission, and
// whether the permission is one this package knows.
func PermissionLevels(name string) ([]string, bool) {
	levels, ok := permissionLevels[name]
	return levels, ok
}

// levelRank orders the permission levels by power.
var levelRank = map[string]int{"read": 1, "write": 2, "admin": 3}

// IsLevel reports whether level is one GitHub knows: read, write or admin.
func IsLevel(level string) bool { return levelRank[level] > 0 }

// LevelCovers reports whether a grant at level granted allows a request at
// level wanted: write covers read, admin covers both.
func LevelCovers(granted, wanted string) bool {
	return IsLevel(wanted) && levelRank[granted] >= levelRank[wanted]
}
