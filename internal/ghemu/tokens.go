package ghemu

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// TokenInfo is the scope of a minted installation token.
type TokenInfo struct {
	AppID               int64  `json:"app_id"`
	InstallationID      int64  `json:"installation_id"`
	RepositorySelection string `json:"repository_selection"` // as the mint reply said
	// RepositoriesNamed is true when the token was narrowed to named
	// repositories; otherwise it follows the installation's access.
	RepositoriesNamed bool `json:"repositories_named"`
	// RepositoryIDs and RepositoryNames (without owner) list, by ID, what
	// the token can reach now.
	RepositoryIDs   []int64           `json:"repository_ids"`
	RepositoryNames []string          `json:"repository_names"`
	Permissions     map[string]string `json:"permissions"`
	ExpiresAt       time.Time         `json:"expires_at"`
	MintedAt        time.Time         `json:"minted_at"` // by the emulator clock
	Revoked         bool              `json:"revoked"`
	Expired         bool              `json:"expired"` // by the emulator clock
}

// tokenLifetime is how long GitHub's installation tokens live.
const tokenLifetime = time.Hour

// GitHub's replies to bad mint requests and bad tokens (see the facts sheet).
var (
	errBadJSON        = &apiError{http.StatusBadRequest, "Problems parsing JSON"}
	errInvalidRequest = &apiError{http.StatusUnprocessableEntity, "Invalid request."}
	errSuspended      = &apiError{http.StatusForbidden, "This installation has been suspended"}
	errTooManyRepos   = &apiError{http.StatusUnprocessableEntity, "Too many repositories were requested. The maximum is 500."}
	errRepoAccess     = &apiError{http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation."}
	errBadLevel       = &apiError{http.StatusUnprocessableEntity, `There is at least one permission action that is not supported. It should be one of: "read", "write" or "admin".`}
	errNotGranted     = &apiError{http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation."}
	errBadCredentials = &apiError{http.StatusUnauthorized, "Bad credentials"}
)

// token is a minted installation token.
type token struct {
	value          string
	appID          int64
	installationID int64
	repoIDs        []int64 // named when minting; nil follows the installation
	selection      string
	permissions    map[string]string
	expiresAt      time.Time
	mintedAt       time.Time
	revoked        bool
}

// mintRequest is the body of POST /app/installations/{id}/access_tokens.
type mintRequest struct {
	Repositories  []string          `json:"repositories"`
	RepositoryIDs []int64           `json:"repository_ids"`
	Permissions   map[string]string `json:"permissions"`
}

// parseMintRequest reads the optional body: bad JSON is a 400, JSON of the
// wrong shape a 422, as GitHub's schema validation answers.
func parseMintRequest(body []byte) (mintRequest, *apiError) {
	var req mintRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, nil
	}
	if err := json.Unmarshal(body, &req); err != nil {
		if syn := (*json.SyntaxError)(nil); errors.As(err, &syn) {
			return req, errBadJSON
		}
		return req, errInvalidRequest
	}
	return req, nil
}

// StatelessTokenHeader, sent with a mint request, asks for a token format
// while GitHub rolls the stateless one out: "enabled" for ghs_<app id>_<JWT>,
// "disabled" for the classic ghs_ and 36 alphanumerics. Without it, the
// emulator mints the format SetTokenFormat chose.
const StatelessTokenHeader = "X-GitHub-Stateless-S2S-Token"

// mint creates an installation token for an App and returns GitHub's reply.
// stateless is the request's StatelessTokenHeader.
func (s *Server) mint(appID, installationID int64, body []byte, u urls, stateless string) (*mintBody, *apiError) {
	req, bodyErr := parseMintRequest(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.installations[installationID]
	if in == nil || in.AppID != appID {
		return nil, errNotFound
	}
	if in.Suspended {
		return nil, errSuspended
	}
	if bodyErr != nil {
		return nil, bodyErr
	}
	if len(req.Repositories)+len(req.RepositoryIDs) > ghclient.MaxTokenRepositories {
		return nil, errTooManyRepos
	}
	repos, err := s.namedRepos(in, req)
	if err != nil {
		return nil, err
	}
	perms, err := requestedPermissions(in.Permissions, req.Permissions)
	if err != nil {
		return nil, err
	}

	now := s.now()
	t := &token{
		appID:          appID,
		installationID: installationID,
		selection:      in.RepositorySelection,
		permissions:    perms,
		expiresAt:      now.Add(tokenLifetime).Truncate(time.Second),
		mintedAt:       now,
	}
	if repos != nil {
		t.selection = SelectionSelected
		for _, r := range repos {
			t.repoIDs = append(t.repoIDs, r.ID)
		}
	}
	long := s.longTokens
	switch stateless {
	case "enabled":
		long = true
	case "disabled":
		long = false
	}
	t.value = s.newTokenValue(appID, installationID, t.expiresAt, long)
	s.tokens[t.value] = t

	reply := mintBody{
		Token:               t.value,
		ExpiresAt:           timestamp(t.expiresAt),
		Permissions:         perms,
		RepositorySelection: t.selection,
	}
	if repos != nil {
		reply.Repositories = make([]json.RawMessage, len(repos))
		for i, r := range repos {
			reply.Repositories[i] = s.repoJSON(u, r)
		}
	}
	return &reply, nil
}

// mintBody is a mint's 201 body, its fields in GitHub's order: the token
// comes first, so a reply cut short still carries it.
type mintBody struct {
	Token               string            `json:"token"`
	ExpiresAt           string            `json:"expires_at"`
	Permissions         map[string]string `json:"permissions"`
	RepositorySelection string            `json:"repository_selection"`
	Repositories        []json.RawMessage `json:"repositories,omitempty"` // from repoJSON
}

// namedRepos resolves the repositories a mint request names, by name
// (case-insensitive) or ID, among those the installation can reach. It
// returns nil when none are named. The caller holds s.mu.
func (s *Server) namedRepos(in *installation, req mintRequest) ([]*repository, *apiError) {
	if len(req.Repositories) == 0 && len(req.RepositoryIDs) == 0 {
		return nil, nil
	}
	byName := map[string]*repository{}
	byID := map[int64]*repository{}
	for _, r := range s.accessibleRepos(in) {
		byName[strings.ToLower(r.Name)] = r
		byID[r.ID] = r
	}
	picked := map[int64]*repository{}
	for _, name := range req.Repositories {
		r, ok := byName[strings.ToLower(name)]
		if !ok {
			return nil, errRepoAccess
		}
		picked[r.ID] = r
	}
	for _, id := range req.RepositoryIDs {
		r, ok := byID[id]
		if !ok {
			return nil, errRepoAccess
		}
		picked[id] = r
	}
	out := make([]*repository, 0, len(picked))
	for _, r := range picked {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *repository) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// requestedPermissions checks a request against the installation's grant.
// No request means everything granted.
func requestedPermissions(granted, requested map[string]string) (map[string]string, *apiError) {
	if len(requested) == 0 {
		return cloneMap(granted), nil
	}
	for _, level := range requested {
		if !ghclient.IsLevel(level) {
			return nil, errBadLevel
		}
	}
	for name, level := range requested {
		if !ghclient.LevelCovers(granted[name], level) {
			return nil, errNotGranted
		}
	}
	return cloneMap(requested), nil
}

// liveToken finds a usable token. The caller holds s.mu.
func (s *Server) liveToken(value string) (*token, *installation, *apiError) {
	t := s.tokens[value]
	if t == nil || t.revoked || !s.now().Before(t.expiresAt) {
		return nil, nil, errBadCredentials
	}
	in := s.installations[t.installationID]
	if in == nil {
		return nil, nil, errBadCredentials
	}
	if in.Suspended {
		return nil, nil, errSuspended
	}
	return t, in, nil
}

// tokenRepos lists, by ID, the repositories a token can reach now: the
// named ones still in the installation, or all the installation reaches.
// The caller holds s.mu.
func (s *Server) tokenRepos(t *token, in *installation) []*repository {
	repos := s.accessibleRepos(in)
	if t.repoIDs == nil {
		return repos
	}
	return slices.DeleteFunc(repos, func(r *repository) bool { return !slices.Contains(t.repoIDs, r.ID) })
}

// Token returns the scope of a minted token.
func (s *Server) Token(value string) (TokenInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tokens[value]
	if t == nil {
		return TokenInfo{}, false
	}
	info := TokenInfo{
		AppID:               t.appID,
		InstallationID:      t.installationID,
		RepositorySelection: t.selection,
		RepositoriesNamed:   t.repoIDs != nil,
		RepositoryIDs:       []int64{},
		RepositoryNames:     []string{},
		Permissions:         cloneMap(t.permissions),
		ExpiresAt:           t.expiresAt,
		MintedAt:            t.mintedAt,
		Revoked:             t.revoked,
		Expired:             !s.now().Before(t.expiresAt),
	}
	if in := s.installations[t.installationID]; in != nil {
		for _, r := range s.tokenRepos(t, in) {
			info.RepositoryIDs = append(info.RepositoryIDs, r.ID)
			info.RepositoryNames = append(info.RepositoryNames, r.Name)
		}
	}
	return info, true
}

// LiveTokens counts tokens minted, not revoked and not expired.
func (s *Server) LiveTokens() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := s.now()
	n := 0
	for _, t := range s.tokens {
		if !t.revoked && now.Before(t.expiresAt) {
			n++
		}
	}
	return n
}

// TokenValues lists every token minted, revoked and expired ones too, so
// that a test can find tokens it was never handed.
func (s *Server) TokenValues() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Sorted(maps.Keys(s.tokens))
}

// SetTokenFormat selects the token format of mint requests that do not
// name one with StatelessTokenHeader: long=true emits GitHub's newer
// stateless format, ghs_<app id>_<JWT-like string with dots> of about 520
// characters; false (the default) the classic ghs_ and 36 alphanumerics.
// Clients must treat both as opaque.
func (s *Server) SetTokenFormat(long bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.longTokens = long
}

// newTokenValue returns an unused token value. The caller holds s.mu.
func (s *Server) newTokenValue(appID, installationID int64, exp time.Time, long bool) string {
	for {
		v := "ghs_" + randomAlnum(36)
		if long {
			v = longToken(appID, installationID, exp)
		}
		if s.tokens[v] == nil {
			return v
		}
	}
}

// longToken imitates the stateless format: the shape (prefix, app ID,
// three base64url segments, length) matters, not the content.
func longToken(appID, installationID int64, exp time.Time) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"ghs-1"}`))
	payload := enc.EncodeToString(fmt.Appendf(nil,
		`{"iss":"github","sub":"installation:%d","exp":%d,"jti":"%s"}`, installationID, exp.Unix(), randomAlnum(24)))
	sig := make([]byte, 256)
	rand.Read(sig)
	return fmt.Sprintf("ghs_%d_%s.%s.%s", appID, header, payload, enc.EncodeToString(sig))
}

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum returns n uniformly random alphanumerics.
func randomAlnum(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(buf)
		for _, b := range buf {
			// Rejecting the top 8 byte values keeps the choice uniform.
			if int(b) < 4*len(alphanumerics) && len(out) < n {
				out = append(out, alphanumerics[int(b)%len(alphanumerics)])
			}
		}
	}
	return string(out)
}
