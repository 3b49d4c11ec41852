package githubapp

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
)

func TestInstallations_ListFollowsPagination(t *testing.T) {
	e := newTestEnv(t)
	const extra = 150 // two more pages of 100
	for i := range extra {
		e.emulator.AddInstallation(ghemu.Installation{
			ID: int64(50_000 + i), AppID: testAppID,
			Account:             ghemu.Account{Login: fmt.Sprintf("org-%d", i), ID: int64(90_000 + i), Type: ghemu.AccountOrganization},
			RepositorySelection: ghemu.SelectionAll,
		})
	}

	resp, err := e.do(logical.ListOperation, "installations/", nil)
	requireOK(t, resp, err)
	keys := resp.Data["keys"].([]string)
	if len(keys) != extra+3 {
		t.Fatalf("%d installations listed, want %d", len(keys), extra+3)
	}
	if n := e.emulator.Count(http.MethodGet, "/app/installations"); n != 2 {
		t.Fatalf("%d pages fetched, want 2 (100 per page)", n)
	}
	info := resp.Data["key_info"].(map[string]any)
	acme := info[fmt.Sprint(e.sample.OrgInstallationID)].(map[string]any)
	want := map[string]any{"id": e.sample.OrgInstallationID, "account": "acme", "account_type": "Organization",
		fieldRepositorySelection: "selected", "suspended": false}
	for k, v := range want {
		if acme[k] != v {
			t.Errorf("key_info %s = %v, want %v", k, acme[k], v)
		}
	}
	frozen := info[fmt.Sprint(e.sample.SuspendedInstallationID)].(map[string]any)
	if frozen["suspended"] != true {
		t.Errorf("suspended installation listed as %v", frozen)
	}
}

func TestInstallations_Read(t *testing.T) {
	e := newTestEnv(t)
	installations := e.mustRead("installations").Data["installations"].([]map[string]any)
	if len(installations) != 3 {
		t.Fatalf("%d installations, want the sample's 3", len(installations))
	}
	byAccount := map[string]map[string]any{}
	for _, inst := range installations {
		byAccount[inst["account"].(string)] = inst
	}
	if got := byAccount["octocat"]; got["account_type"] != "User" || got["id"] != e.sample.UserInstallationID {
		t.Fatalf("octocat: %v", got)
	}
}

func TestInstallations_NeedConfig(t *testing.T) {
	e := newUnconfiguredEnv(t)
	resp, err := e.do(logical.ListOperation, "installations/", nil)
	requireUserError(t, resp, err, "not configured")
}
