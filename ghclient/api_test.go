package ghclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// bigRepository is shaped like GitHub's full repository object, about 6 KB.
func bigRepository(id int, name string) map[string]any {
	return map[string]any{
		"id": id, "node_id": "R_x", "name": name, "full_name": "octo/" + name, "private": true,
		"owner":       map[string]any{"login": "octo", "id": 1, "type": "Organization"},
		"description": strings.Repeat("d", 6000),
		"topics":      []string{"a", "b"},
	}
}

func TestCreateInstallationToken(t *testing.T) {
	reply, _ := json.Marshal(map[string]any{
		"token":                "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
		"expires_at":           "2026-03-01T13:00:00Z",
		"permissions":          map[string]string{"contents": "read", "metadata": "read"},
		"repository_selection": "selected",
		"repositories":         []any{bigRepository(1, "alpha"), bigRepository(2, "beta")},
	})
	h := newHarness(t, status(http.StatusCreated, string(reply)))

	got, err := h.client.CreateInstallationToken(context.Background(), 99, TokenRequest{
		Repositories: []string{"alpha", "beta"},
		Permissions:  map[string]string{"contents": "read"},
	})
	if err != nil {
		t.Fatal(err)
	}

	want := &InstallationToken{
		Token:               "ghs_16C7e42F292c6912E7710c838347Ae178B4a",
		ExpiresAt:           time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC),
		Permissions:         map[string]string{"contents": "read", "metadata": "read"},
		RepositorySelection: "selected",
		Repositories: []Repository{
			{ID: 1, Name: "alpha", FullName: "octo/alpha"},
			{ID: 2, Name: "beta", FullName: "octo/beta"},
		},
		ServerDate: t0.Truncate(time.Second), // GitHub's Date header
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("token = %+v\nwant    %+v", got, want)
	}

	r := h.seen()[0]
	if r.Method != http.MethodPost || r.RequestURI != "/app/installations/99/access_tokens" {
		t.Errorf("request = %s %s", r.Method, r.RequestURI)
	}
	if want := `{"repositories":["alpha","beta"],"permissions":{"contents":"read"}}`; r.Body != want {
		t.Errorf("body = %s, want %s", r.Body, want)
	}
}

func TestAPIErrors(t *testing.T) {
	const path = "/app/installations/42/access_tokens"
	for _, tc := range []struct {
		status   int
		message  string
		notFound bool
	}{
		{http.StatusUnprocessableEntity, "There is at least one repository that does not exist or is not accessible to the parent installation.", false},
		{http.StatusUnprocessableEntity, "The permissions requested are not granted to this installation.", false},
		{http.StatusForbidden, "This installation has been suspended", false},
		{http.StatusNotFound, "Not Found", true},
	} {
		t.Run(tc.message, func(t *testing.T) {
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { githubError(w, tc.status, tc.message) })
			_, err := h.client.CreateInstallationToken(context.Background(), 42, TokenRequest{})

			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			want := APIError{tc.status, tc.message, "https://docs.github.com/rest", http.MethodPost, path}
			if *apiErr != want {
				t.Errorf("APIError = %+v, want %+v", *apiErr, want)
			}
			if want := fmt.Sprintf("GitHub POST %s: %d %s", path, tc.status, tc.message); err.Error() != want {
				t.Errorf("Error() = %q, want %q", err, want)
			}
			if IsNotFound(err) != tc.notFound || IsUnauthorized(err) {
				t.Errorf("IsNotFound = %v, IsUnauthorized = %v", IsNotFound(err), IsUnauthorized(err))
			}
			if n := h.attempts(); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
			if jwt := h.lastCredential(t); strings.Contains(err.Error(), jwt) {
				t.Error("error contains the JWT")
			}
		})
	}
}

func TestErrorClassifiers(t *testing.T) {
	for _, tc := range []struct {
		status                                          int
		message                                         string
		notFound, unauthorized, keyMismatch, unknownApp bool
	}{
		{http.StatusUnauthorized, "A JSON web token could not be decoded", false, true, true, false},
		{http.StatusUnauthorized, "Bad credentials", false, true, false, false},
		{http.StatusNotFound, "Integration not found", true, false, false, true},
		{http.StatusNotFound, "Not Found", true, false, false, false},
	} {
		err := fmt.Errorf("wrapped: %w", &APIError{StatusCode: tc.status, Message: tc.message})
		if IsNotFound(err) != tc.notFound || IsUnauthorized(err) != tc.unauthorized ||
			IsKeyMismatch(err) != tc.keyMismatch || IsUnknownApp(err) != tc.unknownApp {
			t.Errorf("%d %q: IsNotFound %v, IsUnauthorized %v, IsKeyMismatch %v, IsUnknownApp %v", tc.status, tc.message,
				IsNotFound(err), IsUnauthorized(err), IsKeyMismatch(err), IsUnknownApp(err))
		}
	}
	if IsNotFound(errors.New("404")) {
		t.Error("IsNotFound matched a non-API error")
	}
}

func TestAPIErrorNonJSONBody(t *testing.T) {
	page := "  <html><body>" + strings.Repeat("Bad gateway. ", 1000) + "</body></html>"
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, page)
	})
	_, err := h.client.FindInstallationByOwner(context.Background(), "octo")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if !strings.HasPrefix(apiErr.Message, "<html><body>Bad gateway.") || len(apiErr.Message) > maxMessageBytes+len("…") {
		t.Errorf("message is not a trimmed, capped snippet: %q", apiErr.Message)
	}
}

// Even a server (or proxy) that echoes the credential must not get it into
// an error message.
func TestErrorsNeverContainCredentials(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		githubError(w, http.StatusBadRequest, "bad request with "+r.Header.Get("Authorization"))
	}
	h := newHarness(t, echo)
	_, err := h.client.FindInstallationByOwner(context.Background(), "octo")
	if err == nil || strings.Contains(err.Error(), h.lastCredential(t)) {
		t.Fatalf("error leaks the JWT or is nil: %v", err)
	}

	const token = "ghs_SECRETSECRETSECRETSECRET"
	err = h.client.RevokeInstallationToken(context.Background(), token)
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Fatalf("revoke error leaks the token or is nil: %v", err)
	}

	// JSON may spell the echoed token with escapes; what is decoded is
	// what must not hold it.
	h = newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		escaped := strings.Replace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), "_", `\u005f`, 1)
		writeJSON(w, http.StatusForbidden, `{"message":"denied for `+escaped+`"}`)
	})
	err = h.client.RevokeInstallationToken(context.Background(), token)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("revoke error leaks a JSON-escaped token or is nil: %v", err)
	}
}

func TestRevokeInstallationToken(t *testing.T) {
	for _, tc := range []struct {
		status       int
		wantErr      bool
		wantAttempts int
	}{
		{http.StatusNoContent, false, 1},
		{http.StatusUnauthorized, false, 1},
		{http.StatusNotFound, false, 1},
		{http.StatusInternalServerError, true, 4},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.status == http.StatusNoContent {
					w.WriteHeader(tc.status)
					return
				}
				githubError(w, tc.status, http.StatusText(tc.status))
			}, func(c *Config) { c.PrivateKey = nil }) // revoking needs no App key

			err := h.client.RevokeInstallationToken(context.Background(), "ghs_abc")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if n := h.attempts(); n != tc.wantAttempts {
				t.Errorf("%d attempts, want %d", n, tc.wantAttempts)
			}
			r := h.seen()[0]
			if r.Method != http.MethodDelete || r.RequestURI != "/installation/token" ||
				r.Header.Get("Authorization") != "Bearer ghs_abc" {
				t.Errorf("request = %s %s, Authorization %q", r.Method, r.RequestURI, r.Header.Get("Authorization"))
			}
		})
	}
}

// TryRevokeInstallationToken makes one attempt, whatever GitHub answers:
// no retry after a 5xx or a dropped connection, no wait for a rate limit.
func TestTryRevokeInstallationTokenAttemptsOnce(t *testing.T) {
	for name, answer := range map[string]http.HandlerFunc{
		"5xx":          status(http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`),
		"rate limited": rateLimited(http.StatusTooManyRequests, map[string]string{"Retry-After": "1"}),
		"dropped":      dropConnection(t),
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, answer, func(c *Config) { c.PrivateKey = nil })
			if err := h.client.TryRevokeInstallationToken(context.Background(), "ghs_abc"); err == nil {
				t.Fatal("a failed revocation reported success")
			}
			if n, slept := h.attempts(), h.slept(); n != 1 || len(slept) != 0 {
				t.Errorf("%d attempts, waits %v; want one attempt and no wait", n, slept)
			}
		})
	}
	h := newHarness(t, status(http.StatusNoContent, ""), func(c *Config) { c.PrivateKey = nil })
	if err := h.client.TryRevokeInstallationToken(context.Background(), "ghs_abc"); err != nil {
		t.Fatal(err)
	}
}

const installationJSON = `{"id":7,"app_id":42,"account":{"login":"Octo","id":9,"type":"Organization"},
	"target_type":"Organization","repository_selection":"all","permissions":{"contents":"write"},
	"suspended_at":"2026-02-01T00:00:00Z","created_at":"2025-01-01T00:00:00Z"}`

// An installation decodes with every field the plugin shows.
func TestInstallationFields(t *testing.T) {
	h := newHarness(t, status(http.StatusOK, installationJSON))
	got, err := h.client.FindInstallationByOwner(context.Background(), "octo")
	if err != nil {
		t.Fatal(err)
	}
	suspended := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if got.ID != 7 || got.AppID != 42 || got.Account != (Account{Login: "Octo", ID: 9, Type: "Organization"}) ||
		got.TargetType != "Organization" || got.RepositorySelection != "all" ||
		got.Permissions["contents"] != "write" || got.SuspendedAt == nil || !got.SuspendedAt.Equal(suspended) {
		t.Errorf("installation = %+v", got)
	}
}

func TestFindInstallationByOwner(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/orgs/") {
			githubError(w, http.StatusNotFound, "Not Found")
			return
		}
		writeJSON(w, http.StatusOK, installationJSON)
	})
	got, err := h.client.FindInstallationByOwner(context.Background(), "a b/../c")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != 7 {
		t.Errorf("installation ID = %d, want 7", got.ID)
	}
	reqs := h.seen()
	if len(reqs) != 2 || reqs[0].RequestURI != "/orgs/a%20b%2F..%2Fc/installation" ||
		reqs[1].RequestURI != "/users/a%20b%2F..%2Fc/installation" {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestFindInstallationByOwnerNotInstalled(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) { githubError(w, http.StatusNotFound, "Not Found") })
	if _, err := h.client.FindInstallationByOwner(context.Background(), "octo"); !IsNotFound(err) {
		t.Fatalf("err = %v, want not found", err)
	}
}

// paginated serves total installations, 100 a page, linking pages the way
// GitHub does, with links rooted at linkBase(r).
func paginated(total int, linkBase func(r *http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		if r.URL.Query().Get("per_page") != "100" {
			http.Error(w, "per_page must be 100", http.StatusBadRequest)
			return
		}
		last := (total + 99) / 100
		var items []Installation
		for id := (page-1)*100 + 1; id <= min(page*100, total); id++ {
			items = append(items, Installation{ID: int64(id)})
		}
		if page < last {
			link := linkBase(r) + r.URL.Path + "?per_page=100&page="
			w.Header().Set("Link", fmt.Sprintf(`<%s%d>; rel="next", <%s%d>; rel="last"`, link, page+1, link, last))
		}
		b, _ := json.Marshal(items)
		writeJSON(w, http.StatusOK, string(b))
	}
}

func sameServer(r *http.Request) string { return "http://" + r.Host }

func TestListInstallations(t *testing.T) {
	for _, suffix := range []string{"", "/api/v3"} {
		t.Run("base"+suffix, func(t *testing.T) {
			h := newHarness(t, paginated(250, sameServer), func(c *Config) { c.BaseURL += suffix })
			got, err := h.client.ListInstallations(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 250 {
				t.Fatalf("%d installations, want 250", len(got))
			}
			for i, inst := range got {
				if inst.ID != int64(i+1) {
					t.Fatalf("installation %d has ID %d", i, inst.ID)
				}
			}
			reqs := h.seen()
			if len(reqs) != 3 || reqs[2].RequestURI != suffix+"/app/installations?per_page=100&page=3" {
				t.Errorf("requests = %+v", reqs)
			}
		})
	}
}

func TestListInstallationsRefusesForeignLinks(t *testing.T) {
	var foreignHits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreignHits.Add(1) }))
	defer foreign.Close()

	for name, linkBase := range map[string]func(*http.Request) string{
		"other host":   func(*http.Request) string { return foreign.URL },
		"other scheme": func(r *http.Request) string { return "https://" + r.Host },
		"other port":   func(r *http.Request) string { return "http://" + strings.Split(r.Host, ":")[0] },
		"other host, trailing dot": func(r *http.Request) string {
			_, port, _ := net.SplitHostPort(r.Host)
			return "http://localhost.:" + port
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, paginated(250, linkBase))
			_, err := h.client.ListInstallations(context.Background())
			if err == nil || !strings.Contains(err.Error(), "refusing") {
				t.Fatalf("err = %v, want a refusal", err)
			}
			if n := h.attempts(); n != 1 {
				t.Errorf("%d requests to the API host, want 1", n)
			}
		})
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("the foreign host got %d requests", n)
	}
}

func TestListInstallationsBounded(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<`+sameServer(r)+`/app/installations?per_page=100&page=2>; rel="next"`)
		writeJSON(w, http.StatusOK, `[{"id":1}]`)
	})
	if _, err := h.client.ListInstallations(context.Background()); err == nil {
		t.Fatal("endless pagination did not fail")
	}
	if n := h.attempts(); n != maxInstallationPages {
		t.Errorf("%d requests, want %d", n, maxInstallationPages)
	}
}

func TestNextLink(t *testing.T) {
	for header, want := range map[string]string{
		`<https://api.github.com/app/installations?page=2>; rel="next", <https://api.github.com/app/installations?page=3>; rel="last"`: "https://api.github.com/app/installations?page=2",
		`<https://x/?page=1>; rel="prev", <https://x/?page=3>; rel="next"`:                                                             "https://x/?page=3",
		`<https://x/?page=1>; rel="first"`:     "",
		`<https://x/?page=4>; rel="last next"`: "https://x/?page=4",
		`https://x/?page=2; rel="next"`:        "",
		``:                                     "",
	} {
		if got := linkTarget([]string{header}, "next"); got != want {
			t.Errorf("linkTarget(%q, next) = %q, want %q", header, got, want)
		}
	}
}

// Listing an installation's repositories authenticates every page with the
// installation token, not the App's JWT.
func TestListInstallationRepositories(t *testing.T) {
	h := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		var repos []map[string]any
		for i := (page-1)*100 + 1; i <= min(page*100, 250); i++ {
			repos = append(repos, bigRepository(i, fmt.Sprintf("repo-%d", i)))
		}
		if page < 3 {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/installation/repositories?per_page=100&page=%d>; rel="next"`, r.Host, page+1))
		}
		b, _ := json.Marshal(map[string]any{"total_count": 250, "repositories": repos})
		writeJSON(w, http.StatusOK, string(b))
	})
	got, err := h.client.ListInstallationRepositories(context.Background(), "ghs_list")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 250 || got[249].Name != "repo-250" || got[249].ID != 250 {
		t.Fatalf("%d repositories, last %+v", len(got), got[len(got)-1])
	}
	for _, r := range h.seen() {
		if auth := r.Header.Get("Authorization"); auth != "Bearer ghs_list" {
			t.Fatalf("%s sent with Authorization %.12q…; want the installation token", r.RequestURI, auth)
		}
	}
	if n := h.attempts(); n != 3 {
		t.Fatalf("%d requests, want 3 pages", n)
	}
}
