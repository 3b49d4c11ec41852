// Command loadgen runs the end-to-end benchmarks (docs/benchmarks.md): it
// builds and starts the GitHub emulator, a real Vault dev server with the
// plugin registered by SHA-256 (internal/vaultdev) and the lease floor,
// mounts and configures them, drives Vault's HTTP API (or the emulator
// directly) with N keep-alive clients row by row, watching the CPU and
// memory of the plugin, Vault, the emulator and itself, and prints the
// markdown tables. Run it from the repository root with `make bench`, or:
//
//	loadgen [main]   throughput, latency, plugin CPU and memory per token,
//	                 GitHub calls per token, against the lease floor
//	                 (tests/bench/floor) and kv-v2; one- and 500-repository
//	                 tokens; GitHub over TLS; 0 and 100 ms emulator latency;
//	                 then token/id side by side on two fresh Vaults, at log
//	                 level error and at Vault's default, info
//	loadgen soak     SOAK_TOKENS tokens minted and revoked; plugin memory,
//	                 goroutines and threads at start and end
//	loadgen scale    SCALE_ROLES roles written, listed and minted from; a
//	                 500-repository role minted
//
// Settings (environment):
//
//	BENCH_SECONDS   measured seconds per row (5)     BENCH_WARMUP  warm-up (1s)
//	BENCH_LATENCIES emulator latencies, ms ("0 100") BENCH_C0      clients at 0 ms (16)
//	BENCH_C         clients at other latencies (64)
//	BENCH_C500      clients for 500-repository tokens, at 0 ms only (4)
//	SOAK_TOKENS (100000)  SOAK_CLIENTS (16)  SOAK_ROLE (id)
//	SCALE_ROLES (10000)   SCALE_CLIENTS (16)
//	VAULT_LOG_LEVEL the main Vault's log level (error)
//	BENCH_JSON      a directory to keep each row's raw JSON result in
//	BENCH_PPROF     a directory: run the profiling build of the plugin (built
//	                with -tags pprof) and save a CPU profile of the plugin
//	                process for every token row there (main mode); soak
//	                always runs that build, to count goroutines
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/internal/vaultdev"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// modes are the benchmarks, by the argument that selects them.
var modes = map[string]func(context.Context, *bench) error{
	"main":  benchMain,
	"soak":  benchSoak,
	"scale": benchScale,
}

func run(ctx context.Context, args []string) error {
	var servers vaultdev.DevConfig
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	servers.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	mode := "main"
	switch fs.NArg() {
	case 0:
	case 1:
		mode = fs.Arg(0)
	default:
		return fmt.Errorf("unexpected arguments %q", fs.Args()[1:])
	}
	bench, ok := modes[mode]
	if !ok {
		return fmt.Errorf("unknown benchmark %q: want main, soak or scale", mode)
	}
	if err := servers.CheckFlags(); err != nil {
		return err
	}
	s, err := readSettings()
	if err != nil {
		return err
	}
	b, err := newBench(s, servers)
	if err != nil {
		return err
	}
	defer b.close()
	noteLoad()
	return bench(ctx, b)
}
