package e2e

import (
	"errors"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

// mints counts the token requests GitHub received.
func (g *Emulator) mints() int {
	return g.Count(http.MethodPost, "/app/installations/")
}

// TestCeilingDelegation runs the README's delegation recipe on a real
// Vault: the platform team sets the ceiling and team A's policy; team A
// writes a role and mints from it; everything else team A tries, the
// ceiling or its policy refuses with the README's words, and GitHub is
// never asked.
func TestCeilingDelegation(t *testing.T) {
	t.Parallel()
	v, emu := setup(t) // roles ci (acme, api and web, contents=read) and admin (by ID, naming nothing)
	dir := t.TempDir()

	r := v.RunReadmeBlock(t, v.Token, dir, "delegation-platform", nil)
	if r.Code != 0 {
		t.Fatalf("the platform team's block: exit %d: %s", r.Code, r.Stderr)
	}
	// Role admin, written before the ceiling, is beyond it: the config
	// write says so.
	if warned := r.Stdout + r.Stderr; !strings.Contains(warned, "roles beyond the ceiling mint nothing until they are changed: admin") {
		t.Errorf("the ceiling's config write did not warn about role admin; output:\n%s", warned)
	}

	teamA := v.MustCLI(t, "token", "create", "-policy=team-a", "-field=token")
	before := emu.mints()
	out := v.MustRunReadmeBlock(t, teamA, dir, "delegation-team-a", nil)
	token := tableValue(t, out, "token")
	info := emu.TokenInfo(t, token)
	if !slices.Equal(info.RepositoryNames, []string{"api", "web"}) || len(info.Permissions) != 2 ||
		info.Permissions["contents"] != "read" || info.Permissions["pull_requests"] != "write" {
		t.Errorf("team A's token reaches %v with %v; want api, web with contents=read, pull_requests=write", info.RepositoryNames, info.Permissions)
	}
	if n := emu.mints() - before; n != 1 {
		t.Fatalf("team A's block minted %d tokens; want 1", n)
	}

	before = emu.mints()
	for _, c := range refusedCommands(t, readmeBlock(t, "delegation-refused")) {
		cmd := exec.Command("bash", "-c", c.command)
		cmd.Dir, cmd.Env = dir, v.shellEnv(t, teamA, dir)
		r := runCommand(t, cmd, c.command)
		if r.Code == 0 {
			t.Errorf("team A ran %q; want it refused", c.command)
			continue
		}
		if got := lastLine(r.Stderr); got != c.refusal {
			t.Errorf("%s\n got: %s\nwant: %s", c.command, got, c.refusal)
		}
	}
	if n := emu.mints() - before; n != 0 {
		t.Errorf("GitHub received %d token requests for what the ceiling refused", n)
	}

	// The platform team's own roles are held too: admin, stored before the
	// ceiling and beyond it, mints nothing; ci, inside it, still mints.
	if r := v.CLI(t, "read", "github/token/admin"); r.Code == 0 ||
		!strings.Contains(r.Stderr, `role "admin" mints nothing until it is changed: installation_id`) {
		t.Errorf("reading token/admin under the ceiling: exit %d, %s", r.Code, lastLine(r.Stderr))
	}
	v.Mint(t, v.Token, "read", "github/token/ci")
}

// refused is one command of the README's delegation-refused block and the
// last line of the error it gets.
type refused struct{ command, refusal string }

func refusedCommands(t *testing.T, block string) []refused {
	t.Helper()
	var out []refused
	lines := strings.Split(strings.TrimSpace(block), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		command, ok := strings.CutPrefix(lines[i], "$ ")
		if !ok || strings.HasPrefix(lines[i+1], "$ ") {
			t.Fatalf("delegation-refused: line %d should be a command and the next its error: %q, %q", i+1, lines[i], lines[i+1])
		}
		out = append(out, refused{command, lines[i+1]})
	}
	if len(out) < 5 || len(lines)%2 != 0 {
		t.Fatalf("delegation-refused: %d lines, %d commands; want pairs of command and error", len(lines), len(out))
	}
	return out
}

// tableValue returns a key's value from the CLI's table output.
func tableValue(t *testing.T, out, key string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == key {
			return fields[1]
		}
	}
	t.Fatalf("the output has no %s row", key)
	return ""
}

// TestQuotaStopsARunawayCaller runs the README's quota recipe: past the
// rate, Vault answers 429 and GitHub sees no mint; another role's path is
// not limited.
func TestQuotaStopsARunawayCaller(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	v.MustRunReadmeBlock(t, v.Token, t.TempDir(), "quota", nil)
	ci := v.Client(t, v.CIToken(t))

	before := emu.mints()
	minted, refusedAt := 0, -1
	// The README's quota is 10 a minute, counted in windows of a minute
	// from the first request: count rather than expect exactly 10, in case
	// a slow machine crosses into the next window.
	for i := range 40 {
		_, err := ci.Logical().Read("github/token/ci")
		if err == nil {
			minted++
			continue
		}
		requireQuota429(t, err)
		refusedAt = i
		break
	}
	if refusedAt < 0 || minted < 10 {
		t.Fatalf("%d tokens minted before the first 429 (request %d); want the quota's 10, then a 429", minted, refusedAt+1)
	}
	for range 5 {
		_, err := ci.Logical().Read("github/token/ci")
		requireQuota429(t, err)
	}
	if n := emu.mints() - before; n != minted {
		t.Fatalf("GitHub received %d token requests for %d tokens handed out: a refused request reached it", n, minted)
	}
	t.Logf("quota rate=10 interval=1m: %d tokens, then 429s; GitHub saw %d mints", minted, emu.mints()-before)
	v.Mint(t, v.Token, "read", "github/token/admin") // another path, outside the quota
}

func requireQuota429(t *testing.T, err error) {
	t.Helper()
	var resp *api.ResponseError
	if !errors.As(err, &resp) || resp.StatusCode != http.StatusTooManyRequests ||
		!strings.Contains(err.Error(), `request path "github/token/ci": rate limit quota exceeded`) {
		t.Fatalf("past the quota: %v; want Vault's 429 naming the quota", err)
	}
}
