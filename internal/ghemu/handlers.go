package ghemu

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// routes maps GitHub's paths (without any /api/v3 prefix) to handlers.
// Anything else, including a known path with the wrong method, is a 404 as
// on GitHub.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	route := func(pattern string, h http.HandlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			exchangeOf(r).rec.Route = r.Pattern
			h(w, r)
		})
	}
	route("GET /app", s.withApp(s.getApp))
	route("GET /app/installations", s.withApp(s.listInstallations))
	route("GET /app/installations/{installation_id}", s.withApp(s.getInstallation))
	route("POST /app/installations/{installation_id}/access_tokens", s.withApp(s.createToken))
	route("GET /orgs/{org}/installation", s.withApp(s.orgInstallation))
	route("GET /users/{username}/installation", s.withApp(s.userInstallation))
	route("GET /repos/{owner}/{repo}/installation", s.withApp(s.repoInstallation))
	route("GET /enterprises/{enterprise}/installation", s.withApp(s.enterpriseInstallation))
	route("GET /installation/repositories", s.withToken(s.listTokenRepos))
	route("DELETE /installation/token", s.withToken(s.revokeToken))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeAPIError(w, errNotFound) })
	return mux
}

type appHandler func(w http.ResponseWriter, r *http.Request, a *app)

// withApp authenticates the App by its JWT, sent as a Bearer credential.
func (s *Server) withApp(h appHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, raw := credential(r)
		if scheme != "bearer" || raw == "" {
			writeAPIError(w, errJWTDecode)
			return
		}
		a, claims, err := s.verifyJWT(raw)
		exchangeOf(r).rec.JWT = claims
		if err != nil {
			writeAPIError(w, err)
			return
		}
		h(w, r, a)
	}
}

type tokenHandler func(w http.ResponseWriter, r *http.Request, token string)

// withToken extracts an installation token sent as "Bearer" or "token".
// The handler validates it under its own lock.
func (s *Server) withToken(h tokenHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scheme, value := credential(r)
		switch {
		case scheme == "" && value == "":
			writeError(w, http.StatusUnauthorized, "Requires authentication")
		case (scheme == "bearer" || scheme == "token") && value != "":
			h(w, r, value)
		default:
			writeAPIError(w, errBadCredentials)
		}
	}
}

func (s *Server) getApp(w http.ResponseWriter, r *http.Request, a *app) {
	s.mu.RLock()
	body := s.appJSON(exchangeOf(r).urls, a)
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) listInstallations(w http.ResponseWriter, r *http.Request, a *app) {
	s.mu.RLock()
	page := paginate(w, r, s.appInstallations(a.ID))
	body := make([]map[string]any, len(page))
	for i, in := range page {
		body[i] = s.installationJSON(exchangeOf(r).urls, in)
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, body)
}

// findInstallation replies with the App's first installation that match
// accepts, or 404. match runs with s.mu held.
func (s *Server) findInstallation(w http.ResponseWriter, r *http.Request, a *app, match func(*installation) bool) {
	s.mu.RLock()
	var body map[string]any
	for _, in := range s.appInstallations(a.ID) {
		if match(in) {
			body = s.installationJSON(exchangeOf(r).urls, in)
			break
		}
	}
	s.mu.RUnlock()
	if body == nil {
		writeAPIError(w, errNotFound)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) getInstallation(w http.ResponseWriter, r *http.Request, a *app) {
	id, err := strconv.ParseInt(r.PathValue("installation_id"), 10, 64)
	if err != nil {
		writeAPIError(w, errNotFound)
		return
	}
	s.findInstallation(w, r, a, func(in *installation) bool { return in.ID == id })
}

// orgInstallation only finds organisations: a user's login is a 404 here.
func (s *Server) orgInstallation(w http.ResponseWriter, r *http.Request, a *app) {
	org := r.PathValue("org")
	s.findInstallation(w, r, a, func(in *installation) bool {
		return in.Account.Type == AccountOrganization && strings.EqualFold(in.Account.Login, org)
	})
}

// userInstallation finds users and, as on GitHub, organisations too.
func (s *Server) userInstallation(w http.ResponseWriter, r *http.Request, a *app) {
	user := r.PathValue("username")
	s.findInstallation(w, r, a, func(in *installation) bool {
		return in.Account.Type != AccountEnterprise && strings.EqualFold(in.Account.Login, user)
	})
}

// enterpriseInstallation finds an installation on an enterprise by its
// slug. GitHub Enterprise Server's descriptions have no such route.
func (s *Server) enterpriseInstallation(w http.ResponseWriter, r *http.Request, a *app) {
	if strings.HasSuffix(exchangeOf(r).urls.api, ghesPrefix) {
		writeAPIError(w, errNotFound)
		return
	}
	slug := r.PathValue("enterprise")
	s.findInstallation(w, r, a, func(in *installation) bool {
		return in.Account.Type == AccountEnterprise && strings.EqualFold(in.Account.Login, slug)
	})
}

// repoInstallation finds the installation that can reach the repository; a
// repository outside a selected installation is a 404.
func (s *Server) repoInstallation(w http.ResponseWriter, r *http.Request, a *app) {
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	s.findInstallation(w, r, a, func(in *installation) bool {
		if in.Account.Type == AccountEnterprise || !strings.EqualFold(in.Account.Login, owner) {
			return false
		}
		for _, repo := range s.accessibleRepos(in) {
			if strings.EqualFold(repo.Name, name) {
				return true
			}
		}
		return false
	})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, a *app) {
	id, err := strconv.ParseInt(r.PathValue("installation_id"), 10, 64)
	if err != nil {
		writeAPIError(w, errNotFound)
		return
	}
	x := exchangeOf(r)
	reply, apiErr := s.mint(a.ID, id, x.rec.Body, x.urls, r.Header.Get(StatelessTokenHeader))
	answer(w, http.StatusCreated, reply, apiErr)
}

func (s *Server) listTokenRepos(w http.ResponseWriter, r *http.Request, value string) {
	s.mu.RLock()
	t, in, err := s.liveToken(value)
	var body withRepositories
	if err == nil {
		repos := s.tokenRepos(t, in)
		page := paginate(w, r, repos)
		objs := make([]json.RawMessage, len(page))
		for i, repo := range page {
			objs[i] = s.repoJSON(exchangeOf(r).urls, repo)
		}
		body = withRepositories{fields: map[string]any{
			"total_count":          len(repos),
			"repository_selection": t.selection,
		}, repos: objs}
	}
	s.mu.RUnlock()
	answer(w, http.StatusOK, body, err)
}

func (s *Server) revokeToken(w http.ResponseWriter, _ *http.Request, value string) {
	s.mu.Lock()
	t, _, err := s.liveToken(value)
	if err == nil {
		t.revoked = true
	}
	s.mu.Unlock()
	if err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
