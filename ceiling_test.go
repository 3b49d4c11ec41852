package githubapp

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/vault/sdk/logical"
)

// platformCeiling is the ceiling of the example: what a platform
// team lets every team's roles reach.
var platformCeiling = ceiling{
	MaxPermissions: map[string]string{"contents": "write", "issues": "write", "pull_requests": "write", "metadata": "read"},
}

func TestCeiling_ZeroValueLimitsNothing(t *testing.T) {
	var c ceiling
	for _, r := range []reach{
		{},
		{Owner: "anyone", Permissions: map[string]string{"administration": "write"}},
		{InstallationID: 99},
	} {
		if err := c.checkRole(r); err != nil {
			t.Errorf("checkRole(%+v) = %v; a mount without a ceiling must accept every role", r, err)
		}
		perms, err := c.clampOrRefuse(r)
		if err != nil || !reflect.DeepEqual(perms, r.Permissions) {
			t.Errorf("clampOrRefuse(%+v) = %v, %v; want the permissions unchanged", r, perms, err)
		}
	}
}

func TestCeiling_Permissions(t *testing.T) {
	for name, tc := range map[string]struct {
		perms map[string]string
		wants []string // nil: within the ceiling
	}{
		"at the ceiling":             {perms: map[string]string{"contents": "write", "metadata": "read"}},
		"below the ceiling":          {perms: map[string]string{"contents": "read", "issues": "read"}},
		"a permission it lacks":      {perms: map[string]string{"contents": "read", "administration": "write"}, wants: []string{"administration=write is beyond the mount's ceiling", "max_permissions", `does not name "administration"`}},
		"a level above it":           {perms: map[string]string{"metadata": "write"}, wants: []string{"metadata=write is beyond the mount's ceiling", "max_permissions allows metadata=read"}},
		"admin above write":          {perms: map[string]string{"issues": "admin"}, wants: []string{"issues=admin is beyond the mount's ceiling", "issues=write"}},
		"every permission (no list)": {perms: nil},
	} {
		t.Run(name, func(t *testing.T) {
			requireVerdict(t, platformCeiling, reach{InstallationID: 1, Permissions: tc.perms}, tc.wants)
		})
	}
}

// requireVerdict checks a role and a token of the same reach against c:
// both pass when wants is nil, and otherwise both are refused with an
// error that mentions each of wants. A role and its token must agree.
func requireVerdict(t *testing.T, c ceiling, r reach, wants []string) {
	t.Helper()
	_, errMint := c.clampOrRefuse(r)
	for what, err := range map[string]error{"checkRole": c.checkRole(r), "clampOrRefuse": errMint} {
		switch {
		case wants == nil && err != nil:
			t.Errorf("%s refused: %v", what, err)
		case wants != nil && err == nil:
			t.Errorf("%s accepted; want it refused", what)
		}
		for _, want := range wants {
			if err != nil && !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", what, err, want)
			}
		}
	}
}

// A role naming no permissions would get every permission of the
// installation; under a ceiling it asks for exactly the ceiling's.
func TestCeiling_EveryPermissionBecomesTheCeiling(t *testing.T) {
	perms, err := platformCeiling.clampOrRefuse(reach{InstallationID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(perms, platformCeiling.MaxPermissions) {
		t.Fatalf("permissions %v; want the ceiling's %v", perms, platformCeiling.MaxPermissions)
	}
	perms["administration"] = "write"
	if _, ok := platformCeiling.MaxPermissions["administration"]; ok {
		t.Fatal("the permissions returned share the ceiling's map: changing them changed the ceiling")
	}
	// Named permissions are sent as named, not widened to the ceiling.
	named := map[string]string{"contents": "read"}
	if perms, _ := platformCeiling.clampOrRefuse(reach{InstallationID: 1, Permissions: named}); !reflect.DeepEqual(perms, named) {
		t.Fatalf("permissions %v; want the named %v", perms, named)
	}
}

func TestCeiling_Targets(t *testing.T) {
	both := ceiling{AllowedOwners: []string{"acme", "Octo-Cat"}, AllowedInstallationIDs: []int64{1001}}
	ownersOnly := ceiling{AllowedOwners: []string{"acme"}}
	idsOnly := ceiling{AllowedInstallationIDs: []int64{1001, 1002}}
	for name, tc := range map[string]struct {
		c     ceiling
		r     reach
		wants []string
	}{
		"an allowed owner":                  {c: both, r: reach{Owner: "acme"}},
		"owners compare case-insensitively": {c: both, r: reach{Owner: "octo-cat"}},
		"an allowed installation":           {c: both, r: reach{InstallationID: 1001}},
		"another owner":                     {c: both, r: reach{Owner: "evil"}, wants: []string{`owner "evil" is beyond the mount's ceiling`, "allowed_owners is acme, Octo-Cat", "allowed_installation_ids is 1001"}},
		"another installation":              {c: both, r: reach{InstallationID: 1003}, wants: []string{"installation_id 1003 is beyond the mount's ceiling", "allowed_installation_ids is 1001"}},
		"an ID under an owners-only ceiling": {c: ownersOnly, r: reach{InstallationID: 1001},
			wants: []string{"installation_id 1001", "allowed_installation_ids names none", "allowed_owners is acme"}},
		"an owner under an IDs-only ceiling": {c: idsOnly, r: reach{Owner: "acme"},
			wants: []string{`owner "acme"`, "allowed_owners names none", "allowed_installation_ids is 1001, 1002"}},
	} {
		t.Run(name, func(t *testing.T) {
			requireVerdict(t, tc.c, tc.r, tc.wants)
		})
	}
}

// An owner template is known only per caller: the role passes, and what
// it yields is checked at mint.
func TestCeiling_OwnerTemplateCheckedOnceResolved(t *testing.T) {
	c := ceiling{AllowedOwners: []string{"acme"}}
	tpl := "{{identity.entity.aliases." + jwtAccessor + ".metadata.repository_owner}}"
	if err := c.checkRole(reach{Owner: tpl}); err != nil {
		t.Fatalf("a role with an owner template was refused: %v", err)
	}
	if _, err := c.clampOrRefuse(reach{Owner: "acme"}); err != nil {
		t.Fatalf("the template resolved to an allowed owner, and was refused: %v", err)
	}
	if _, err := c.clampOrRefuse(reach{Owner: "evil"}); err == nil || !strings.Contains(err.Error(), `owner "evil"`) {
		t.Fatalf("the template resolved to another owner: %v; want it refused", err)
	}
	if _, err := c.clampOrRefuse(reach{Owner: tpl}); err == nil {
		t.Fatal("an unresolved template reached the mint check and passed")
	}
	// Under a ceiling that allows no owner, no caller could ever mint.
	idsOnly := ceiling{AllowedInstallationIDs: []int64{1001}}
	requireVerdict(t, idsOnly, reach{Owner: tpl}, []string{"owner", "allowed_owners names none", "allowed_installation_ids is 1001"})
}

func TestCeiling_RequireExplicitScope(t *testing.T) {
	c := ceiling{RequireExplicitScope: true}
	perms := map[string]string{"contents": "read"}
	for name, tc := range map[string]struct {
		r     reach
		wants []string
	}{
		"names both":                   {r: reach{InstallationID: 1, Repositories: []string{"api"}, Permissions: perms}},
		"a pattern names repositories": {r: reach{InstallationID: 1, Repositories: []string{"team-a-*"}, Permissions: perms}},
		"IDs name repositories":        {r: reach{InstallationID: 1, RepositoryIDs: []int64{7}, Permissions: perms}},
		"no permissions":               {r: reach{InstallationID: 1, Repositories: []string{"api"}}, wants: []string{"no permissions are named", "require_explicit_scope=true", "permissions=contents=read"}},
		"no repositories":              {r: reach{InstallationID: 1, Permissions: perms}, wants: []string{"no repositories are named", "require_explicit_scope=true", "repositories=api"}},
	} {
		t.Run(name, func(t *testing.T) {
			requireVerdict(t, c, tc.r, tc.wants)
		})
	}
	// With max_permissions too, a role naming none is still refused: the
	// operator asked for every role to say what it needs.
	withMax := platformCeiling
	withMax.RequireExplicitScope = true
	if _, err := withMax.clampOrRefuse(reach{InstallationID: 1, Repositories: []string{"api"}}); err == nil {
		t.Fatal("require_explicit_scope with max_permissions clamped a role naming no permissions instead of refusing it")
	}
}

// ceilingEnv is a configured backend whose config then gets the ceiling
// fields given.
func ceilingEnv(t *testing.T, fields map[string]any) *testEnv {
	t.Helper()
	e := newTestEnv(t)
	e.mustWrite("config", fields)
	return e
}

func TestCeilingConfig_DefaultsKeepTodaysBehaviour(t *testing.T) {
	e := newTestEnv(t)
	got := e.mustRead("config").Data
	want := map[string]any{
		fieldMaxPermissions:         map[string]string{},
		fieldAllowedOwners:          []string{},
		fieldAllowedInstallationIDs: []int64{},
		fieldRequireExplicitScope:   false,
	}
	for field, value := range want {
		if !reflect.DeepEqual(got[field], value) {
			t.Errorf("config read %s = %#v; want %#v", field, got[field], value)
		}
	}
	// A role naming nothing still gets the whole installation.
	e.mustWrite("roles/all", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)})
	info := e.tokenScope(e.mint("all"))
	grant := map[string]string{"contents": "write", "metadata": "read", "issues": "write", "pull_requests": "write", "actions": "read", "checks": "write"}
	if !reflect.DeepEqual(sortedCopy(info.RepositoryNames), acmeSelected) || !reflect.DeepEqual(info.Permissions, grant) {
		t.Fatalf("without a ceiling the role got %v with %v; want the whole installation", info.RepositoryNames, info.Permissions)
	}
}

// A config stored before ceilings existed has no "ceiling" key at all.
func TestCeilingConfig_StoredBeforeCeilingsHasNone(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	entry, err := e.storage.Get(ctx, configStoragePath)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := entry.DecodeJSON(&raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "ceiling")
	old, err := logical.StorageEntryJSON(configStoragePath, raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.storage.Put(ctx, old); err != nil {
		t.Fatal(err)
	}
	e.b.invalidate(ctx, configStoragePath)
	e.mustWrite("roles/admin", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldPermissions: "administration=write"})
	if c, err := readCeiling(ctx, e.storage); err != nil || !reflect.DeepEqual(c, ceiling{}) {
		t.Fatalf("ceiling of an old config: %+v, %v; want none", c, err)
	}
}

func TestCeilingConfig_WriteReadUpdateClear(t *testing.T) {
	e := ceilingEnv(t, map[string]any{
		fieldMaxPermissions:         []any{"contents=write", "metadata=read"},
		fieldAllowedOwners:          []any{"acme", "octocat"},
		fieldAllowedInstallationIDs: "1001",
		fieldRequireExplicitScope:   true,
	})
	got := e.mustRead("config").Data
	if !reflect.DeepEqual(got[fieldMaxPermissions], map[string]string{"contents": "write", "metadata": "read"}) ||
		!reflect.DeepEqual(got[fieldAllowedOwners], []string{"acme", "octocat"}) ||
		!reflect.DeepEqual(got[fieldAllowedInstallationIDs], []int64{1001}) || got[fieldRequireExplicitScope] != true {
		t.Fatalf("config read %v", got)
	}
	// Partial: the rest of the config and of the ceiling stays.
	e.mustWrite("config", map[string]any{fieldAllowedOwners: "acme"})
	got = e.mustRead("config").Data
	if !reflect.DeepEqual(got[fieldAllowedOwners], []string{"acme"}) || !reflect.DeepEqual(got[fieldAllowedInstallationIDs], []int64{1001}) ||
		got[fieldAppID] != int64(testAppID) {
		t.Fatalf("after a partial update: %v", got)
	}
	// An empty value is no value: * lifts a limit.
	resp, err := e.do(logical.UpdateOperation, "config", map[string]any{fieldAllowedOwners: ""})
	requireUserError(t, resp, err, "allowed_owners names nothing", "allowed_owners=*", "any installation once allowed_installation_ids names none either")
	// * clears one list of installations; the other still limits roles.
	e.mustWrite("config", map[string]any{fieldAllowedOwners: "*"})
	resp, err = e.do(logical.CreateOperation, "roles/octocat", map[string]any{fieldOwner: "octocat", fieldPermissions: "contents=read"})
	requireUserError(t, resp, err, `owner "octocat"`, "allowed_owners names none", "allowed_installation_ids is 1001")
	e.mustWrite("config", map[string]any{fieldMaxPermissions: "*", fieldAllowedOwners: "*", fieldAllowedInstallationIDs: []any{"*"}, fieldRequireExplicitScope: false})
	if c, err := readCeiling(context.Background(), e.storage); err != nil || !reflect.DeepEqual(c, ceiling{}) {
		t.Fatalf("after clearing: %+v, %v; want no ceiling", c, err)
	}
	e.mustWrite("roles/admin", map[string]any{fieldInstallationID: idOf(e.sample.UserInstallationID), fieldPermissions: "administration=write"})
}

func TestCeilingConfig_RefusesBadValues(t *testing.T) {
	for name, tc := range map[string]struct {
		value map[string]any
		wants []string
	}{
		"a bad level":                  {map[string]any{fieldMaxPermissions: "contents=all"}, []string{"max_permissions", `"all"`}},
		"a level the permission lacks": {map[string]any{fieldMaxPermissions: "workflows=read"}, []string{"max_permissions", "workflows"}},
		"a permission twice":           {map[string]any{fieldMaxPermissions: []any{"contents=read", "contents=write"}}, []string{"contents", "twice"}},
		"an owner that is no login":    {map[string]any{fieldAllowedOwners: []any{"acme", "a/b"}}, []string{"allowed_owners", `"a/b"`}},
		"an owner template":            {map[string]any{fieldAllowedOwners: "{{identity.entity.name}}"}, []string{"allowed_owners", "not a GitHub"}},
		"an owner twice":               {map[string]any{fieldAllowedOwners: []any{"acme", "ACME"}}, []string{"allowed_owners", "twice"}},
		"an installation ID of 0":      {map[string]any{fieldAllowedInstallationIDs: "0"}, []string{"allowed_installation_ids", "positive integer"}},
		"an installation ID twice":     {map[string]any{fieldAllowedInstallationIDs: []any{"7", "7"}}, []string{"allowed_installation_ids", "twice"}},
		"not a boolean":                {map[string]any{fieldRequireExplicitScope: "maybe"}, []string{"require_explicit_scope"}},
		// The form a config read shows: the error says how to write it.
		"permissions as an object": {map[string]any{fieldMaxPermissions: map[string]any{"contents": "write"}}, []string{"max_permissions", "a JSON array of strings"}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t)
			before := storageSnapshot(t, e.storage)
			resp, err := e.do(logical.UpdateOperation, "config", tc.value)
			requireUserError(t, resp, err, tc.wants...)
			requireSameStorage(t, before, storageSnapshot(t, e.storage))
		})
	}
}

func TestCeilingRoles_WriteBeyondIsRefused(t *testing.T) {
	e := ceilingEnv(t, map[string]any{
		fieldMaxPermissions: []any{"contents=write", "issues=write", "pull_requests=write", "metadata=read"},
		fieldAllowedOwners:  "acme",
	})
	for name, tc := range map[string]struct {
		role  map[string]any
		wants []string
	}{
		"a permission beyond": {map[string]any{fieldOwner: "acme", fieldPermissions: []any{"contents=read", "administration=write"}},
			[]string{"administration=write", "max_permissions", "beyond the mount's ceiling", "<mount>/config"}},
		"a level beyond": {map[string]any{fieldOwner: "acme", fieldPermissions: "metadata=write"},
			[]string{"metadata=write", "max_permissions allows metadata=read"}},
		"another owner": {map[string]any{fieldOwner: "octocat", fieldPermissions: "contents=read"},
			[]string{`owner "octocat"`, "allowed_owners is acme"}},
		"an installation by ID": {map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)},
			[]string{"installation_id 1001", "allowed_installation_ids names none"}},
	} {
		t.Run(name, func(t *testing.T) {
			before := storageSnapshot(t, e.storage)
			resp, err := e.do(logical.CreateOperation, "roles/team-a-x", tc.role)
			requireUserError(t, resp, err, tc.wants...)
			requireSameStorage(t, before, storageSnapshot(t, e.storage))
		})
	}
	// An update that would move a valid role beyond is refused too, and
	// leaves it as it was.
	e.mustWrite("roles/ok", map[string]any{fieldOwner: "acme", fieldPermissions: "contents=read"})
	resp, err := e.do(logical.UpdateOperation, "roles/ok", map[string]any{fieldPermissions: "workflows=write"})
	requireUserError(t, resp, err, "workflows=write", "max_permissions")
	if got := e.mustRead("roles/ok").Data[fieldPermissions]; !reflect.DeepEqual(got, map[string]string{"contents": "read"}) {
		t.Fatalf("the refused update changed the role: %v", got)
	}
}

// mints counts the token requests GitHub received.
func (e *testEnv) mints() int {
	return e.emulator.Count(http.MethodPost, "/app/installations/")
}

// A role written before the ceiling is never minted beyond it: refused,
// even narrowed, with a message saying what to change, and GitHub is not
// asked.
func TestCeilingMint_RoleStoredBeforeTheCeilingIsRefused(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldPermissions: []any{"contents=read", "issues=write"}})
	e.mint("ci")
	resp := e.mustWrite("config", map[string]any{fieldMaxPermissions: []any{"contents=write", "metadata=read"}})
	if resp == nil || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "ci") {
		t.Fatalf("the config write that set the ceiling warns %v; want it to name role ci", resp)
	}
	before := e.mints()
	for _, narrowing := range []map[string]any{nil, {fieldPermissions: "contents=read"}} {
		resp, err := e.do(logical.UpdateOperation, "token/ci", narrowing)
		requireUserError(t, resp, err, `role "ci" mints nothing until it is changed: permissions: issues=write is beyond the mount's ceiling`, "issues=write", "max_permissions",
			"vault write <mount>/roles/ci", "<mount>/config")
	}
	if n := e.mints() - before; n != 0 {
		t.Fatalf("GitHub received %d token requests for a role beyond the ceiling", n)
	}
	// Fixed, it mints again.
	e.mustWrite("roles/ci", map[string]any{fieldPermissions: "contents=read"})
	if got := e.tokenScope(e.mint("ci")).Permissions; !reflect.DeepEqual(got, map[string]string{"contents": "read"}) {
		t.Fatalf("the fixed role's token has %v", got)
	}
}

// A role naming no permissions gets exactly the ceiling's, at GitHub, and
// narrowing it can ask for no more.
func TestCeilingMint_EveryPermissionRoleGetsTheCeiling(t *testing.T) {
	e := newRoleEnv(t, nil) // names no permissions: every one of the installation
	e.mustWrite("config", map[string]any{fieldMaxPermissions: []any{"contents=read", "issues=write"}})
	resp := e.mint("ci")
	want := map[string]string{"contents": "read", "issues": "write"}
	if got := e.tokenScope(resp).Permissions; !reflect.DeepEqual(got, want) {
		t.Fatalf("the token reaches %v; want the ceiling's %v", got, want)
	}
	if got := resp.Data[fieldPermissions]; !reflect.DeepEqual(got, want) {
		t.Fatalf("the response says %v; want %v", got, want)
	}

	before := e.mints()
	r, err := e.do(logical.UpdateOperation, "token/ci", map[string]any{fieldPermissions: "contents=write"})
	requireUserError(t, r, err, `role "ci"`, "contents=write", "max_permissions allows contents=read")
	if n := e.mints() - before; n != 0 {
		t.Fatalf("GitHub received %d token requests for a narrowing beyond the ceiling", n)
	}
	r, err = e.do(logical.UpdateOperation, "token/ci", map[string]any{fieldPermissions: "issues=read"})
	requireOK(t, r, err)
	if got := e.tokenScope(r).Permissions; !reflect.DeepEqual(got, map[string]string{"issues": "read"}) {
		t.Fatalf("a narrowing within the ceiling got %v", got)
	}
}

// Templates and patterns end inside the ceiling: the owner a template
// yields is checked per caller, and a pattern role's token carries the
// ceiling's permissions, not the installation's.
func TestCeilingMint_TemplatesAndPatternsEndInside(t *testing.T) {
	e := newTestEnv(t)
	ownerTemplate := "{{identity.entity.aliases." + jwtAccessor + ".metadata.repository_owner}}"
	e.mustWrite("roles/actions", map[string]any{fieldOwner: ownerTemplate, fieldRepositories: repositoryTemplate, fieldPermissions: "contents=read"})
	e.mustWrite("roles/pattern", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldRepositories: []any{"a*", "w*"}})
	e.mustWrite("config", map[string]any{
		fieldAllowedOwners:          "acme",
		fieldAllowedInstallationIDs: idOf(e.sample.OrgInstallationID),
		fieldMaxPermissions:         []any{"contents=read", "metadata=read"},
	})

	resp, err := e.mintAs(actionsEntity("acme/api"), "actions", nil)
	requireOK(t, resp, err)
	if got := e.tokenScope(resp).RepositoryNames; !reflect.DeepEqual(got, []string{"api"}) {
		t.Fatalf("acme's job got %v", got)
	}
	outsider := actionsEntity("octocat/dotfiles")
	outsider.Aliases[0].Metadata["repository_owner"] = "octocat"
	before := len(e.emulator.Requests())
	resp, err = e.mintAs(outsider, "actions", nil)
	requireUserError(t, resp, err, `role "actions"`, `owner "octocat"`, "allowed_owners is acme")
	if n := len(e.emulator.Requests()) - before; n != 0 {
		t.Fatalf("a caller whose template yields an owner beyond the ceiling cost %d GitHub requests", n)
	}

	resp = e.mint("pattern")
	info := e.tokenScope(resp)
	if !reflect.DeepEqual(sortedCopy(info.RepositoryNames), []string{"api", "web"}) ||
		!reflect.DeepEqual(info.Permissions, map[string]string{"contents": "read", "metadata": "read"}) {
		t.Fatalf("the pattern role's token reaches %v with %v; want api, web with the ceiling's permissions", info.RepositoryNames, info.Permissions)
	}
}

func TestCeilingMint_RequireExplicitScope(t *testing.T) {
	e := newRoleEnv(t, map[string]any{fieldPermissions: "contents=read"}) // no repositories: all of them
	resp := e.mustWrite("config", map[string]any{fieldRequireExplicitScope: true})
	if resp == nil || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "ci") {
		t.Fatalf("the config write warns %v; want it to name role ci", resp)
	}
	r, err := e.do(logical.ReadOperation, "token/ci", nil)
	requireUserError(t, r, err, `role "ci" mints nothing until it is changed: no repositories are named`, "require_explicit_scope")
	r, err = e.do(logical.CreateOperation, "roles/lazy", map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldRepositories: "api"})
	requireUserError(t, r, err, "no permissions are named", "require_explicit_scope=true")
	e.mustWrite("roles/ci", map[string]any{fieldRepositories: "web"})
	if got := e.tokenScope(e.mint("ci")).RepositoryNames; !reflect.DeepEqual(got, []string{"web"}) {
		t.Fatalf("the explicit role's token reaches %v", got)
	}
}

// holdMints holds each token request until release is closed, after
// telling arrived: a config write then lands while GitHub mints.
type holdMints struct {
	next             http.RoundTripper
	arrived, release chan struct{}
}

func (h *holdMints) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/access_tokens") {
		h.arrived <- struct{}{}
		<-h.release
	}
	return h.next.RoundTrip(req)
}

// A ceiling set while GitHub mints a token holds for that token: the
// config write returned before GitHub minted it, so the token is checked
// against that ceiling and revoked when beyond, whatever the role asked
// (named permissions, or none: every permission of the installation).
func TestCeilingMint_ACeilingSetWhileMintingHolds(t *testing.T) {
	for name, tc := range map[string]struct {
		role  map[string]any
		wants []string // nil: inside the new ceiling
	}{
		"named permissions":  {map[string]any{fieldPermissions: "contents=write"}, []string{`role "ci" mints nothing until it is changed`, "contents=write", "max_permissions"}},
		"every permission":   {nil, []string{`role "ci"`, "every permission of the installation", "max_permissions (contents=read, metadata=read)", "read the token again"}},
		"inside the ceiling": {map[string]any{fieldPermissions: "contents=read"}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			e := newRoleEnv(t, tc.role)
			hold := &holdMints{next: e.b.httpClient.Transport, arrived: make(chan struct{}), release: make(chan struct{})}
			e.b.httpClient = &http.Client{Transport: hold}
			minted := make(chan *logical.Response)
			go func() {
				resp, err := e.b.HandleRequest(context.Background(), &logical.Request{Operation: logical.ReadOperation, Path: "token/ci", Storage: e.storage})
				if err != nil {
					t.Error(err)
				}
				minted <- resp
			}()
			<-hold.arrived
			e.mustWrite("config", map[string]any{fieldMaxPermissions: []any{"contents=read", "metadata=read"}})
			close(hold.release)
			resp := <-minted
			if tc.wants == nil {
				requireOK(t, resp, nil)
				e.requireRevokes(resp, "token not revoked")
			} else {
				requireUserError(t, resp, nil, tc.wants...)
			}
			e.requireMintedNoneLive(1)
		})
	}
}

// An enterprise role names its installation by slug; a ceiling on targets
// allows it by the installation's ID, once GitHub has resolved the slug.
// Its installation has no repositories, so require_explicit_scope asks it
// for permissions only.
func TestCeilingEnterprise_AllowedByItsInstallationID(t *testing.T) {
	e := ceilingEnv(t, map[string]any{fieldAllowedOwners: "acme"})
	e.addEnterpriseInstallation(1004)
	enterpriseRole := map[string]any{fieldEnterprise: testEnterprise, fieldPermissions: "enterprise_administration=read"}
	before := storageSnapshot(t, e.storage)
	resp, err := e.do(logical.CreateOperation, "roles/ent", enterpriseRole)
	requireUserError(t, resp, err, `enterprise "octo-business" is beyond the mount's ceiling`, "allowed_installation_ids names none", "vault list <mount>/installations")
	if strings.Contains(resp.Error().Error(), "installation_id 0") {
		t.Errorf("the error names an installation_id the role does not have: %v", resp.Error())
	}
	requireSameStorage(t, before, storageSnapshot(t, e.storage))

	e.mustWrite("config", map[string]any{fieldAllowedInstallationIDs: idOf(e.sample.OrgInstallationID)})
	e.mustWrite("roles/ent", enterpriseRole)
	resp, err = e.do(logical.ReadOperation, "token/ent", nil)
	requireUserError(t, resp, err, `role "ent"`, `enterprise "octo-business" (installation 1004) is beyond the mount's ceiling`, "allowed_installation_ids is 1001")
	if n := e.mints(); n != 0 {
		t.Fatalf("GitHub received %d token requests for an enterprise beyond the ceiling", n)
	}

	e.mustWrite("config", map[string]any{fieldAllowedInstallationIDs: []any{idOf(e.sample.OrgInstallationID), "1004"}, fieldRequireExplicitScope: true})
	if got := e.mint("ent").Data[fieldInstallationID]; got != int64(1004) {
		t.Fatalf("minted for installation %v, want the enterprise's 1004", got)
	}
	resp, err = e.do(logical.CreateOperation, "roles/ent-all", map[string]any{fieldEnterprise: testEnterprise})
	requireUserError(t, resp, err, "no permissions are named", "require_explicit_scope=true")
}
