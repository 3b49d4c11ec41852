package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGitCredentialHelper runs the README's git recipe with the real git:
// `git credential fill` for github.com returns x-access-token and a token
// of role ci, live at GitHub; for another host the helper is not asked.
func TestGitCredentialHelper(t *testing.T) {
	t.Parallel()
	git := requireTool(t, "git")
	v, emu := setup(t)
	ciToken := v.CIToken(t)
	home := t.TempDir()
	v.MustRunReadmeBlock(t, ciToken, home, "git-credential-helper", nil)

	fill := func(host string) Result {
		cmd := exec.Command(git, "credential", "fill")
		cmd.Dir = home
		cmd.Env = append(v.shellEnv(t, ciToken, home), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=")
		cmd.Stdin = strings.NewReader("protocol=https\nhost=" + host + "\npath=acme/api.git\n\n")
		return runCommand(t, cmd, "git credential fill")
	}
	r := fill("github.com")
	if r.Code != 0 {
		t.Fatalf("git credential fill: exit %d: %s", r.Code, r.Stderr)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		k, val, _ := strings.Cut(line, "=")
		got[k] = val
	}
	if got["username"] != "x-access-token" || got["password"] == "" {
		t.Fatalf("git credential fill answered username %q and a password of %d bytes; want x-access-token and a token",
			got["username"], len(got["password"]))
	}
	emu.RequireLive(t, got["password"])
	if info := emu.TokenInfo(t, got["password"]); !slices.Equal(info.RepositoryNames, []string{"api", "web"}) {
		t.Errorf("git's token reaches %v; want role ci's api and web", info.RepositoryNames)
	}

	before := emu.mints()
	if r := fill("gitlab.example.com"); r.Code == 0 {
		t.Error("git found a credential for another host: the helper is not scoped to github.com")
	}
	if n := emu.mints() - before; n != 0 {
		t.Errorf("asking for another host minted %d tokens", n)
	}
}

// agentRoleTTL is the role's lease TTL in the Agent test: short, so that
// Agent fetches a new token within the test.
const agentRoleTTL = 30 * time.Second

// TestAgentExecRestartsOnNewToken runs the README's Vault Agent process
// supervisor stanza with a short-TTL role: the program starts with
// GH_TOKEN set, and is restarted with a new token while the first one's
// lease is still running (its token still live at GitHub); the first is
// revoked when its lease ends.
func TestAgentExecRestartsOnNewToken(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	v.MustCLI(t, "write", "github/roles/ci", "ttl="+agentRoleTTL.String())
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	bot := filepath.Join(dir, "github-bot")
	// The program notes when it started and with which token, then runs
	// until Agent stops it.
	if err := os.WriteFile(bot, []byte("#!/bin/sh\necho \"$(date +%s.%N) $GH_TOKEN\" >> "+seen+"\nexec sleep 600\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	stanza := readmeBlock(t, "agent-exec")
	if !strings.Contains(stanza, `"/usr/local/bin/github-bot"`) {
		t.Fatal("the README's agent-exec block no longer runs /usr/local/bin/github-bot")
	}
	stanza = strings.Replace(stanza, `"/usr/local/bin/github-bot"`, strconv.Quote(bot), 1)
	tokenFile := filepath.Join(dir, "vault-token")
	if err := os.WriteFile(tokenFile, []byte(v.CIToken(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	// A new token at half the lease rather than Agent's default 85-95 %,
	// so that a busy machine cannot make the restart miss the lease's end.
	config := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(config, fmt.Appendf(nil, `
vault {
  address = %q
}
auto_auth {
  method "token_file" {
    config = {
      token_file_path = %q
    }
  }
}
template_config {
  lease_renewal_threshold = 0.5
}
%s`, v.Addr, tokenFile, stanza), 0o600); err != nil {
		t.Fatal(err)
	}
	agent := startProcess(t, "Vault Agent", filepath.Join(dir, "agent.log"), v.bins.server.Bin,
		[]string{"agent", "-config=" + config}, v.shellEnv(t, "", dir))
	t.Cleanup(func() {
		agent.Kill()
		reportOnFailure(t, agent)
	})

	var starts []programStart
	waitUntil(t, 3*agentRoleTTL, "the program to start twice, with two tokens", func() bool {
		starts = readStarts(t, seen)
		return len(starts) >= 2
	}, func() string { return fmt.Sprintf("%d starts", len(starts)) })
	first, second := starts[0], starts[1]
	// Checked at once: the first token must still be live when the program
	// has the second.
	if emu.TokenInfo(t, first.token).Revoked {
		t.Fatal("the first token was revoked before the program got the second")
	}
	if first.token == "" || second.token == "" || first.token == second.token {
		t.Fatal("the program did not get a new, non-empty GH_TOKEN when restarted")
	}
	minted := emu.TokenInfo(t, first.token).MintedAt
	if leaseEnd := minted.Add(agentRoleTTL); !second.at.Before(leaseEnd) {
		t.Fatalf("the program got its second token at %s, after the first lease's end at %s",
			second.at.Format(time.RFC3339Nano), leaseEnd.Format(time.RFC3339Nano))
	}
	t.Logf("first token minted at %s; program restarted with the second %.1f s later, %.1f s before the first lease's end",
		minted.Format("15:04:05.000"), second.at.Sub(minted).Seconds(), minted.Add(agentRoleTTL).Sub(second.at).Seconds())
	emu.RequireLive(t, second.token)
	emu.WaitRevoked(t, first.token, agentRoleTTL+revokeTimeout)
}

// programStart is one start of the supervised program: when, and with
// which GH_TOKEN.
type programStart struct {
	at    time.Time
	token string
}

func readStarts(t *testing.T, path string) []programStart {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var starts []programStart
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		stamp, token, _ := strings.Cut(lines.Text(), " ")
		secs, err := strconv.ParseFloat(stamp, 64)
		if err != nil {
			t.Fatalf("the program wrote %q", stamp)
		}
		starts = append(starts, programStart{at: time.Unix(0, int64(secs*1e9)), token: token})
	}
	return starts
}
