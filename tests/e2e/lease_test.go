package e2e

import (
	"strings"
	"testing"
	"time"
)

func TestLeases(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)

	t.Run("revoking the lease revokes the token", func(t *testing.T) {
		m := v.Mint(t, v.Token, "read", "github/token/ci")
		emu.RequireLive(t, m.Token)
		v.MustCLI(t, "lease", "revoke", m.LeaseID)
		emu.WaitRevoked(t, m.Token, revokeTimeout)
	})

	t.Run("a token revoked at GitHub first still lets the lease go", func(t *testing.T) {
		m := v.Mint(t, v.Token, "read", "github/token/ci")
		emu.RevokeDirectly(t, m.Token)
		// GitHub refuses the revocation of a dead token; the plugin must
		// count that as done, or Vault keeps retrying a lease forever.
		// -sync makes a failed revocation fail the command.
		v.MustCLI(t, "lease", "revoke", "-sync", m.LeaseID)
		if r := v.CLI(t, "lease", "lookup", m.LeaseID); r.Code == 0 {
			t.Error("the lease survived its revocation")
		}
	})

	t.Run("revoking by prefix revokes every token", func(t *testing.T) {
		tokens := []string{
			v.Mint(t, v.Token, "read", "github/token/ci").Token,
			v.Mint(t, v.Token, "write", "github/token/ci", "repositories=web").Token,
			v.Mint(t, v.Token, "read", "github/token/admin").Token,
		}
		v.MustCLI(t, "lease", "revoke", "-prefix", "github/token/")
		for _, tok := range tokens {
			emu.WaitRevoked(t, tok, revokeTimeout)
		}
		if n := emu.LiveTokens(); n != 0 {
			t.Errorf("%d tokens are still live at GitHub", n)
		}
	})

	t.Run("renewal is refused and leaves the token live", func(t *testing.T) {
		m := v.Mint(t, v.Token, "read", "github/token/ci")
		if m.Renewable {
			t.Error("the lease claims to be renewable; GitHub cannot extend a token")
		}
		r := v.CLI(t, "lease", "renew", m.LeaseID)
		if r.Code == 0 || !strings.Contains(r.Stderr, "lease is not renewable") {
			t.Errorf("vault lease renew: exit %d, %q; want a refusal saying the lease is not renewable", r.Code, r.Stderr)
		}
		emu.RequireLive(t, m.Token)
	})

	t.Run("the lease TTL is the role's ttl", func(t *testing.T) {
		v.MustCLI(t, "write", "github/roles/ci", "ttl=10m")
		m := v.Mint(t, v.Token, "read", "github/token/ci")
		if m.LeaseDuration != 600 {
			t.Errorf("lease_duration = %d s; want the role's 600", m.LeaseDuration)
		}
		var lookup struct {
			Data struct {
				TTL       int  `json:"ttl"`
				Renewable bool `json:"renewable"`
			}
		}
		decodeJSON(t, v.MustCLI(t, "lease", "lookup", "-format=json", m.LeaseID), &lookup)
		if ttl := lookup.Data.TTL; ttl < 590 || ttl > 600 || lookup.Data.Renewable {
			t.Errorf("vault lease lookup: ttl %d s, renewable %v; want about 600 s, not renewable", ttl, lookup.Data.Renewable)
		}
	})

	t.Run("without a ttl the lease ends with the token", func(t *testing.T) {
		m := v.Mint(t, v.Token, "read", "github/token/admin")
		life := time.Until(emu.TokenInfo(t, m.Token).ExpiresAt)
		if d := time.Duration(m.LeaseDuration) * time.Second; d > life || d < life-time.Minute {
			t.Errorf("lease_duration = %s; want the token's remaining life, %s", d, life.Round(time.Second))
		}
	})
}

// TestLeaseExpiry has a server of its own: revoke -prefix in TestLeases
// would otherwise revoke its lease before Vault expires it.
func TestLeaseExpiry(t *testing.T) {
	t.Parallel()
	v, emu := setup(t)
	v.MustCLI(t, "write", "github/roles/short", "owner=acme", "repositories=api", "ttl=10s")

	m := v.Mint(t, v.Token, "read", "github/token/short")
	if m.LeaseDuration != 10 {
		t.Fatalf("lease_duration = %d s; want the role's 10", m.LeaseDuration)
	}
	emu.RequireLive(t, m.Token)
	// Nobody revokes the lease: Vault's expiration manager must, at GitHub.
	emu.WaitRevoked(t, m.Token, time.Minute)
	if r := v.CLI(t, "lease", "lookup", m.LeaseID); r.Code == 0 {
		t.Error("Vault still knows the expired lease")
	}
}
