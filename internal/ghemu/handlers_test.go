package ghemu

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// installationIDs decodes a list of installations to their IDs.
func installationIDs(t *testing.T, r reply) []int64 {
	t.Helper()
	var list []struct {
		ID int64 `json:"id"`
	}
	r.json(t, &list)
	ids := make([]int64, len(list))
	for i, in := range list {
		ids[i] = in.ID
	}
	return ids
}

func TestListInstallationsPagination(t *testing.T) {
	f := newFixture(t)
	for i := range 5 { // 3 from the sample + 5 = 8
		f.AddInstallation(Installation{ID: int64(1100 + i), AppID: testAppID,
			Account:             Account{Login: fmt.Sprintf("user%d", i), ID: int64(6000 + i), Type: AccountUser},
			RepositorySelection: SelectionAll, Permissions: map[string]string{"metadata": "read"}})
	}
	// Another App's installation must stay invisible.
	f.AddApp(App{ID: 77, ClientID: "Iv1.other", Slug: "other", PublicKey: &f.key.PublicKey})
	f.AddInstallation(Installation{ID: 7001, AppID: 77, Account: Account{Login: "elsewhere", ID: 9, Type: AccountUser},
		RepositorySelection: SelectionAll})

	base := f.URL() + "/app/installations"
	tests := []struct {
		query string
		want  []int64
		link  string
	}{
		{"?per_page=3", []int64{1001, 1002, 1003},
			`<` + base + `?page=2&per_page=3>; rel="next", <` + base + `?page=3&per_page=3>; rel="last"`},
		{"?per_page=3&page=2", []int64{1100, 1101, 1102},
			`<` + base + `?page=1&per_page=3>; rel="prev", <` + base + `?page=3&per_page=3>; rel="next", <` +
				base + `?page=3&per_page=3>; rel="last", <` + base + `?page=1&per_page=3>; rel="first"`},
		{"?per_page=3&page=3", []int64{1103, 1104},
			`<` + base + `?page=2&per_page=3>; rel="prev", <` + base + `?page=1&per_page=3>; rel="first"`},
		{"?per_page=1000", []int64{1001, 1002, 1003, 1100, 1101, 1102, 1103, 1104}, ""}, // capped at 100
		{"", []int64{1001, 1002, 1003, 1100, 1101, 1102, 1103, 1104}, ""},
	}
	for _, tc := range tests {
		r := f.do(t, http.MethodGet, "/app/installations"+tc.query, "Bearer "+f.appJWT(t), nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tc.query, r.status, r.body)
		}
		if got := installationIDs(t, r); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: ids %v, want %v", tc.query, got, tc.want)
		}
		if got := r.header.Get("Link"); got != tc.link {
			t.Errorf("%s: Link\n got %s\nwant %s", tc.query, got, tc.link)
		}
	}

	// The default page size is 30 and the maximum 100.
	for i := range 150 {
		f.AddInstallation(Installation{ID: int64(20000 + i), AppID: testAppID,
			Account:             Account{Login: "bulk" + strconv.Itoa(i), ID: int64(30000 + i), Type: AccountUser},
			RepositorySelection: SelectionAll})
	}
	for query, want := range map[string]int{"": 30, "?per_page=100": 100, "?per_page=500": 100, "?per_page=100&page=2": 58} {
		r := f.do(t, http.MethodGet, "/app/installations"+query, "Bearer "+f.appJWT(t), nil)
		if got := len(installationIDs(t, r)); got != want {
			t.Errorf("%q: %d installations, want %d", query, got, want)
		}
	}
}

func TestFindInstallation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		path   string
		wantID int64 // 0: 404
	}{
		{"/app/installations/1001", 1001},
		{"/app/installations/1003", 1003}, // suspended installations are still listed
		{"/app/installations/424242", 0},
		{"/app/installations/abc", 0},
		{"/orgs/acme/installation", 1001},
		{"/orgs/ACME/installation", 1001},
		{"/orgs/octocat/installation", 0}, // a user is not an organisation
		{"/orgs/nobody/installation", 0},
		{"/users/octocat/installation", 1002},
		{"/users/acme/installation", 1001}, // works for organisations too
		{"/repos/acme/api/installation", 1001},
		{"/repos/Octocat/Blog/installation", 1002},
		{"/repos/acme/billing/installation", 0}, // not selected
		{"/repos/acme/nope/installation", 0},
	}
	for _, tc := range tests {
		r := f.do(t, http.MethodGet, tc.path, "Bearer "+f.appJWT(t), nil)
		if tc.wantID == 0 {
			if r.status != http.StatusNotFound || r.message(t) != "Not Found" {
				t.Errorf("%s: status %d %s, want 404", tc.path, r.status, r.body)
			}
			continue
		}
		var in struct {
			ID      int64 `json:"id"`
			AppID   int64 `json:"app_id"`
			Account struct {
				Login string `json:"login"`
				Type  string `json:"type"`
			} `json:"account"`
			RepositorySelection string            `json:"repository_selection"`
			Permissions         map[string]string `json:"permissions"`
			SuspendedAt         *string           `json:"suspended_at"`
			AccessTokensURL     string            `json:"access_tokens_url"`
		}
		if r.status != http.StatusOK {
			t.Errorf("%s: status %d: %s", tc.path, r.status, r.body)
			continue
		}
		r.json(t, &in)
		if in.ID != tc.wantID || in.AppID != testAppID || in.Account.Login == "" || in.Permissions["metadata"] != "read" ||
			(in.SuspendedAt != nil) != (in.ID == f.sample.SuspendedInstallationID) ||
			in.AccessTokensURL != f.URL()+mintPath(in.ID) {
			t.Errorf("%s: %+v", tc.path, in)
		}
	}
}

func TestGitHubRequestRules(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		method, path string
		status       int
		message      string
	}{
		{http.MethodGet, "/nope", 404, "Not Found"},
		{http.MethodPost, "/app", 404, "Not Found"},                                   // wrong method
		{http.MethodGet, mintPath(f.sample.OrgInstallationID), 404, "Not Found"},      // wrong method
		{http.MethodGet, "/app/", 404, "Not Found"},                                   // no path cleaning
		{http.MethodPut, "/installation/token", 404, "Not Found"},                     // wrong method
		{http.MethodGet, "/app/installations/1001/access_tokens/x", 404, "Not Found"}, // unknown route
	}
	for _, tc := range tests {
		r := f.do(t, tc.method, tc.path, "Bearer "+f.appJWT(t), nil)
		if r.status != tc.status || r.message(t) != tc.message {
			t.Errorf("%s %s: status %d %s", tc.method, tc.path, r.status, r.body)
		}
	}

	// Without a User-Agent, GitHub refuses everything.
	req, _ := http.NewRequest(http.MethodGet, f.URL()+"/app", nil)
	req.Header.Set("User-Agent", "") // stops Go from sending its default
	req.Header.Set("Authorization", "Bearer "+f.appJWT(t))
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("no User-Agent: status %d", resp.StatusCode)
	}
	if last := f.Requests()[len(f.Requests())-1]; last.Status != http.StatusForbidden || last.Header.Get("User-Agent") != "" {
		t.Errorf("no User-Agent: recorded %+v", last)
	}

	// Every reply carries rate-limit headers and a Date.
	r := f.do(t, http.MethodGet, "/app", "Bearer "+f.appJWT(t), nil)
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Used", "X-RateLimit-Reset", "Date"} {
		if r.header.Get(h) == "" {
			t.Errorf("reply lacks %s", h)
		}
	}
	used, _ := strconv.Atoi(r.header.Get("X-RateLimit-Used"))
	remaining, _ := strconv.Atoi(r.header.Get("X-RateLimit-Remaining"))
	if used != len(tests)+2 || used+remaining != 5000 {
		t.Errorf("rate limit used %d remaining %d", used, remaining)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
	}
}

// GitHub's links name its host as it knows it, whatever the request's Host
// header says: without the scheme's default port, without a trailing dot.
func TestLinksNameTheHostWithoutDefaultPortOrTrailingDot(t *testing.T) {
	f := newFixture(t)
	for host, want := range map[string]string{
		"127.0.0.1:80":        "http://127.0.0.1",
		"ghe.example.com.:80": "http://ghe.example.com",
		"ghe.example.com.":    "http://ghe.example.com",
		"GHE.example.com:80":  "http://GHE.example.com",
		"127.0.0.1:8080":      "http://127.0.0.1:8080",
		"[::1]:80":            "http://[::1]",
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/v3/app/installations?per_page=1", nil)
		req.Host = host
		req.Header.Set("User-Agent", testUA)
		req.Header.Set("Authorization", "Bearer "+f.appJWT(t))
		w := httptest.NewRecorder()
		f.ServeHTTP(w, req)
		if link := w.Header().Get("Link"); !strings.HasPrefix(link, "<"+want+"/api/v3/app/installations?") {
			t.Errorf("Host %s: Link %s; want it rooted at %s/api/v3", host, link, want)
		}
	}
}

// An App installed on an enterprise is found by the enterprise's slug
// (case-insensitively), on github.com only, and by no user or organisation
// lookup.
func TestEnterpriseInstallation(t *testing.T) {
	f := newFixture(t)
	addEnterpriseInstallation(f.Server)
	jwt := "Bearer " + f.appJWT(t)
	r := f.do(t, http.MethodGet, "/enterprises/Octo-Business/installation", jwt, nil)
	var inst struct {
		ID         int64  `json:"id"`
		TargetType string `json:"target_type"`
		Account    struct {
			Slug string `json:"slug"`
		} `json:"account"`
	}
	r.json(t, &inst)
	if r.status != http.StatusOK || inst.ID != 1004 || inst.TargetType != AccountEnterprise || inst.Account.Slug != testEnterprise {
		t.Errorf("enterprise lookup: %d %s", r.status, r.body)
	}
	for _, p := range []string{"/api/v3/enterprises/" + testEnterprise + "/installation", "/users/" + testEnterprise + "/installation",
		"/orgs/" + testEnterprise + "/installation", "/enterprises/acme/installation"} {
		if r := f.do(t, http.MethodGet, p, jwt, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
	m := f.mint(t, 1004, map[string]any{"permissions": map[string]string{"enterprise_organization_installations": "read"}})
	if m.Permissions["enterprise_organization_installations"] != "read" || m.Repositories != nil {
		t.Errorf("enterprise token %+v", m)
	}
	defer func() {
		if recover() == nil {
			t.Error("an enterprise installation with a repository permission was accepted")
		}
	}()
	f.AddInstallation(Installation{ID: 1005, AppID: testAppID, Account: Account{Login: "e2", ID: 5005, Type: AccountEnterprise},
		RepositorySelection: SelectionSelected, Permissions: map[string]string{"contents": "read"}})
}
