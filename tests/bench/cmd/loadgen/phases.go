package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	noteLoad()
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
	if err := os.MkdirAll(b.s.pprofDir, 0o755); err != nil {
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

// logLevels measures what Vault's default log level costs: at info, each
// mint and revocation writes the plugin's line (with hashed_token) to
// Vault's log; at error, the level every other row runs at, Vault drops
// it. Two fresh dev Vaults, one per level, serve the same token/id role
// (the main one holds the leases of every row before, which slow it); they
// take turns, twice, at 0 ms emulator latency, where CPU decides. The table
// also gives the length of the mint line in the info Vault's log.
func (b *bench) logLevels(ctx context.Context) error {
	levels := []string{"error", "info"}
	servers := map[string]*vault{}
	for _, level := range levels {
		v, err := b.startVault("log-"+level, level, b.pluginEnv)
		if err != nil {
			return err
		}
		org := strconv.FormatInt(b.emu.OrgInstallationID, 10)
		if err := v.mountEngine("github", b.emu.URL, b.emu, role{"id", map[string]any{"installation_id": org}}); err != nil {
			return err
		}
		servers[level] = v
	}
	if err := b.emu.setLatency(ctx, 0); err != nil {
		return err
	}
	infoLog := filepath.Join(servers["info"].dev.Dir, "vault.log")
	var rows []report
	var lineBytes []*float64
	for round := 1; round <= 2; round++ {
		for _, level := range levels {
			before, err := fileSize(infoLog)
			if err != nil {
				return err
			}
			label := fmt.Sprintf("log-%s-%d@0", level, round)
			rep, err := b.measure(ctx, b.timed(label, servers[level], b.s.c0, "github/token/id"))
			if err != nil {
				return err
			}
			avg, err := mintLineBytes(infoLog, before)
			if err != nil {
				return err
			}
			rows, lineBytes = append(rows, rep), append(lineBytes, avg)
		}
	}
	fmt.Printf("\ntoken/id at 0 ms, %d clients, on two fresh Vaults, at log level error and at Vault's default (info), taking turns:\n\n", b.s.c0)
	logTable(os.Stdout, rows, lineBytes)
	return nil
}

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// mintLineBytes is the average length, newline included, of the mint lines
// a Vault log gained after offset; nil for none.
func mintLineBytes(path string, offset int64) (*float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	var n, total int
	lines := bufio.NewScanner(f)
	lines.Buffer(nil, 1<<20)
	for lines.Scan() {
		if bytes.Contains(lines.Bytes(), []byte("minted installation token")) {
			n++
			total += len(lines.Bytes()) + 1
		}
	}
	if n == 0 {
		return nil, lines.Err()
	}
	avg := float64(total) / float64(n)
	return &avg, lines.Err()
}

// benchSoak mints and revokes SOAK_TOKENS tokens and reports the plugin's
// memory, goroutines and threads at the start and the end.
func benchSoak(ctx context.Context, b *bench) error {
	noteLoad()
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

// benchScale writes SCALE_ROLES roles, lists them, mints once from each,
// then mints from the 500-repository role.
func benchScale(ctx context.Context, b *bench) error {
	noteLoad()
	if err := b.setup(ctx); err != nil {
		return err
	}
	before, err := b.main.roleCount(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"installation_id": strconv.FormatInt(b.emu.OrgInstallationID, 10),
		"repositories":    []string{"api", "web"},
		"permissions":     []string{"contents=read"},
	})
	if err != nil {
		return err
	}
	// No warm-up: it would write the first roles twice.
	each := func(label string, clients int, path string, total int) row {
		return row{label: label, vault: b.main, clients: clients, path: path, total: total}
	}
	write := each("roles-write", b.s.scaleClients, "github/roles/scale-{i}", b.s.scaleRoles)
	write.method, write.body = http.MethodPost, string(body)
	var all []report
	measure := func(r row) error {
		rep, err := b.measure(ctx, r)
		all = append(all, rep)
		return err
	}
	if err := measure(write); err != nil {
		return err
	}
	if err := measure(each("roles-list", 1, "github/roles?list=true", 20)); err != nil {
		return err
	}
	listed, err := b.main.roleCount(ctx)
	if err != nil {
		return err
	}
	if listed != b.s.scaleRoles+before {
		return fmt.Errorf("listed %d roles, wrote %d", listed, b.s.scaleRoles+before)
	}
	// Each role minted once: every read misses the role cache.
	if err := measure(each("mint-each-role", b.s.scaleClients, "github/token/scale-{i}", b.s.scaleRoles)); err != nil {
		return err
	}
	repos500 := b.timed("repos500", b.main, 4, "github/token/repos500")
	repos500.warmup = 2 * time.Second
	if err := measure(repos500); err != nil {
		return err
	}
	scaleTable(os.Stdout, all, b.s.scaleRoles, listed)
	return nil
}
