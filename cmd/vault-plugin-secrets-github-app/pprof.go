//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"

	"github.com/hashicorp/go-hclog"
)

// Built only with -tags pprof, for the benchmarks (tests/bench/cmd/loadgen):
// when BENCH_PPROF_ADDR is set in the plugin's environment (Vault passes it
// through `vault plugin register -env`), the plugin serves net/http/pprof
// there, so benchmarks can count its goroutines and profile the very
// process Vault runs. Release builds carry no profiler.
func init() {
	addr := os.Getenv("BENCH_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		// For a benchmark on loopback: if it cannot start, the plugin
		// still serves and the benchmark reports no profile.
		err := http.ListenAndServe(addr, nil)
		hclog.New(&hclog.LoggerOptions{}).Error("pprof listener stopped", "error", err)
	}()
}
