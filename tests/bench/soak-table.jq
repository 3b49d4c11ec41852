# Formats the result of scripts/bench.sh soak (one loadgen report) as a
# markdown table. $settled is the plugin's RSS in kB some seconds after the
# run, $live the tokens the emulator still holds live, $g0 and $g1 the
# plugin's goroutines at start and end (from pprof; null if unavailable).
include "common";

.procs.plugin as $p
| .procs.vault as $v
| (([$p.rss_end_kb, $settled] | max) - $p.rss_start_kb) as $growth
| "| Measure | Value |",
  "|---|--:|",
  "| Tokens minted and revoked | \(.revoked) of \(.count) minted (\(.errors) mint errors, \(.revoke_errors // 0) revoke errors) |",
  "| Clients | \(.clients) |",
  "| Duration | \(.seconds | round) s (\(.rate | round) tokens/s, mint p50 \(.latency_ms.p50) ms, p99 \(.latency_ms.p99) ms) |",
  "| Plugin RSS at start / end / 10 s later | \($p.rss_start_kb | mb) / \($p.rss_end_kb | mb) / \($settled | mb) MB |",
  "| Plugin peak RSS during the run | \($p.peak_rss_kb | mb) MB |",
  "| Plugin RSS growth (worst of end, 10 s later) | \($growth | mb) MB — target < 10 MB: \(met($growth < 10240)) |",
  "| Plugin goroutines at start / end (pprof) | \($g0 // "n/a") / \($g1 // "n/a") |",
  "| Plugin OS threads at start / end | \($p.threads_start) / \($p.threads_end) |",
  "| Plugin CPU per token, mint + revoke | \($p.cpu_us_per_op | round1) µs |",
  "| Vault RSS at start / end | \($v.rss_start_kb | mb) / \($v.rss_end_kb | mb) MB |",
  "| GitHub calls per token (mint + revoke) | \(calls_per_op) |",
  "| Tokens still live at GitHub afterwards | \($live) |",
  "| Machine CPUs busy during the run (not ours) | \(.busy_cores | round2) of \(.num_cpu) (\(.other_cores | round2)) |"
