package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The tables of docs/benchmarks.md, in markdown. Figures are rounded as
// they are printed there: CPU to 0.1 µs, ratios to 0.01, memory to 0.1 MB.

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// num prints a figure in its shortest form: 12.116, 1193, 0.5.
func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func mb(kb int) string { return num(round1(float64(kb) / 1024)) }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r report) pluginCPU() float64 { return r.Procs["plugin"].CPUPerOpUS }

func (r report) busy() string {
	return fmt.Sprintf("%s of %d (%s other)", num(round2(r.BusyCores)), r.NumCPU, num(round2(r.OtherCores)))
}

// callsPerOp is the GitHub requests per operation, or false for a row
// that made none.
func (r report) callsPerOp() (float64, bool) {
	if r.Count == 0 {
		return 0, false
	}
	return round2(float64(r.GitHubRequests) / float64(r.Count)), true
}

func (r report) calls() string {
	if c, ok := r.callsPerOp(); ok {
		return num(c)
	}
	return "—"
}

// scenario and latency split a main row's label, scenario@ms.
func (r report) scenario() string {
	s, _, _ := strings.Cut(r.Label, "@")
	return s
}

func (r report) latency() int {
	_, ms, _ := strings.Cut(r.Label, "@")
	n, _ := strconv.Atoi(ms)
	return n
}

var titles = map[string]string{
	"kv":        "kv-v2 read (Vault floor, no lease)",
	"github":    "GitHub mint, direct (GitHub floor)",
	"plugin":    "roles/id read (plugin round trip, no GitHub, no lease)",
	"floor":     "floor/lease (lease floor: leased random string)",
	"id":        "token/id (installation-ID role)",
	"owner":     "token/owner (owner role)",
	"repo1":     "token/repo1 (one repository, 6 KB reply)",
	"tls-repo1": "token/repo1 over TLS (HTTP/2)",
	"repos500":  "token/repos500 (500 repositories, 3 MB reply)",
}

// commonToken rows mint through a common role; repos500 has targets of
// its own.
func (r report) commonToken() bool {
	return slices.Contains([]string{"id", "owner", "repo1", "tls-repo1"}, r.scenario())
}
func (r report) token() bool { return r.commonToken() || r.scenario() == "repos500" }
func (r report) pluginRow() bool {
	return r.token() || r.scenario() == "plugin" || r.scenario() == "floor"
}

// ideal is the rate the clients reach when every request takes exactly the
// emulator's latency.
func (r report) ideal() float64 { return float64(r.Clients) * 1000 / float64(r.latency()) }

func (r report) per10k(n int64) float64 {
	if r.Count == 0 {
		return 0
	}
	return float64(n) * 10000 / float64(r.Count)
}

// mainRows are the rows of the main benchmark, in run order.
type mainRows []report

func (all mainRows) at(scenario string, ms int) *report {
	for i := range all {
		if all[i].scenario() == scenario && all[i].latency() == ms {
			return &all[i]
		}
	}
	return nil
}

// floorOf is the lease-floor row measured at r's emulator latency.
func (all mainRows) floorOf(r report) *report { return all.at("floor", r.latency()) }

func (all mainRows) floorRatio(r report) float64 { return r.Rate / all.floorOf(r).Rate }
func (all mainRows) aboveFloor(r report) float64 { return r.pluginCPU() - all.floorOf(r).pluginCPU() }
func (all mainRows) kvRatio(r report) float64    { return r.Rate / all.at("kv", 0).Rate }

func (all mainRows) ratio(r report) string {
	switch {
	case r.latency() == 0 && r.token() && all.floorOf(r) != nil:
		return fmt.Sprintf("%s× floor, %s× kv", num(round2(all.floorRatio(r))), num(round2(all.kvRatio(r))))
	case r.latency() == 0 && r.scenario() == "floor":
		return num(round2(all.kvRatio(r))) + "× kv"
	case r.latency() == 0, !r.token() && r.scenario() != "github":
		return "—"
	}
	return fmt.Sprintf("%s× ideal %s", num(round2(r.Rate/r.ideal())), num(math.Round(r.ideal())))
}

func (all mainRows) line(r report) string {
	cpu, above := "— | —", "—"
	if r.pluginRow() {
		cpu = num(round1(r.pluginCPU())) + " | " + mb(r.Procs["plugin"].PeakRSSKB)
	}
	if r.token() && all.floorOf(r) != nil {
		above = num(round1(all.aboveFloor(r)))
	}
	return fmt.Sprintf("| %d ms | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |",
		r.latency(), titles[r.scenario()], r.Clients, num(math.Round(r.Rate)),
		num(r.LatencyMS.P50), num(r.LatencyMS.P90), num(r.LatencyMS.P99), cpu, above,
		num(round1(r.Procs["vault"].CPUPerOpUS)), num(round1(r.Procs["ghemu"].CPUPerOpUS)), r.busy(),
		r.calls(), all.ratio(r), r.Errors)
}

func (all mainRows) filter(keep func(report) bool) mainRows {
	var out mainRows
	for _, r := range all {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// listing shows one figure per row, as "id 120, owner 110".
func (all mainRows) listing(figure func(report) string) string {
	parts := make([]string, len(all))
	for i, r := range all {
		parts[i] = r.scenario() + " " + figure(r)
	}
	return strings.Join(parts, ", ")
}

// largest and smallest are a figure's extremes over rows.
func largest(rows mainRows, figure func(report) float64) float64 {
	out := figure(rows[0])
	for _, r := range rows[1:] {
		out = max(out, figure(r))
	}
	return out
}

func smallest(rows mainRows, figure func(report) float64) float64 {
	out := figure(rows[0])
	for _, r := range rows[1:] {
		out = min(out, figure(r))
	}
	return out
}

// mainTable prints the main benchmark's table, the TLS connection reuse and
// the targets they decide.
func mainTable(w io.Writer, all mainRows) {
	p := func(lines ...string) {
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
	p("| Emulator latency | Scenario | Clients | req/s | p50 ms | p90 ms | p99 ms | Plugin CPU µs/req | Plugin peak RSS MB | Plugin CPU above floor µs | Vault CPU µs/req | Emulator CPU µs/req | Busy CPUs (not ours) | GitHub calls/req | Ratio | Errors |",
		"|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|")
	for _, r := range all {
		p(all.line(r))
	}
	tls := all.filter(func(r report) bool { return strings.HasPrefix(r.scenario(), "tls-") })
	if len(tls) > 0 {
		p("", "TLS connection reuse, counted at the emulator during each measured phase (after warm-up):", "",
			"| Emulator latency | Scenario | Tokens | TLS handshakes | Handshakes per 10,000 tokens | Requests over HTTP/2 | Requests over HTTP/1.1 |",
			"|---|---|--:|--:|--:|--:|--:|")
		for _, r := range tls {
			p(fmt.Sprintf("| %d ms | %s | %d | %d | %s | %d | %d |", r.latency(), titles[r.scenario()], r.Count,
				r.GitHubTLS.Handshakes, num(round2(r.per10k(r.GitHubTLS.Handshakes))), r.GitHubTLS.HTTP2Requests, r.GitHubTLS.HTTP1Requests))
		}
	}
	p("", "| Target | Measured | Result |", "|---|---|---|")
	for _, target := range all.targets(tls) {
		p(target)
	}
}

// targets are the rows of the targets table that the measured rows decide.
func (all mainRows) targets(tls mainRows) []string {
	var out []string
	tokens := all.filter(report.token)
	at0 := all.filter(func(r report) bool { return r.commonToken() && r.latency() == 0 && all.floorOf(r) != nil })
	if len(at0) > 0 {
		worst := largest(at0, all.aboveFloor)
		out = append(out, fmt.Sprintf("| Plugin CPU above the lease floor ≤ 50 µs per token, 0 ms | %s µs | %s |",
			at0.listing(func(r report) string { return num(round1(all.aboveFloor(r))) }), met(worst <= 50)))
		worst = smallest(at0, all.floorRatio)
		out = append(out, fmt.Sprintf("| Token rate ≥ 0.8 × lease-floor rate, 0 ms | %s | %s |",
			at0.listing(func(r report) string { return num(round2(all.floorRatio(r))) + "×" }), met(worst >= 0.8)))
	}
	if rows := tokens.filter(func(r report) bool { return r.scenario() == "repos500" }); len(rows) > 0 {
		cpu := largest(rows, report.pluginCPU)
		out = append(out, fmt.Sprintf("| 500-repository token: plugin CPU ≤ 3 ms | %s ms | %s |", num(round2(cpu/1000)), met(cpu <= 3000)))
	}
	if len(tls) > 0 {
		hs := largest(tls, func(r report) float64 { return r.per10k(r.GitHubTLS.Handshakes) })
		var h1, h2 int64
		for _, r := range tls {
			h1, h2 = h1+r.GitHubTLS.HTTP1Requests, h2+r.GitHubTLS.HTTP2Requests
		}
		out = append(out, fmt.Sprintf("| TLS: handshakes per 10,000 tokens ≈ 0, HTTP/2 negotiated | %s per 10,000; %d requests over HTTP/2, %d over HTTP/1.1 | %s |",
			num(round2(hs)), h2, h1, met(hs < 1 && h1 == 0 && h2 > 0)))
	}
	classic := tokens.filter(func(r report) bool { return r.scenario() == "id" || r.scenario() == "owner" })
	if len(classic) > 0 {
		cpu := largest(classic, report.pluginCPU)
		out = append(out, fmt.Sprintf("| Plugin CPU per token ≤ 200 µs (ID and owner roles; the earlier target) | %s µs | %s |", num(round1(cpu)), met(cpu <= 200)))
	}
	for _, c := range []struct{ scenario, role string }{{"id", "ID role"}, {"owner", "owner role"}} {
		rows := tokens.filter(func(r report) bool { _, ok := r.callsPerOp(); return r.scenario() == c.scenario && ok })
		if len(rows) > 0 {
			calls := largest(rows, func(r report) float64 { f, _ := r.callsPerOp(); return f })
			out = append(out, fmt.Sprintf("| GitHub calls per token = 1.00, %s | %s | %s |", c.role, num(calls), met(calls <= 1.005)))
		}
	}
	if rows := classic.filter(func(r report) bool { return r.latency() == 0 }); len(rows) > 0 {
		ratio := smallest(rows, all.kvRatio)
		out = append(out, fmt.Sprintf("| Token rate at 0 ms ≥ 0.5 × kv-v2 rate (ID and owner roles; the earlier target) | %s× | %s |", num(round2(ratio)), met(ratio >= 0.5)))
	}
	if at100 := tokens.filter(func(r report) bool { return r.latency() == 100 }); len(at100) > 0 {
		first := at100[0]
		ratio := smallest(at100.filter(report.commonToken), func(r report) float64 { return r.Rate / r.ideal() })
		out = append(out, fmt.Sprintf("| At 100 ms, %d clients: ≥ 90%% of ideal %s/s | %s%% | %s |",
			first.Clients, num(math.Round(first.ideal())), num(round1(ratio*100)), met(ratio >= 0.9 && first.Clients == 64)))
	}
	return out
}

// logTable prints the log-level rows (labelled log-<level>-<round>@0) with
// the average length of the mint lines each added to the info Vault's log.
func logTable(w io.Writer, rows []report, lineBytes []*float64) {
	fmt.Fprintln(w, "| Vault log level | Round | req/s | p50 ms | p99 ms | Plugin CPU µs/req | Vault CPU µs/req | Bytes per mint line in Vault's log | Errors |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for i, r := range rows {
		name, _, _ := strings.Cut(r.Label, "@")
		parts := strings.Split(name, "-") // log, level, round
		bytes := "—"
		if lineBytes[i] != nil {
			bytes = num(math.Round(*lineBytes[i]))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", parts[1], parts[2], num(math.Round(r.Rate)),
			num(r.LatencyMS.P50), num(r.LatencyMS.P99), num(round1(r.pluginCPU())), num(round1(r.Procs["vault"].CPUPerOpUS)), bytes, r.Errors)
	}
}

// scaleTable prints the scale benchmark's rows.
func scaleTable(w io.Writer, rows []report, roles, listed int) {
	titles := map[string]string{
		"roles-write":    fmt.Sprintf("write a role (%d distinct roles)", roles),
		"roles-list":     fmt.Sprintf("LIST roles (%d keys)", listed),
		"mint-each-role": fmt.Sprintf("mint once from each of the %d roles", roles),
		"repos500":       "mint from the 500-repository role",
	}
	fmt.Fprintln(w, "| Operation | Count | Clients | ops/s | p50 ms | p90 ms | p99 ms | max ms | Plugin CPU µs/op | Plugin peak RSS MB | GitHub calls/op | Busy CPUs (not ours) | Errors |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %d |\n", titles[r.Label], r.Count, r.Clients,
			num(math.Round(r.Rate)), num(r.LatencyMS.P50), num(r.LatencyMS.P90), num(r.LatencyMS.P99), num(r.LatencyMS.Max),
			num(round1(r.pluginCPU())), mb(r.Procs["plugin"].PeakRSSKB), r.calls(),
			num(round2(r.BusyCores)), num(round2(r.OtherCores)), r.Errors)
	}
}

// soakEnd is what the soak reads after its row: the plugin's RSS some
// seconds later, the tokens the emulator still holds live, and the
// plugin's goroutines at start and end (nil when pprof did not answer).
type soakEnd struct {
	settledKB, liveTokens          int
	goroutinesStart, goroutinesEnd *int
}

// soakTable prints the soak's measures.
func soakTable(w io.Writer, r report, end soakEnd) {
	p, v := r.Procs["plugin"], r.Procs["vault"]
	growth := max(p.RSSEndKB, end.settledKB) - p.RSSStartKB
	orNA := func(n *int) string {
		if n == nil {
			return "n/a"
		}
		return strconv.Itoa(*n)
	}
	rows := [][2]string{
		{"Tokens minted and revoked", fmt.Sprintf("%d of %d minted (%d mint errors, %d revoke errors)", r.Revoked, r.Count, r.Errors, r.RevokeError)},
		{"Clients", strconv.Itoa(r.Clients)},
		{"Duration", fmt.Sprintf("%s s (%s tokens/s, mint p50 %s ms, p99 %s ms)", num(math.Round(r.Seconds)), num(math.Round(r.Rate)), num(r.LatencyMS.P50), num(r.LatencyMS.P99))},
		{"Plugin RSS at start / end / 10 s later", fmt.Sprintf("%s / %s / %s MB", mb(p.RSSStartKB), mb(p.RSSEndKB), mb(end.settledKB))},
		{"Plugin peak RSS during the run", mb(p.PeakRSSKB) + " MB"},
		{"Plugin RSS growth (worst of end, 10 s later)", fmt.Sprintf("%s MB — target < 10 MB: %s", mb(growth), met(growth < 10240))},
		{"Plugin goroutines at start / end (pprof)", orNA(end.goroutinesStart) + " / " + orNA(end.goroutinesEnd)},
		{"Plugin OS threads at start / end", fmt.Sprintf("%d / %d", p.ThreadsStart, p.ThreadsEnd)},
		{"Plugin CPU per token, mint + revoke", num(round1(p.CPUPerOpUS)) + " µs"},
		{"Vault RSS at start / end", fmt.Sprintf("%s / %s MB", mb(v.RSSStartKB), mb(v.RSSEndKB))},
		{"GitHub calls per token (mint + revoke)", r.calls()},
		{"Tokens still live at GitHub afterwards", strconv.Itoa(end.liveTokens)},
		{"Machine CPUs busy during the run (not ours)", fmt.Sprintf("%s of %d (%s)", num(round2(r.BusyCores)), r.NumCPU, num(round2(r.OtherCores)))},
	}
	fmt.Fprintln(w, "| Measure | Value |")
	fmt.Fprintln(w, "|---|--:|")
	for _, row := range rows {
		fmt.Fprintf(w, "| %s | %s |\n", row[0], row[1])
	}
}
