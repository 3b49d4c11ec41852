package ghemu

import (
	"crypto/rsa"
	"fmt"
)

// Sample identifies the fixture SeedSample creates.
type Sample struct {
	AppID    int64  `json:"app_id"`
	ClientID string `json:"client_id"`
	AppSlug  string `json:"app_slug"`
	// OrgInstallationID is the installation on organisation "acme".
	OrgInstallationID int64 `json:"org_installation_id"`
	// UserInstallationID is the installation on user "octocat".
	UserInstallationID int64 `json:"user_installation_id"`
	// SuspendedInstallationID is the installation on organisation "frozen".
	SuspendedInstallationID int64 `json:"suspended_installation_id"`
	// Repositories maps "owner/name" to repository ID.
	Repositories map[string]int64 `json:"repositories"`
}

// RunInfo is where a running emulator listens and what it seeded: what the
// ghemu command writes with -info-out, for the programs that drive it.
type RunInfo struct {
	URL string `json:"url"`
	// TLSURL is the HTTPS listener's, with -tls-addr only.
	TLSURL string `json:"tls_url,omitempty"`
	Sample
	// Set with -bulk-repos only.
	BulkInstallationID int64    `json:"bulk_installation_id,omitempty"`
	BulkRepositories   []string `json:"bulk_repositories,omitempty"`
}

// SeedSample adds a realistic fixture:
//
//   - App "demo-app" (appID, clientID, pub), owned by acme.
//   - Organisation "acme": an installation with selected repositories api,
//     web, docs and infra, granted contents:write, metadata:read,
//     issues:write, pull_requests:write, actions:read and checks:write.
//     acme also owns "billing", which is not selected.
//   - User "octocat": an installation on all repositories (dotfiles, blog),
//     granted contents:read and metadata:read.
//   - Organisation "frozen": a suspended installation with repository
//     "archive".
func (s *Server) SeedSample(appID int64, clientID string, pub *rsa.PublicKey) Sample {
	acme := Account{Login: "acme", ID: 5001, Type: AccountOrganization}
	octocat := Account{Login: "octocat", ID: 5002, Type: AccountUser}
	frozen := Account{Login: "frozen", ID: 5003, Type: AccountOrganization}
	orgGrant := map[string]string{
		"contents": "write", "metadata": "read", "issues": "write",
		"pull_requests": "write", "actions": "read", "checks": "write",
	}
	userGrant := map[string]string{"contents": "read", "metadata": "read"}

	sample := Sample{
		AppID: appID, ClientID: clientID, AppSlug: "demo-app",
		OrgInstallationID: 1001, UserInstallationID: 1002, SuspendedInstallationID: 1003,
		Repositories: map[string]int64{},
	}
	s.AddApp(App{ID: appID, ClientID: clientID, Slug: "demo-app", Name: "Demo App",
		PublicKey: pub, Permissions: orgGrant, Owner: acme})

	var acmeSelected []int64
	for _, r := range []Repository{
		{ID: 2001, Owner: "acme", Name: "api", Private: true},
		{ID: 2002, Owner: "acme", Name: "web"},
		{ID: 2003, Owner: "acme", Name: "docs"},
		{ID: 2004, Owner: "acme", Name: "infra", Private: true},
		{ID: 2005, Owner: "acme", Name: "billing", Private: true},
		{ID: 2101, Owner: "octocat", Name: "dotfiles"},
		{ID: 2102, Owner: "octocat", Name: "blog"},
		{ID: 2201, Owner: "frozen", Name: "archive", Private: true},
	} {
		s.AddRepository(r)
		sample.Repositories[r.Owner+"/"+r.Name] = r.ID
		if r.Owner == "acme" && r.Name != "billing" {
			acmeSelected = append(acmeSelected, r.ID)
		}
	}

	s.AddInstallation(Installation{ID: sample.OrgInstallationID, AppID: appID, Account: acme,
		RepositorySelection: SelectionSelected, RepositoryIDs: acmeSelected, Permissions: orgGrant})
	s.AddInstallation(Installation{ID: sample.UserInstallationID, AppID: appID, Account: octocat,
		RepositorySelection: SelectionAll, Permissions: userGrant})
	s.AddInstallation(Installation{ID: sample.SuspendedInstallationID, AppID: appID, Account: frozen,
		RepositorySelection: SelectionAll, Permissions: userGrant, Suspended: true})
	return sample
}

// The bulk installation is for benchmarks: GitHub lets one token name up
// to 500 repositories, and the cost of such a token (a reply of several
// MiB) can only be measured against an installation that has that many.
const (
	// BulkOwner is the organisation the bulk installation is on.
	BulkOwner = "bulk"
	// BulkInstallationID is clear of the sample's installations (1001–1003).
	BulkInstallationID int64 = 1100
	// bulkFirstRepoID keeps bulk repository IDs clear of the sample's
	// (2001–2201).
	bulkFirstRepoID = 100_000
)

// BulkRepoName is the name of the i-th bulk repository (from 1), so that
// callers can name them without asking the emulator.
func BulkRepoName(i int) string { return fmt.Sprintf("repo-%04d", i) }

// SeedBulk installs appID on organisation BulkOwner with n selected private
// repositories named BulkRepoName(1)…BulkRepoName(n), and returns their
// names. The sample fixture is left as it is: a separate installation
// keeps tests that rely on the sample's exact repositories valid.
func (s *Server) SeedBulk(appID int64, n int) []string {
	names := make([]string, n)
	ids := make([]int64, n)
	for i := range n {
		names[i], ids[i] = BulkRepoName(i+1), int64(bulkFirstRepoID+i)
		s.AddRepository(Repository{ID: ids[i], Owner: BulkOwner, Name: names[i], Private: true})
	}
	s.AddInstallation(Installation{
		ID:                  BulkInstallationID,
		AppID:               appID,
		Account:             Account{Login: BulkOwner, ID: 5100, Type: AccountOrganization},
		RepositorySelection: SelectionSelected,
		RepositoryIDs:       ids,
		Permissions:         map[string]string{"contents": "read", "metadata": "read"},
	})
	return names
}
