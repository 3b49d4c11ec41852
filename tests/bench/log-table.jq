# Formats scripts/bench.sh's log_levels rows (loadgen reports labelled
# log-<level>-<round>@0, with $bytes: the average length of the mint lines
# each row added to the info Vault's log, null for none) as a markdown table.
include "common";

def level: .label | split("-")[1];
def turn: .label | split("-")[2] | split("@")[0];

"| Vault log level | Round | req/s | p50 ms | p99 ms | Plugin CPU µs/req | Vault CPU µs/req | Bytes per mint line in Vault's log | Errors |",
"|---|--:|--:|--:|--:|--:|--:|--:|--:|",
(to_entries[] | .key as $i | .value
  | "| \(level) | \(turn) | \(.rate | round) | \(.latency_ms.p50) | \(.latency_ms.p99) | \(plugin("cpu_us_per_op") | round1) | \(.procs.vault.cpu_us_per_op | round1) | \((if $bytes[$i] then $bytes[$i] | round else "—" end)) | \(.errors) |")
