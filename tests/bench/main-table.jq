# Formats the results of scripts/bench.sh main (a JSON array of loadgen
# reports labelled scenario@latency_ms) as markdown: the table, then the
# targets it decides.
include "common";

def scenario: .label | split("@")[0];
def latency: .label | split("@")[1] | tonumber;
def token_row: scenario == "id" or scenario == "owner";
def plugin_row: token_row or scenario == "plugin";
def title: {
  kv: "kv-v2 read (floor)",
  github: "GitHub mint, direct (floor)",
  plugin: "roles/id read (plugin round trip, no GitHub, no lease)",
  id: "token/id (installation-ID role)",
  owner: "token/owner (owner role)"
}[scenario];
# ideal is the rate the clients reach when every request takes exactly the
# emulator's latency.
def ideal: .clients * 1000 / latency;

. as $all
| def kv_rate($ms): [$all[] | select(.label == "kv@\($ms)") | .rate][0];
  def ratio:
    if latency == 0 then
      (if token_row then "\(.rate / kv_rate(0) | round2)× kv" else "—" end)
    elif (token_row or scenario == "github") | not then "—"
    else "\(.rate / ideal | round2)× ideal \(ideal | round)" end;
  def row:
    "| \(latency) ms | \(title) | \(.clients) | \(.rate | round) | \(.latency_ms.p50) | \(.latency_ms.p90) | \(.latency_ms.p99) | "
    + (if plugin_row then "\(plugin("cpu_us_per_op") | round1) | \(plugin("peak_rss_kb") | mb)" else "— | —" end)
    + " | \(.procs.vault.cpu_us_per_op | round1) | \(.procs.ghemu.cpu_us_per_op | round1) | \(.busy_cores | round2) of \(.num_cpu) (\(.other_cores | round2) other)"
    + " | \(calls_per_op) | \(ratio) | \(.errors) |";
  def tokens: [$all[] | select(token_row)];
  def at($ms): [tokens[] | select(latency == $ms)];

  "| Emulator latency | Scenario | Clients | req/s | p50 ms | p90 ms | p99 ms | Plugin CPU µs/req | Plugin peak RSS MB | Vault CPU µs/req | Emulator CPU µs/req | Busy CPUs (not ours) | GitHub calls/req | Ratio | Errors |",
  "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|",
  ($all[] | row),
  "",
  "| Target | Measured (worst row) | Result |",
  "|---|---|---|",
  ([tokens[] | plugin("cpu_us_per_op")] | max as $cpu
    | "| Plugin CPU per token ≤ 200 µs | \($cpu | round1) µs | \(met($cpu <= 200)) |"),
  ([tokens[] | select(scenario == "id") | calls_per_op] | max as $c
    | "| GitHub calls per token = 1.00, ID role | \($c) | \(met($c <= 1.005)) |"),
  ([tokens[] | select(scenario == "owner") | calls_per_op] | max as $c
    | "| GitHub calls per token = 1.00, owner role | \($c) | \(met($c <= 1.005)) |"),
  (if (at(0) | length) > 0 then
    [at(0)[] | .rate / kv_rate(0)] | min as $r
    | "| Token rate at 0 ms ≥ 0.5 × kv-v2 rate | \($r | round2)× | \(met($r >= 0.5)) |"
  else empty end),
  (if (at(100) | length) > 0 then
    [at(100)[] | .rate / ideal] | min as $r
    | "| At 100 ms, \(at(100)[0].clients) clients: ≥ 90% of ideal \(at(100)[0] | ideal | round)/s | \($r * 100 | round1)% | \(met($r >= 0.9 and at(100)[0].clients == 64)) |"
  else empty end)
