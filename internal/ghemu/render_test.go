package ghemu

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// GitHub's token reply carries a full repository object of about 6 KB for
// every repository the token names (a 500-repository reply is about 3 MB),
// and benchmarks are only as realistic as those sizes. The test server's
// base URL, http://127.0.0.1:PORT, has the length of https://api.github.com,
// so the sizes below are GitHub's.
const (
	minRepoObject = 5_500
	maxRepoObject = 7_000
)

// mintRaw mints a token and returns the reply's repository objects as
// sent, and the size of the whole body.
func (f *fixture) mintRaw(t *testing.T, installationID int64, body any) ([]json.RawMessage, int) {
	t.Helper()
	r := f.do(t, http.MethodPost, mintPath(installationID), "Bearer "+f.appJWT(t), body)
	if r.status != http.StatusCreated {
		t.Fatalf("mint: status %d: %s", r.status, r.body)
	}
	var reply struct {
		Repositories []json.RawMessage `json:"repositories"`
	}
	r.json(t, &reply)
	return reply.Repositories, len(r.body)
}

func TestRepositoryObjectIsGitHubSized(t *testing.T) {
	f := newFixture(t)
	repos, _ := f.mintRaw(t, f.sample.OrgInstallationID, map[string]any{"repositories": []string{"api"}})
	if len(repos) != 1 {
		t.Fatalf("%d repository objects, want 1", len(repos))
	}
	if n := len(repos[0]); n < minRepoObject || n > maxRepoObject {
		t.Errorf("repository object is %d bytes, want %d–%d as on GitHub", n, minRepoObject, maxRepoObject)
	}

	var obj map[string]json.RawMessage
	if err := json.Unmarshal(repos[0], &obj); err != nil {
		t.Fatal(err)
	}
	want := []string{"id", "node_id", "name", "full_name", "owner", "organization", "license",
		"permissions", "topics", "visibility", "default_branch", "security_and_analysis"}
	for _, f := range repoURLFields {
		want = append(want, f.name)
	}
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			t.Errorf("repository object lacks %q", k)
		}
	}
}

func TestFiveHundredRepositoryReplyIsAboutThreeMB(t *testing.T) {
	f := newFixture(t)
	ids := f.installBulk(500)
	repos, size := f.mintRaw(t, BulkInstallationID, map[string]any{"repository_ids": ids})
	if len(repos) != 500 {
		t.Fatalf("%d repository objects, want 500", len(repos))
	}
	if size < 500*minRepoObject || size > 500*maxRepoObject {
		t.Errorf("reply is %d bytes, want %d–%d", size, 500*minRepoObject, 500*maxRepoObject)
	}
	var got []int64
	for _, raw := range repos {
		var r struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("repository IDs %v…, want %v…", got[:3], ids[:3])
	}
}

// Repository objects are rendered once and reused; what they are rendered
// from besides the repository (here, the owner's account) must still show.
func TestRepositoryRenderingFollowsTheOwner(t *testing.T) {
	f := newFixture(t)
	body := map[string]any{"repositories": []string{"api"}}
	first, _ := f.mintRaw(t, f.sample.OrgInstallationID, body)
	again, _ := f.mintRaw(t, f.sample.OrgInstallationID, body)
	if string(first[0]) != string(again[0]) {
		t.Error("the same repository rendered differently twice")
	}

	// acme turns out to be a user: no organization member any more.
	f.mu.RLock()
	in := f.installations[f.sample.OrgInstallationID].Installation
	f.mu.RUnlock()
	in.Account.Type = AccountUser
	f.AddInstallation(in)
	after, _ := f.mintRaw(t, f.sample.OrgInstallationID, body)
	var obj struct {
		Owner        struct{ Type string } `json:"owner"`
		Organization json.RawMessage       `json:"organization"`
	}
	if err := json.Unmarshal(after[0], &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Owner.Type != AccountUser || obj.Organization != nil {
		t.Errorf("after the owner changed: owner type %q, organization %s", obj.Owner.Type, obj.Organization)
	}
}

// installBulk seeds the bulk installation with n repositories and returns
// their IDs in order.
func (f *fixture) installBulk(n int) []int64 {
	f.SeedBulk(testAppID, n)
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = bulkFirstRepoID + int64(i)
	}
	return ids
}

// BenchmarkMintReply500 is the emulator's own cost of a 500-repository
// token, which in-process benchmarks of the plugin include.
func BenchmarkMintReply500(b *testing.B) {
	f := newFixture(b)
	ids := f.installBulk(500)
	body := map[string]any{"repository_ids": ids}
	auth := "Bearer " + f.appJWT(b) // signed once: RSA is the client's cost
	b.ReportAllocs()
	for b.Loop() {
		r := f.do(b, http.MethodPost, mintPath(BulkInstallationID), auth, body)
		if r.status != http.StatusCreated {
			b.Fatalf("mint: status %d", r.status)
		}
		b.SetBytes(int64(len(r.body)))
	}
}
