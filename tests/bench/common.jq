# Helpers shared by the table formatters (jq -L tests/bench: include "common";).
def round1: (. * 10 | round) / 10;
def round2: (. * 100 | round) / 100;
def mb: . / 1024 | round1;
# plugin reads a watched process figure, or "—".
def plugin($f): if .procs.plugin then .procs.plugin[$f] else null end;
def calls_per_op: if .github_requests == null or .count == 0 then "—" else .github_requests / .count | round2 end;
def met($ok): if $ok then "met" else "**missed**" end;
