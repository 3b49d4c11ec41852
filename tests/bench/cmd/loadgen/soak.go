package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"time"
)

// benchSoak mints and revokes SOAK_TOKENS tokens and reports the plugin's
// memory, goroutines and threads at the start and the end.
func benchSoak(ctx context.Context, b *bench) error {
	if err := b.useProfilingBuild(ctx); err != nil {
		return err
	}
	if err := b.setup(ctx); err != nil {
		return err
	}
	path := "github/token/" + b.s.soakRole
	// Warm the plugin up first, so that the start counts are its steady
	// state rather than those of an idle process.
	warm := row{label: "soak-warmup", vault: b.main, clients: b.s.soakClients, path: path, revoke: true, dur: 3 * time.Second}
	if _, err := b.measure(ctx, warm); err != nil {
		return err
	}
	goroutinesStart := b.goroutines(ctx)
	soak := row{label: "soak", vault: b.main, clients: b.s.soakClients, path: path, revoke: true,
		total: b.s.soakTokens, warmup: 2 * time.Second, progress: 15 * time.Second}
	rep, err := b.measure(ctx, soak)
	if err != nil {
		return err
	}
	// The end reading is taken the moment the last token is revoked; a
	// second one after the GC's scavenger had time to return freed pages
	// tells retained memory from garbage not yet collected.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
	}
	settled, err := read(b.main.pluginPID)
	if err != nil {
		return err
	}
	stats, err := b.emu.stats(ctx)
	if err != nil {
		return err
	}
	soakTable(os.Stdout, rep, soakEnd{
		settledKB: settled.rssKB, liveTokens: stats.LiveTokens,
		goroutinesStart: goroutinesStart, goroutinesEnd: b.goroutines(ctx),
	})
	return nil
}

// goroutines is the plugin's goroutine count (profiling build only), or
// nil when pprof does not answer.
func (b *bench) goroutines(ctx context.Context) *int {
	body, err := b.pprof(ctx, "goroutine?debug=1")
	if err != nil {
		return nil
	}
	first, _, _ := bytes.Cut(body, []byte("\n"))
	n, err := strconv.Atoi(strings.TrimPrefix(string(first), "goroutine profile: total "))
	if err != nil {
		return nil
	}
	return &n
}
