package ghemu

import (
	"cmp"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// App is a registered GitHub App. Its PublicKey verifies the JWTs the App signs.
type App struct {
	ID          int64
	ClientID    string // "Iv1.…"; GitHub accepts it as the JWT issuer
	Slug        string
	Name        string
	PublicKey   *rsa.PublicKey
	Permissions map[string]string // what the App asks installers for
	Owner       Account           // optional; shown as the App's owner
}

// Account is the user, organisation or enterprise an App is installed on.
type Account struct {
	Login string // an enterprise's slug
	ID    int64
	Type  string // AccountOrganization, AccountUser or AccountEnterprise
}

// Account types, as GitHub spells them (an installation's target_type).
const (
	AccountOrganization = "Organization"
	AccountUser         = "User"
	AccountEnterprise   = "Enterprise"
)

// Repository selections, as GitHub spells them.
const (
	SelectionAll      = "all"
	SelectionSelected = "selected"
)

// Installation is an App installed on an account.
type Installation struct {
	ID                  int64
	AppID               int64
	Account             Account
	RepositorySelection string  // SelectionAll or SelectionSelected
	RepositoryIDs       []int64 // the selected repositories; ignored for SelectionAll
	Permissions         map[string]string
	Suspended           bool
}

// Repository is a repository owned by an account.
type Repository struct {
	ID      int64
	Owner   string // account login
	Name    string
	Private bool
}

// app is the stored form of an App.
type app struct {
	App
	created time.Time
}

// installation is the stored form of an Installation.
type installation struct {
	Installation
	selected    map[int64]bool
	created     time.Time
	suspendedAt time.Time // zero unless suspended
}

// repository is the stored form of a Repository.
type repository struct {
	Repository
	created  time.Time
	rendered sync.Map // renderKey → json.RawMessage; see repoJSON
}

// checkPermissions panics when a fixture uses a permission or level outside
// GitHub's schema: that is a bug in the test, not a condition to emulate.
func checkPermissions(owner string, perms map[string]string) {
	for name, level := range perms {
		if levels, _ := ghclient.PermissionLevels(name); !slices.Contains(levels, level) {
			panic(fmt.Sprintf("ghemu: %s: permission %s:%s is not in GitHub's schema", owner, name, level))
		}
	}
}

// checkEnterpriseInstallation panics unless an installation on an
// enterprise is as GitHub makes them: enterprise permissions only, and no
// repositories ("selected", of none).
func checkEnterpriseInstallation(owner string, in Installation) {
	for name := range in.Permissions {
		if !strings.HasPrefix(name, "enterprise_") {
			panic(fmt.Sprintf("ghemu: %s: an enterprise installation has enterprise permissions only, not %s", owner, name))
		}
	}
	if in.RepositorySelection != SelectionSelected || len(in.RepositoryIDs) > 0 {
		panic(fmt.Sprintf("ghemu: %s: an enterprise installation has repository selection %q and no repositories", owner, SelectionSelected))
	}
}

// AddApp registers an App, replacing any with the same ID.
func (s *Server) AddApp(a App) {
	if a.PublicKey == nil {
		panic(fmt.Sprintf("ghemu: app %d has no public key", a.ID))
	}
	checkPermissions(fmt.Sprintf("app %d", a.ID), a.Permissions)
	a.Permissions = cloneMap(a.Permissions)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[a.ID] = &app{App: a, created: s.now()}
}

// AddInstallation registers an installation, replacing any with the same ID.
func (s *Server) AddInstallation(in Installation) {
	owner := fmt.Sprintf("installation %d", in.ID)
	checkPermissions(owner, in.Permissions)
	if in.Account.Type != AccountOrganization && in.Account.Type != AccountUser && in.Account.Type != AccountEnterprise {
		panic(fmt.Sprintf("ghemu: %s: account type %q", owner, in.Account.Type))
	}
	if in.RepositorySelection != SelectionAll && in.RepositorySelection != SelectionSelected {
		panic(fmt.Sprintf("ghemu: %s: repository selection %q", owner, in.RepositorySelection))
	}
	if in.Account.Type == AccountEnterprise {
		checkEnterpriseInstallation(owner, in)
	}
	in.Permissions = cloneMap(in.Permissions)
	in.RepositoryIDs = slices.Clone(in.RepositoryIDs)
	st := &installation{Installation: in, selected: map[int64]bool{}}
	for _, id := range in.RepositoryIDs {
		st.selected[id] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.created = s.now()
	if in.Suspended {
		st.suspendedAt = st.created
	}
	s.installations[in.ID] = st
	s.accounts[strings.ToLower(in.Account.Login)] = in.Account
}

// AddRepository registers a repository, replacing any with the same ID.
func (s *Server) AddRepository(r Repository) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[r.ID] = &repository{Repository: r, created: s.now()}
}

// SelectRepositories adds repositories to an installation on selected
// repositories, as its owner would in the App's settings.
func (s *Server) SelectRepositories(installationID int64, repoIDs ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installations[installationID]
	if !ok {
		panic(fmt.Sprintf("ghemu: no installation %d", installationID))
	}
	for _, id := range repoIDs {
		in.selected[id] = true
		in.RepositoryIDs = append(in.RepositoryIDs, id)
	}
}

// RemoveRepository deletes a repository: from then on, naming it in a mint
// request is a 422, as on GitHub.
func (s *Server) RemoveRepository(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.repos, id)
}

// SetInstallationSuspended suspends or unsuspends an installation. Its
// tokens survive but are refused while it is suspended.
func (s *Server) SetInstallationSuspended(id int64, suspended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installations[id]
	if !ok {
		panic(fmt.Sprintf("ghemu: no installation %d", id))
	}
	in.Suspended = suspended
	in.suspendedAt = time.Time{}
	if suspended {
		in.suspendedAt = s.now()
	}
}

// RemoveInstallation uninstalls the App; like GitHub, this revokes every
// token minted for the installation.
func (s *Server) RemoveInstallation(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.installations, id)
	for _, t := range s.tokens {
		if t.installationID == id {
			t.revoked = true
		}
	}
}

// appByIssuer finds the App a JWT's iss names: an App ID or a Client ID.
// The caller holds s.mu.
func (s *Server) appByIssuer(id int64, clientID string) *app {
	if clientID == "" {
		return s.apps[id]
	}
	for _, a := range s.apps {
		if a.ClientID == clientID {
			return a
		}
	}
	return nil
}

// appInstallations lists an App's installations by ID. The caller holds s.mu.
func (s *Server) appInstallations(appID int64) []*installation {
	var out []*installation
	for _, in := range s.installations {
		if in.AppID == appID {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b *installation) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// accessibleRepos lists, by ID, the repositories an installation can reach:
// every repository of its account, or only the selected ones. The caller
// holds s.mu.
func (s *Server) accessibleRepos(in *installation) []*repository {
	var out []*repository
	for _, r := range s.repos {
		if strings.EqualFold(r.Owner, in.Account.Login) &&
			(in.RepositorySelection == SelectionAll || in.selected[r.ID]) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *repository) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// account returns the account with a login, as recorded by AddInstallation.
// The caller holds s.mu.
func (s *Server) account(login string) Account {
	if a, ok := s.accounts[strings.ToLower(login)]; ok {
		return a
	}
	return Account{Login: login, Type: AccountUser}
}

// cloneMap copies a map, never returning nil so replies show {} not null.
func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
