# Formats the results of scripts/bench.sh scale as a markdown table.
include "common";

def title: {
  "roles-write": "write a role (\($roles) distinct roles)",
  "roles-list": "LIST roles (\($listed) keys)",
  "mint-each-role": "mint once from each of the \($roles) roles",
  "repos500": "mint from the 500-repository role"
}[.label];

"| Operation | Count | Clients | ops/s | p50 ms | p90 ms | p99 ms | max ms | Plugin CPU µs/op | Plugin peak RSS MB | GitHub calls/op | Busy CPUs (not ours) | Errors |",
"|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
(.[] | "| \(title) | \(.count) | \(.clients) | \(.rate | round) | \(.latency_ms.p50) | \(.latency_ms.p90) | \(.latency_ms.p99) | \(.latency_ms.max) | \(plugin("cpu_us_per_op") | round1) | \(plugin("peak_rss_kb") | mb) | \(calls_per_op) | \(.busy_cores | round2) (\(.other_cores | round2)) | \(.errors) |")
