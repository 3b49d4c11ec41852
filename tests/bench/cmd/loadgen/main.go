// Command loadgen drives a Vault path, or the emulated GitHub directly, with
// N concurrent clients for a duration or a number of requests, and prints
// one JSON object: count, rate, latency percentiles, errors, and, when
// asked, the CPU time and memory of watched processes and the GitHub calls
// the emulator served during the measured phase. scripts/bench.sh builds its
// tables from that object.
//
//	loadgen -addr $VAULT_ADDR -path github/token/ci -c 16 -d 10s \
//	    -proc plugin=$PLUGIN_PID -ghemu $GHEMU_URL
//	loadgen -github -addr $GHEMU_URL -key app.pem -app-id 1234 -installation 1001
//
// A -path may hold "{i}", replaced by the request's sequence number, to
// write many distinct paths (-method POST -body '{...}'). -revoke revokes
// each minted lease right away, so that a soak does not pile up tokens.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// options holds the command-line flags.
type options struct {
	label   string
	addr    string
	clients int
	dur     time.Duration
	total   int
	warmup  time.Duration
	every   time.Duration

	// Vault
	token, path, method, body string
	revoke                    bool

	// GitHub floor
	github         bool
	keyFile        string
	appID, install int64

	procs    procFlag
	ghemuURL string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&o.label, "label", "", "free text copied to the output")
	fs.StringVar(&o.addr, "addr", os.Getenv("VAULT_ADDR"), "base URL of Vault, or of the emulator with -github")
	fs.IntVar(&o.clients, "c", 16, "concurrent clients")
	fs.DurationVar(&o.dur, "d", 10*time.Second, "measured duration (0: until -n requests)")
	fs.IntVar(&o.total, "n", 0, "stop after this many measured requests (0: until -d)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before the measured phase (connections, caches, JWT)")
	fs.DurationVar(&o.every, "progress", 0, "print progress and watched processes' memory to stderr this often")
	fs.StringVar(&o.token, "token", os.Getenv("VAULT_TOKEN"), "Vault token")
	fs.StringVar(&o.path, "path", "", `Vault API path without /v1/, e.g. github/token/ci; "{i}" is replaced by the request number`)
	fs.StringVar(&o.method, "method", http.MethodGet, "HTTP method for -path")
	fs.StringVar(&o.body, "body", "", "JSON request body for -path")
	fs.BoolVar(&o.revoke, "revoke", false, "revoke each response's lease (PUT /v1/sys/leases/revoke)")
	fs.BoolVar(&o.github, "github", false, "mint installation tokens at the emulator directly, as the floor any plugin has to stand on")
	fs.StringVar(&o.keyFile, "key", "", "App private key (PEM), with -github; the JWT is signed once")
	fs.Int64Var(&o.appID, "app-id", 0, "App ID, with -github")
	fs.Int64Var(&o.install, "installation", 0, "installation ID, with -github")
	fs.Var(&o.procs, "proc", "watch a process: name=pid (repeatable); reports CPU time and memory")
	fs.StringVar(&o.ghemuURL, "ghemu", "", "emulator URL; reports the GitHub requests served during the measured phase")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.addr == "":
		return o, errors.New("-addr is required")
	case o.clients < 1:
		return o, errors.New("-c must be at least 1")
	case o.dur <= 0 && o.total <= 0:
		return o, errors.New("one of -d or -n is required")
	case o.github && (o.keyFile == "" || o.appID <= 0 || o.install <= 0):
		return o, errors.New("-github needs -key, -app-id and -installation")
	case !o.github && o.path == "":
		return o, errors.New("-path is required")
	}
	return o, nil
}

// report is the JSON output.
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
	// from the plugin and loadgen alike; nil without -ghemu.
	GitHubRequests *int `json:"github_requests,omitempty"`
	// GitHubTLS is what the emulator's TLS listener saw in the measured
	// phase; nil without -ghemu.
	GitHubTLS *tlsReport            `json:"github_tls,omitempty"`
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

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	client := newHTTPClient(o.clients)
	op, target, err := newOperation(o, client)
	if err != nil {
		return err
	}

	if o.warmup > 0 {
		if res := drive(ctx, op, o.clients, o.warmup, 0); res.count == 0 && res.errors > 0 {
			return fmt.Errorf("every warm-up request failed: %s", res.firstErr)
		}
	}
	watch, err := startWatch(o.procs)
	if err != nil {
		return err
	}
	ghBefore, err := emulatorStats(ctx, client, o.ghemuURL)
	if err != nil {
		return err
	}
	stopProgress := progress(o.every, watch)
	res := drive(ctx, op, o.clients, o.dur, o.total)
	stopProgress()
	rep := report{
		Label: o.label, Target: target, Clients: o.clients,
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
	if o.ghemuURL != "" {
		after, err := emulatorStats(ctx, client, o.ghemuURL)
		if err != nil {
			return err
		}
		d := after.Requests - ghBefore.Requests
		rep.GitHubRequests = &d
		rep.GitHubTLS = &tlsReport{
			Handshakes:    after.TLSHandshakes - ghBefore.TLSHandshakes,
			HTTP2Requests: after.TLSRequestsHTTP2 - ghBefore.TLSRequestsHTTP2,
			HTTP1Requests: after.TLSRequestsHTTP1 - ghBefore.TLSRequestsHTTP1,
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// tlsReport counts what the emulator's TLS listener saw: handshakes, and
// API requests by the protocol negotiated.
type tlsReport struct {
	Handshakes    int64 `json:"handshakes"`
	HTTP2Requests int64 `json:"http2_requests"`
	HTTP1Requests int64 `json:"http1_requests"`
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
