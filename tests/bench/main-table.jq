# Formats the results of scripts/bench.sh main (a JSON array of loadgen
# reports labelled scenario@latency_ms) as markdown: the table, the TLS
# connection reuse, then the targets they decide.
include "common";

def scenario: .label | split("@")[0];
def latency: .label | split("@")[1] | tonumber;
# Token rows that mint through a common role; repos500 has targets of its own.
def common_token_row: scenario as $s | ["id", "owner", "repo1", "tls-repo1"] | any(. == $s);
def token_row: common_token_row or scenario == "repos500";
def plugin_row: token_row or scenario == "plugin" or scenario == "floor";
def title: {
  kv: "kv-v2 read (Vault floor, no lease)",
  github: "GitHub mint, direct (GitHub floor)",
  plugin: "roles/id read (plugin round trip, no GitHub, no lease)",
  floor: "floor/lease (lease floor: leased random string)",
  id: "token/id (installation-ID role)",
  owner: "token/owner (owner role)",
  repo1: "token/repo1 (one repository, 6 KB reply)",
  "tls-repo1": "token/repo1 over TLS (HTTP/2)",
  repos500: "token/repos500 (500 repositories, 3 MB reply)"
}[scenario];
# ideal is the rate the clients reach when every request takes exactly the
# emulator's latency.
def ideal: .clients * 1000 / latency;
def cpu: plugin("cpu_us_per_op");
def per10k($n): if .count == 0 then null else $n * 10000 / .count end;

. as $all
| def row_at($s; $ms): [$all[] | select(.label == "\($s)@\($ms)")][0];
  # floor_of is the lease-floor row measured at the same emulator latency.
  def floor_of: row_at("floor"; latency);
  def floor_ratio: if floor_of then .rate / floor_of.rate else null end;
  def above_floor: if floor_of then cpu - (floor_of | cpu) else null end;
  def ratio:
    if latency == 0 then
      (if token_row and floor_of then "\(floor_ratio | round2)× floor, \(.rate / row_at("kv"; 0).rate | round2)× kv"
       elif scenario == "floor" then "\(.rate / row_at("kv"; 0).rate | round2)× kv"
       else "—" end)
    elif (token_row or scenario == "github") | not then "—"
    else "\(.rate / ideal | round2)× ideal \(ideal | round)" end;
  def row:
    "| \(latency) ms | \(title) | \(.clients) | \(.rate | round) | \(.latency_ms.p50) | \(.latency_ms.p90) | \(.latency_ms.p99) | "
    + (if plugin_row then "\(cpu | round1) | \(plugin("peak_rss_kb") | mb)" else "— | —" end)
    + " | \(if token_row and floor_of then above_floor | round1 else "—" end)"
    + " | \(.procs.vault.cpu_us_per_op | round1) | \(.procs.ghemu.cpu_us_per_op | round1) | \(.busy_cores | round2) of \(.num_cpu) (\(.other_cores | round2) other)"
    + " | \(calls_per_op) | \(ratio) | \(.errors) |";
  def tls_row:
    "| \(latency) ms | \(title) | \(.count) | \(.github_tls.handshakes) | \(per10k(.github_tls.handshakes) | round2) | \(.github_tls.http2_requests) | \(.github_tls.http1_requests) |";
  def tokens: [$all[] | select(token_row)];
  def at0: [$all[] | select(common_token_row and latency == 0 and floor_of)];
  def at($ms): [tokens[] | select(latency == $ms)];
  def classic: [tokens[] | select(scenario == "id" or scenario == "owner")];
  def tls_rows: [$all[] | select(scenario | startswith("tls-"))];
  # listing shows one figure per row, as "id 120, owner 110".
  def listing(f): map("\(scenario) \(f)") | join(", ");

  "| Emulator latency | Scenario | Clients | req/s | p50 ms | p90 ms | p99 ms | Plugin CPU µs/req | Plugin peak RSS MB | Plugin CPU above floor µs | Vault CPU µs/req | Emulator CPU µs/req | Busy CPUs (not ours) | GitHub calls/req | Ratio | Errors |",
  "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|",
  ($all[] | row),
  (if (tls_rows | length) > 0 then
    "",
    "TLS connection reuse, counted at the emulator during each measured phase (after warm-up):",
    "",
    "| Emulator latency | Scenario | Tokens | TLS handshakes | Handshakes per 10,000 tokens | Requests over HTTP/2 | Requests over HTTP/1.1 |",
    "|---|---|--:|--:|--:|--:|--:|",
    (tls_rows[] | tls_row)
  else empty end),
  "",
  "| Target | Measured | Result |",
  "|---|---|---|",
  (if (at0 | length) > 0 then
    (at0 | ([.[] | above_floor] | max) as $worst
      | "| Plugin CPU above the lease floor ≤ 50 µs per token, 0 ms | \(listing(above_floor | round1)) µs | \(met($worst <= 50)) |"),
    (at0 | ([.[] | floor_ratio] | min) as $worst
      | "| Token rate ≥ 0.8 × lease-floor rate, 0 ms | \(listing("\(floor_ratio | round2)×")) | \(met($worst >= 0.8)) |")
  else empty end),
  ([tokens[] | select(scenario == "repos500")] | if length > 0 then
    ([.[] | cpu] | max) as $cpu
    | "| 500-repository token: plugin CPU ≤ 3 ms | \($cpu / 1000 | round2) ms | \(met($cpu <= 3000)) |"
  else empty end),
  (if (tls_rows | length) > 0 then
    (tls_rows | ([.[] | per10k(.github_tls.handshakes)] | max) as $hs
      | ([.[] | .github_tls.http1_requests] | add) as $h1
      | ([.[] | .github_tls.http2_requests] | add) as $h2
      | "| TLS: handshakes per 10,000 tokens ≈ 0, HTTP/2 negotiated | \($hs | round2) per 10,000; \($h2) requests over HTTP/2, \($h1) over HTTP/1.1 | \(met($hs < 1 and $h1 == 0 and $h2 > 0)) |")
  else empty end),
  (classic | if length > 0 then
    ([.[] | cpu] | max) as $cpu
    | "| Plugin CPU per token ≤ 200 µs (ID and owner roles; the earlier target) | \($cpu | round1) µs | \(met($cpu <= 200)) |"
  else empty end),
  ([tokens[] | select(scenario == "id") | calls_per_op] | max as $c
    | "| GitHub calls per token = 1.00, ID role | \($c) | \(met($c <= 1.005)) |"),
  ([tokens[] | select(scenario == "owner") | calls_per_op] | max as $c
    | "| GitHub calls per token = 1.00, owner role | \($c) | \(met($c <= 1.005)) |"),
  (if ([classic[] | select(latency == 0)] | length) > 0 then
    [classic[] | select(latency == 0) | .rate / row_at("kv"; 0).rate] | min as $r
    | "| Token rate at 0 ms ≥ 0.5 × kv-v2 rate (ID and owner roles; the earlier target) | \($r | round2)× | \(met($r >= 0.5)) |"
  else empty end),
  (if (at(100) | length) > 0 then
    [at(100)[] | select(common_token_row) | .rate / ideal] | min as $r
    | "| At 100 ms, \(at(100)[0].clients) clients: ≥ 90% of ideal \(at(100)[0] | ideal | round)/s | \($r * 100 | round1)% | \(met($r >= 0.9 and at(100)[0].clients == 64)) |"
  else empty end)
