package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// benchMain measures every scenario at each emulator latency, then the
// log levels, and prints the tables.
func benchMain(ctx context.Context, b *bench) error {
	if b.s.pprofDir != "" {
		if err := b.useProfilingBuild(ctx); err != nil {
			return err
		}
	}
	if err := b.setup(ctx); err != nil {
		return err
	}
	var all []report
	for _, ms := range b.s.latencies {
		if err := b.emu.setLatency(ctx, ms); err != nil {
			return err
		}
		clients := b.s.c
		if ms == 0 {
			clients = b.s.c0
		}
		at := func(scenario string) string { return fmt.Sprintf("%s@%d", scenario, ms) }
		github := b.timed(at("github"), b.main, clients, "")
		github.github = true
		// The lease floor: what any plugin pays for a lease, under every
		// token row.
		floor := b.timed(at("floor"), b.main, clients, "floor/lease")
		floor.plugin = b.floorPID
		rows := []row{
			b.timed(at("kv"), b.main, clients, "kv/data/bench"),
			github,
			// A plugin read that needs neither GitHub nor a lease: the
			// cost of the Vault–plugin round trip alone.
			b.timed(at("plugin"), b.main, clients, "github/roles/id"),
			floor,
		}
		for _, token := range []string{"id", "owner", "repo1"} {
			rows = append(rows, b.timed(at(token), b.main, clients, "github/token/"+token))
		}
		rows = append(rows, b.timed(at("tls-repo1"), b.main, clients, "github-tls/token/repo1"))
		// CPU-bound at any latency, so measured once.
		if ms == 0 {
			rows = append(rows, b.timed(at("repos500"), b.main, b.s.c500, "github/token/repos500"))
		}
		for _, r := range rows {
			rep, err := b.profiled(ctx, r)
			if err != nil {
				return err
			}
			all = append(all, rep)
		}
	}
	mainTable(os.Stdout, all)
	if err := b.tlsSummary(ctx); err != nil {
		return err
	}
	return b.logLevels(ctx)
}

// profiled measures a row; with BENCH_PPROF, a token row also gets a CPU
// profile of the plugin taken over its measured phase.
func (b *bench) profiled(ctx context.Context, r row) (report, error) {
	if b.s.pprofDir == "" || !strings.Contains(r.path, "/token/") {
		return b.measure(ctx, r)
	}
	if err := os.MkdirAll(b.s.pprofDir, 0o750); err != nil {
		return report{}, err
	}
	file := filepath.Join(b.s.pprofDir, strings.Replace(r.label, "@", "-", 1)+"ms.pprof")
	done := make(chan error, 1)
	go func() {
		time.Sleep(r.warmup)
		done <- b.saveProfile(ctx, file, max(b.s.seconds-1, 1))
	}()
	rep, err := b.measure(ctx, r)
	if perr := <-done; perr != nil {
		logf("no CPU profile for %s: %v", r.label, perr)
	}
	return rep, err
}

// saveProfile saves a CPU profile of the plugin over the next seconds.
func (b *bench) saveProfile(ctx context.Context, file string, seconds int) error {
	body, err := b.pprof(ctx, "profile?seconds="+strconv.Itoa(seconds))
	if err != nil {
		return err
	}
	return os.WriteFile(file, body, 0o644)
}

// pprof reads one of the profiling build's /debug/pprof/ pages.
func (b *bench) pprof(ctx context.Context, page string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.pprofURL+"/debug/pprof/"+page, nil)
	if err != nil {
		return nil, err
	}
	return send(http.DefaultClient, req)
}

// tlsSummary prints what the emulator's HTTPS listener saw over the whole
// run, warm-ups included, and fails the run if the plugin did not reach it
// over HTTP/2: the TLS row would then not measure what it claims to.
func (b *bench) tlsSummary(ctx context.Context) error {
	stats, err := b.emu.stats(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("\nOver the whole run, warm-ups included, the emulator over TLS completed %d handshakes for %d API requests over HTTP/2 and %d over HTTP/1.1.\n",
		stats.TLSHandshakes, stats.TLSRequestsHTTP2, stats.TLSRequestsHTTP1)
	if stats.TLSRequestsHTTP2 == 0 || stats.TLSRequestsHTTP1 != 0 {
		return errors.New("the plugin did not mint over HTTP/2 through the emulator's TLS listener")
	}
	return nil
}
