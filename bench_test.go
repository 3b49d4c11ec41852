package githubapp

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/logical"
	dto "github.com/prometheus/client_model/go"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/ghemu"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/scope"
)

// The benchmarks mint tokens through HandleRequest against the emulator on
// loopback, so ns/op, B/op and allocs/op include the emulator and both ends
// of the HTTP exchange, not only the plugin: `make bench` measures the
// plugin process alone. What they isolate is the number of GitHub calls and
// JWT signatures per token, reported as custom metrics:
//
//	gh-calls/token       requests the emulator served, per minted token
//	jwt-sigs/10k-tokens  RSA signatures made by the client, per 10,000 tokens
//
// Every run starts from a fresh backend and emulator, so both metrics
// include the cold start (one owner lookup, one signature), amortised
// over b.N.
//
//	go test -run '^$' -bench Mint -benchtime 5s .

// benchRoles are the roles measured: by installation ID, by owner (one
// lookup, then cached), one naming a single repository (the common case:
// GitHub's reply carries that repository's full object, about 6 KB), and
// one naming GitHub's maximum of 500 repositories (a reply of about 3 MB).
// The emulator renders each repository object once, so B/op and allocs/op
// of the last two are mostly the plugin reading and decoding the reply.
var benchRoles = []struct {
	name  string
	fleet int // repositories the bulk installation needs, if used
	role  func(e *testEnv, repos []string) map[string]any
}{
	{name: "id", role: func(e *testEnv, _ []string) map[string]any {
		return map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID)}
	}},
	{name: "owner", role: func(*testEnv, []string) map[string]any {
		return map[string]any{fieldOwner: "acme"}
	}},
	{name: "repo1", role: func(e *testEnv, _ []string) map[string]any {
		return map[string]any{fieldInstallationID: idOf(e.sample.OrgInstallationID), fieldRepositories: "api"}
	}},
	{name: "repos500", fleet: scope.MaxRepositories, role: func(_ *testEnv, repos []string) map[string]any {
		return map[string]any{fieldInstallationID: idOf(ghemu.BulkInstallationID), fieldRepositories: repos}
	}},
}

func BenchmarkMint(b *testing.B) {
	for _, r := range benchRoles {
		b.Run(r.name, func(b *testing.B) {
			e := newBenchEnv(b, r.fleet)
			e.mustWrite("roles/bench", r.role(e, bulkNames(r.fleet)))
			measureMint(b, e, func() {
				for range b.N {
					if err := mintBench(context.Background(), e); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkMintParallel mints from many goroutines at once, as Vault does
// for concurrent clients: it shows lock contention and the sharing of the
// owner lookup and of the JWT.
func BenchmarkMintParallel(b *testing.B) {
	for _, r := range benchRoles {
		if r.fleet > 0 {
			continue // 500-repository tokens add nothing here but time
		}
		b.Run(r.name, func(b *testing.B) {
			e := newBenchEnv(b, r.fleet)
			e.mustWrite("roles/bench", r.role(e, nil))
			// Minting waits on loopback I/O, so 2×GOMAXPROCS goroutines
			// would leave the CPUs idle; 8× keeps them busy.
			b.SetParallelism(8)
			measureMint(b, e, func() {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := mintBench(context.Background(), e); err != nil {
							b.Error(err) // Fatal is for the benchmark's own goroutine
							return
						}
					}
				})
			})
		})
	}
}

// BenchmarkPatternLargeInstallation mints tokens of a pattern role on an
// installation of 10,000 repositories (100 pages) whose GitHub takes
// 100 ms or 500 ms to answer each page of the listing. Each iteration
// drops the cached list, then mints a first token, which waits for the
// listing, on Vault's default request deadline, and laterTokens more from
// the cached list. The role's pattern matches 99 repositories.
//
//	go test -run '^$' -bench PatternLargeInstallation -benchtime 3x .
//
//	s/first-token          from the request to the first token, listing included
//	ms/later-token         each later token, the list cached
//	gh-calls/first-token   GitHub requests for the first token
func BenchmarkPatternLargeInstallation(b *testing.B) {
	const repos, laterTokens = 10_000, 20
	for _, perPage := range []time.Duration{100 * time.Millisecond, 500 * time.Millisecond} {
		b.Run(fmt.Sprintf("repos=%d/page=%v", repos, perPage), func(b *testing.B) {
			e := newBenchEnv(b, repos)
			e.mustWrite("roles/bench", map[string]any{fieldInstallationID: idOf(ghemu.BulkInstallationID), fieldRepositories: "repo-00??"})
			// One listing first renders the emulator's repository objects,
			// which costs it more than the listing costs the plugin.
			if err := mintBench(context.Background(), e); err != nil {
				b.Fatal(err)
			}
			e.emulator.SetLatencyFor("/installation/repositories", perPage)
			var first, later time.Duration
			var calls int
			b.ResetTimer()
			for range b.N {
				e.b.client.repositories.forget(ghemu.BulkInstallationID)
				before, start := e.emulator.Count("", "/"), time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), vaultMaxRequestDuration)
				err := mintBench(ctx, e)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				first, calls = first+time.Since(start), calls+e.emulator.Count("", "/")-before
				start = time.Now()
				for range laterTokens {
					if err := mintBench(context.Background(), e); err != nil {
						b.Fatal(err)
					}
				}
				later += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(first.Seconds()/n, "s/first-token")
			b.ReportMetric(float64(later.Microseconds())/1000/n/laterTokens, "ms/later-token")
			b.ReportMetric(float64(calls)/n, "gh-calls/first-token")
		})
	}
}

// newBenchEnv is a configured test environment logging at error level, as
// a production Vault would run the plugin: the tests' trace logging would
// otherwise be measured too. fleet > 0 also installs the App on the bulk
// organisation with that many repositories.
func newBenchEnv(b *testing.B, fleet int) *testEnv {
	b.Helper()
	e := newTestEnv(b)
	e.b.Logger().SetLevel(hclog.Error)
	if fleet > 0 {
		e.emulator.SeedBulk(testAppID, fleet)
	}
	return e
}

// bulkNames lists the first n bulk repositories, as SeedBulk names them.
func bulkNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = ghemu.BulkRepoName(i + 1)
	}
	return names
}

// measureMint times run, which mints b.N tokens of role "bench", and
// reports the GitHub calls and JWT signatures they took.
func measureMint(b *testing.B, e *testEnv, run func()) {
	b.Helper()
	calls := e.emulator.Count("", "/")
	b.ReportAllocs()
	b.ResetTimer()
	run()
	b.StopTimer()

	n := float64(b.N)
	b.ReportMetric(float64(e.emulator.Count("", "/")-calls)/n, "gh-calls/token")
	var signed dto.Metric
	if err := e.b.metrics.jwtSignatures.Write(&signed); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(signed.GetCounter().GetValue()*10_000/n, "jwt-sigs/10k-tokens")
}

// mintBench mints one token of role "bench". It returns errors rather than
// failing, so that parallel workers can use it too.
func mintBench(ctx context.Context, e *testEnv) error {
	resp, err := e.b.HandleRequest(ctx, &logical.Request{
		Operation: logical.ReadOperation,
		Path:      "token/bench",
		Storage:   e.storage,
	})
	switch {
	case err != nil:
		return err
	case resp == nil || resp.Secret == nil:
		return errors.New("no lease in the token response")
	case resp.IsError():
		return fmt.Errorf("error response: %w", resp.Error())
	}
	return nil
}
