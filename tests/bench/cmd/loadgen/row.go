package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// row is one measured phase of load: a Vault path, or minting at the
// emulator directly.
type row struct {
	label    string
	clients  int
	dur      time.Duration // 0: until total requests
	total    int           // 0: until dur
	warmup   time.Duration
	progress time.Duration // print the watched processes' memory this often

	vault  *vault // the server driven and watched (also for github rows)
	plugin int    // the plugin process watched: the engine's unless set
	method string
	path   string // "{i}" is replaced by the request's sequence number
	body   string
	revoke bool // revoke each response's lease right away

	github bool // mint at the emulator directly: the GitHub floor
}

// timed is a row of the usual shape: s.seconds measured after s.warmup.
func (b *bench) timed(label string, v *vault, clients int, path string) row {
	return row{label: label, vault: v, clients: clients, path: path, dur: b.s.measured(), warmup: b.s.warmup}
}

// report is a row's result, kept as JSON with BENCH_JSON.
type report struct {
	Label       string  `json:"label,omitempty"`
	Target      string  `json:"target"`
	Clients     int     `json:"clients"`
	Seconds     float64 `json:"seconds"`
	Count       int     `json:"count"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Rate        float64 `json:"rate"`
	LatencyMS   latency `json:"latency_ms"`
	Revoked     int     `json:"revoked,omitempty"`
	RevokeError int     `json:"revoke_errors,omitempty"`
	// GitHubRequests is what the emulator served in the measured phase,
	// from the plugin and loadgen alike.
	GitHubRequests int `json:"github_requests"`
	// GitHubTLS is what the emulator's TLS listener saw in the measured
	// phase.
	GitHubTLS tlsReport             `json:"github_tls"`
	Procs     map[string]procReport `json:"procs"`
	// BusyCores is the machine's CPU use during the measured phase, in
	// CPUs (at most NumCPU).
	BusyCores float64 `json:"busy_cores"`
	// OtherCores is the part of BusyCores that no watched process (nor
	// loadgen) used: other work on a shared machine, which the figures
	// above then compete with.
	OtherCores float64 `json:"other_cores"`
	NumCPU     int     `json:"num_cpu"`
}

// tlsReport counts what the emulator's TLS listener saw: handshakes, and
// API requests by the protocol negotiated.
type tlsReport struct {
	Handshakes    int64 `json:"handshakes"`
	HTTP2Requests int64 `json:"http2_requests"`
	HTTP1Requests int64 `json:"http1_requests"`
}

// measure runs a row: a warm-up, then the measured phase with the plugin,
// Vault, the emulator and loadgen itself watched and GitHub calls counted.
func (b *bench) measure(ctx context.Context, r row) (report, error) {
	logf("running %s", r.label)
	// The emulator records every request it serves; forgetting them
	// before each row keeps its heap, and with it its GC work per
	// request, from growing with the rows run before, which would tax
	// the later rows on the shared CPUs.
	if _, err := b.emu.control(ctx, http.MethodPost, "reset-requests", ""); err != nil {
		return report{}, err
	}
	client := newHTTPClient(r.clients)
	defer client.CloseIdleConnections()
	op, target, err := b.operation(r, client)
	if err != nil {
		return report{}, err
	}
	if r.warmup > 0 {
		if res := drive(ctx, op, r.clients, r.warmup, 0); res.count == 0 && res.errors > 0 {
			return report{}, fmt.Errorf("%s: every warm-up request failed: %s", r.label, res.firstErr)
		}
	}
	watch, err := startWatch([]watched{
		{"plugin", cmp.Or(r.plugin, r.vault.pluginPID)}, {"vault", r.vault.dev.Process.PID()}, {"ghemu", b.emu.proc.PID()},
	})
	if err != nil {
		return report{}, err
	}
	before, err := b.emu.stats(ctx)
	if err != nil {
		return report{}, err
	}
	stopProgress := progress(r.progress, watch)
	res := drive(ctx, op, r.clients, r.dur, r.total)
	stopProgress()
	if err := ctx.Err(); err != nil {
		return report{}, fmt.Errorf("%s: %w", r.label, err) // interrupted: no figures
	}
	rep := report{
		Label: r.label, Target: target, Clients: r.clients,
		Seconds: res.elapsed.Seconds(), Count: res.count, Errors: res.errors, FirstError: res.firstErr,
		Rate:      float64(res.count) / res.elapsed.Seconds(),
		LatencyMS: percentiles(res.latencies),
		Revoked:   res.revoked, RevokeError: res.revokeErrors,
		Procs:     watch.finish(res.count),
		BusyCores: watch.busyCores(),
		NumCPU:    runtime.NumCPU(),
	}
	rep.OtherCores = rep.BusyCores
	for _, p := range rep.Procs {
		rep.OtherCores -= p.CPUSeconds / rep.Seconds
	}
	rep.OtherCores = max(rep.OtherCores, 0)
	after, err := b.emu.stats(ctx)
	if err != nil {
		return report{}, err
	}
	rep.GitHubRequests = after.Requests - before.Requests
	rep.GitHubTLS = tlsReport{
		Handshakes:    after.TLSHandshakes - before.TLSHandshakes,
		HTTP2Requests: after.TLSRequestsHTTP2 - before.TLSRequestsHTTP2,
		HTTP1Requests: after.TLSRequestsHTTP1 - before.TLSRequestsHTTP1,
	}
	if rep.Errors > 0 {
		logf("%s: %d errors, first: %s", r.label, rep.Errors, rep.FirstError)
	}
	return rep, b.keep(rep)
}

// operation builds what a row requests, and names its target.
func (b *bench) operation(r row, client *http.Client) (operation, string, error) {
	if r.github {
		op, err := newGitHubOp(b.emu, client)
		return op, "github", err
	}
	return &vaultOp{
		client: client, addr: r.vault.dev.Addr, token: r.vault.dev.Token,
		method: cmp.Or(r.method, http.MethodGet), path: r.path, body: []byte(r.body), revokes: r.revoke,
	}, "vault:" + r.path, nil
}

// keep writes a row's report where BENCH_JSON asks.
func (b *bench) keep(rep report) error {
	if b.s.jsonDir == "" {
		return nil
	}
	if err := os.MkdirAll(b.s.jsonDir, 0o750); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	name := strings.ReplaceAll(rep.Label, "/", "-") + ".json"
	return os.WriteFile(filepath.Join(b.s.jsonDir, name), append(data, '\n'), 0o644)
}

// newHTTPClient keeps one connection per client alive, so that the
// measurement is of requests, not of TCP handshakes.
func newHTTPClient(clients int) *http.Client {
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			MaxIdleConns:        clients * 2,
			MaxIdleConnsPerHost: clients * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}
