// Package bulk adds a large installation to the emulator for benchmarks:
// GitHub lets one token name up to 500 repositories, and the cost of such a
// token (a reply of several MiB) can only be measured against an
// installation that has that many.
package bulk

import (
	"fmt"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

const (
	// Owner is the organisation the bulk installation is on.
	Owner = "bulk"
	// InstallationID is clear of the sample's installations (1001–1003).
	InstallationID int64 = 1100
	// firstRepoID keeps bulk repository IDs clear of the sample's (2001–2201).
	firstRepoID = 100_000
)

// RepoName is the name of the i-th bulk repository (from 1), so that
// scripts can name them without asking the emulator.
func RepoName(i int) string { return fmt.Sprintf("repo-%04d", i) }

// Install installs appID on organisation Owner with n selected private
// repositories named RepoName(1)…RepoName(n), and returns their names. The
// sample fixture is left as it is: a separate installation keeps tests that
// rely on the sample's exact repositories valid.
func Install(s *ghemu.Server, appID int64, n int) []string {
	names := make([]string, n)
	ids := make([]int64, n)
	for i := range n {
		names[i], ids[i] = RepoName(i+1), int64(firstRepoID+i)
		s.AddRepository(ghemu.Repository{ID: ids[i], Owner: Owner, Name: names[i], Private: true})
	}
	s.AddInstallation(ghemu.Installation{
		ID:                  InstallationID,
		AppID:               appID,
		Account:             ghemu.Account{Login: Owner, ID: 5100, Type: ghemu.AccountOrganization},
		RepositorySelection: ghemu.SelectionSelected,
		RepositoryIDs:       ids,
		Permissions:         map[string]string{"contents": "read", "metadata": "read"},
	})
	return names
}
