package ghemu

import (
	"fmt"
	"strings"
)

// GitHub's REST API versions. A request names one in the
// X-GitHub-Api-Version header; without it GitHub answers as APIVersion2022.
// GitHub Enterprise Server (the /api/v3 prefix) knows only APIVersion2022.
const (
	APIVersion2022 = "2022-11-28"
	APIVersion2026 = "2026-03-10"

	apiVersionHeader = "X-GitHub-Api-Version"
)

// supportedVersions lists the versions a product accepts, newest first, as
// GitHub's refusal lists them.
func supportedVersions(prefix string) []string {
	if prefix == ghesPrefix {
		return []string{APIVersion2022}
	}
	return []string{APIVersion2026, APIVersion2022}
}

// selectAPIVersion returns the version a request selects, and false when
// the product does not know it.
func selectAPIVersion(header, prefix string) (string, bool) {
	if header == "" {
		return APIVersion2022, true
	}
	for _, v := range supportedVersions(prefix) {
		if header == v {
			return v, true
		}
	}
	return "", false
}

// unsupportedVersionMessage is GitHub's 400 for a version it does not know.
func unsupportedVersionMessage(header, prefix string) string {
	quoted := make([]string, 0, 2)
	for i, v := range supportedVersions(prefix) {
		q := fmt.Sprintf("%q", v)
		if i == 0 {
			q += " (most recent)"
		}
		quoted = append(quoted, q)
	}
	return fmt.Sprintf(`The version you specified in the "X-GitHub-API-Version" request header, %q, is not a supported version. The following versions are currently supported: %s.`,
		header, strings.Join(quoted, ", "))
}

// removedInAPIVersion2026 are the repository fields that version 2026-03-10
// removes (GitHub's x-github-breaking-changes of the repository schema;
// spec_test.go checks this list against the description).
var removedInAPIVersion2026 = []string{"has_downloads", "master_branch", "use_squash_pr_title_as_default"}

// shapeRepository removes from a repository object what the request's API
// version does not have.
func shapeRepository(m map[string]any, version string) {
	if version >= APIVersion2026 {
		for _, field := range removedInAPIVersion2026 {
			delete(m, field)
		}
	}
}
