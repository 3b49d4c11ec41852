#!/usr/bin/env bash
# End-to-end benchmarks: a real Vault dev server running the plugin against
# the GitHub emulator, driven over Vault's HTTP API by tests/bench/cmd/loadgen.
# Prints markdown tables; docs/benchmarks.md explains them. Run it with
# `make bench` (which builds the plugin and provisions Vault), or:
#
#   scripts/bench.sh [main]   throughput, latency, plugin CPU and memory per
#                             token, GitHub calls per token, against the
#                             lease floor (tests/bench/floor) and kv-v2; one-
#                             and 500-repository tokens; GitHub over TLS;
#                             0 and 100 ms emulator latency; then token/id
#                             side by side on Vault at log level error and
#                             at its default, info (about 3 minutes)
#   scripts/bench.sh soak     SOAK_TOKENS tokens minted and revoked; plugin
#                             memory and threads at start and end
#   scripts/bench.sh scale    SCALE_ROLES roles written, listed and minted
#                             from; a 500-repository role minted
#
# Settings (environment):
#   BENCH_SECONDS   measured seconds per row (5)     BENCH_WARMUP  warm-up (1s)
#   BENCH_LATENCIES emulator latencies, ms ("0 100") BENCH_C0      clients at 0 ms (16)
#   BENCH_C         clients at other latencies (64)
#   BENCH_C500      clients for 500-repository tokens, at 0 ms only (4)
#   SOAK_TOKENS (100000)  SOAK_CLIENTS (16)  SOAK_ROLE (id)
#   SCALE_ROLES (10000)   SCALE_CLIENTS (16)
#   BENCH_JSON      a directory to keep loadgen's raw JSON results in
#   BENCH_PPROF     a directory: run the profiling build of the plugin
#                   (the plugin built with -tags pprof) and save a CPU profile of the
#                   plugin process for every token row there (main mode);
#                   soak always runs that build, to count goroutines
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_WARMUP=${BENCH_WARMUP:-1s}
BENCH_LATENCIES=${BENCH_LATENCIES:-0 100}
BENCH_C0=${BENCH_C0:-16}
BENCH_C=${BENCH_C:-64}
BENCH_C500=${BENCH_C500:-4}
SOAK_TOKENS=${SOAK_TOKENS:-100000}
SOAK_CLIENTS=${SOAK_CLIENTS:-16}
SOAK_ROLE=${SOAK_ROLE:-id}
SCALE_ROLES=${SCALE_ROLES:-10000}
SCALE_CLIENTS=${SCALE_CLIENTS:-16}
# Bulk repositories in the emulator: GitHub's limit for one token.
BULK_REPOS=500
FLOOR_NAME=vault-plugin-bench-floor

RESULTS="$WORK/results"
ROOT_BENCH="$ROOT/tests/bench"
RUNS=() # result names, in run order

log() { echo "bench: $*" >&2; }

# use_profiling_build makes start_vault run the plugin built with -tags
# pprof, which serves net/http/pprof at $PPROF_URL.
use_profiling_build() {
	PLUGIN_BIN="$WORK/$PLUGIN_NAME-pprof"
	go build -tags pprof -trimpath -ldflags "-X github.com/vault-github-app/vault-plugin-secrets-github-app.Version=$PLUGIN_VERSION" \
		-o "$PLUGIN_BIN" "$ROOT/cmd/$PLUGIN_NAME" || die "building the profiling plugin failed"
	PPROF_URL="http://127.0.0.1:$(free_port)"
	PLUGIN_ENV+=("BENCH_PPROF_ADDR=${PPROF_URL#http://}")
}

# goroutines prints the plugin's goroutine count (profiling build only), or
# null when pprof does not answer.
goroutines() {
	local n
	n=$(curl -sf "$PPROF_URL/debug/pprof/goroutine?debug=1" | sed -n 's/^goroutine profile: total //p') || true
	echo "${n:-null}"
}

# setup starts the emulator (plain HTTP, and HTTPS with a CA of its own)
# and Vault; mounts the engine at github/ with an ID role, an owner role, a
# one-repository role and a 500-repository role, and at github-tls/ with
# the one-repository role against the emulator's HTTPS listener; the lease
# floor at floor/; and kv-v2 with one secret.
setup() {
	mkdir -p "$RESULTS"
	go build -o "$WORK/loadgen" "$ROOT_BENCH/cmd/loadgen" || die "building loadgen failed"
	go build -trimpath -o "$WORK/floor" "$ROOT_BENCH/floor" || die "building the lease floor failed"
	start_ghemu -bulk-repos "$BULK_REPOS" -tls-addr "127.0.0.1:$(free_port)" -tls-ca-out "$WORK/ca.pem"
	GHEMU_TLS_URL=$(jq -r .tls_url "$WORK/ghemu.json")
	# The plugin trusts the emulator's CA as any Go program on Linux can be
	# made to, without a change to its code: GitHub's real certificate
	# chains to the system roots, which SSL_CERT_FILE replaces.
	PLUGIN_ENV+=("SSL_CERT_FILE=$WORK/ca.pem")
	VAULT_LOG_LEVEL=${VAULT_LOG_LEVEL:-error} start_vault
	register_plugin "$FLOOR_NAME" "$WORK/floor"
	log "Vault $("$VAULT" version | head -n1) at $VAULT_ADDR, emulator at $GHEMU_URL and $GHEMU_TLS_URL"

	mount_engine github "$GHEMU_URL"
	vault_cli write github/roles/id installation_id="$ORG_INSTALLATION_ID" >/dev/null
	vault_cli write github/roles/owner owner=acme >/dev/null
	vault_cli write github/roles/repo1 installation_id="$ORG_INSTALLATION_ID" repositories=api >/dev/null
	jq '{installation_id: (.bulk_installation_id | tostring), repositories: .bulk_repositories}' "$WORK/ghemu.json" |
		vault_cli write github/roles/repos500 - >/dev/null
	mount_engine github-tls "$GHEMU_TLS_URL"
	vault_cli write github-tls/roles/repo1 installation_id="$ORG_INSTALLATION_ID" repositories=api >/dev/null
	vault_cli secrets enable -path=floor "$FLOOR_NAME" >/dev/null
	vault_cli secrets enable -path=kv -version=2 kv >/dev/null
	# kv-v2 answers 404 until its upgrade finishes; wait for the first put.
	for _ in $(seq 50); do
		vault_cli kv put kv/bench value=benchmark >/dev/null 2>&1 && break
		sleep 0.2
	done
	vault_cli kv get kv/bench >/dev/null || die "kv-v2 did not come up"

	PLUGIN_PID=$(plugin_pid "$PLUGIN_NAME")
	FLOOR_PID=$(plugin_pid "$FLOOR_NAME")
	log "plugin pid $PLUGIN_PID, lease floor pid $FLOOR_PID, Vault pid $VAULT_PID"
}

# mount_engine PATH BASE_URL mounts the engine at PATH, configured for the
# emulator at BASE_URL.
mount_engine() {
	vault_cli secrets enable -path="$1" "$PLUGIN_NAME" >/dev/null
	vault_cli write "$1/config" app_id="$APP_ID" private_key=@"$WORK/app.pem" base_url="$2" >/dev/null
}

# plugin_pid NAME prints the pid of the process running the plugin binary
# NAME. Vault runs a plugin as one multiplexed process for every mount, so
# there must be one.
plugin_pid() {
	local bin proc pids=()
	bin=$(readlink -f "$WORK/plugins/$1")
	for proc in /proc/[0-9]*; do
		[ "$(readlink -f "$proc/exe" 2>/dev/null)" = "$bin" ] && pids+=("${proc#/proc/}")
	done
	[ "${#pids[@]}" -eq 1 ] || die "expected one plugin process running $bin, found ${#pids[@]}"
	echo "${pids[0]}"
}

set_latency() {
	curl -sf -X POST -d "{\"ms\":$1}" "$GHEMU_URL/_emulator/latency" || die "setting the emulator latency failed"
}

# load runs loadgen with the plugin and Vault watched and GitHub calls
# counted, saving its JSON result as $RESULTS/<name>.json. The plugin
# watched is the engine's, or the one LOAD_PLUGIN_PID names.
load() {
	local name=$1
	shift
	log "running $name"
	RUNS+=("$name")
	# The emulator records every request it serves. Forgetting them before
	# each row keeps its heap, and with it its GC work per request, from
	# growing with the rows run before (to 600 MB over a main run), which
	# taxed the later rows on the shared CPUs.
	curl -sf -X POST "$GHEMU_URL/_emulator/reset-requests" || die "resetting the emulator's recording failed"
	"$WORK/loadgen" -label "$name" -proc plugin="${LOAD_PLUGIN_PID:-$PLUGIN_PID}" -proc vault="$VAULT_PID" -proc ghemu="$GHEMU_PID" \
		-ghemu "$GHEMU_URL" "$@" >"$RESULTS/$name.json" || die "loadgen $name failed"
	jq -e '.errors == 0' "$RESULTS/$name.json" >/dev/null ||
		log "$name: $(jq -r '"\(.errors) errors, first: \(.first_error)"' "$RESULTS/$name.json")"
}

# vault_load and github_load drive Vault and the emulator for one row.
vault_load() {
	local name=$1 clients=$2 path=$3
	shift 3
	load "$name" -addr "$VAULT_ADDR" -path "$path" -c "$clients" "$@"
}

# profiled_load is vault_load with a CPU profile of the plugin taken over
# the measured phase when BENCH_PPROF asks for one.
profiled_load() {
	if [ -z "${BENCH_PPROF:-}" ]; then
		vault_load "$@"
		return
	fi
	mkdir -p "$BENCH_PPROF"
	local file="$BENCH_PPROF/${1/@/-}ms.pprof"
	(
		sleep "${BENCH_WARMUP%s}"
		curl -sf -o "$file" "$PPROF_URL/debug/pprof/profile?seconds=$((BENCH_SECONDS - 1))"
	) &
	local profiler=$!
	vault_load "$@"
	wait "$profiler" || log "no CPU profile for $1"
}
github_load() {
	load "$1" -github -addr "$GHEMU_URL" -key "$WORK/app.pem" -app-id "$APP_ID" \
		-installation "$ORG_INSTALLATION_ID" -c "$2"
}

# keep copies the raw results where BENCH_JSON asks.
keep() {
	[ -n "${BENCH_JSON:-}" ] || return 0
	mkdir -p "$BENCH_JSON"
	cp "$RESULTS"/*.json "$BENCH_JSON/"
}

# results prints every saved result as one JSON array, in run order.
results() {
	local name files=()
	for name in "${RUNS[@]}"; do
		files+=("$RESULTS/$name.json")
	done
	jq -s . "${files[@]}"
}

# note_load warns when the machine is busy before a run: every figure is
# taken on the machine the benchmark shares with whatever else runs.
note_load() {
	local load
	read -r load _ </proc/loadavg
	log "load average $load on $(nproc) CPUs (the tables' \"not ours\" column is CPU used by other processes)"
}

bench_main() {
	note_load
	[ -n "${BENCH_PPROF:-}" ] && use_profiling_build
	setup
	local ms clients phase=(-d "${BENCH_SECONDS}s" -warmup "$BENCH_WARMUP")
	for ms in $BENCH_LATENCIES; do
		set_latency "$ms"
		clients=$BENCH_C
		[ "$ms" -eq 0 ] && clients=$BENCH_C0
		vault_load "kv@$ms" "$clients" kv/data/bench "${phase[@]}"
		github_load "github@$ms" "$clients" "${phase[@]}"
		# A plugin read that needs neither GitHub nor a lease: the cost of
		# the Vault–plugin round trip alone.
		vault_load "plugin@$ms" "$clients" github/roles/id "${phase[@]}"
		# What any plugin pays for a lease: the floor under every token row.
		LOAD_PLUGIN_PID=$FLOOR_PID vault_load "floor@$ms" "$clients" floor/lease "${phase[@]}"
		profiled_load "id@$ms" "$clients" github/token/id "${phase[@]}"
		profiled_load "owner@$ms" "$clients" github/token/owner "${phase[@]}"
		profiled_load "repo1@$ms" "$clients" github/token/repo1 "${phase[@]}"
		profiled_load "tls-repo1@$ms" "$clients" github-tls/token/repo1 "${phase[@]}"
		# CPU-bound at any latency, so measured once.
		if [ "$ms" -eq 0 ]; then
			profiled_load "repos500@$ms" "$BENCH_C500" github/token/repos500 "${phase[@]}"
		fi
	done
	results | jq -L "$ROOT_BENCH" -r -f "$ROOT_BENCH/main-table.jq"
	tls_summary
	log_levels
	keep
}

# log_levels measures what Vault's default log level costs: at info, each
# mint and revocation writes the plugin's line (with hashed_token) to
# Vault's log; at error, the level every other row runs at, Vault drops it.
# Two fresh dev Vaults, one per level, serve the same token/id role (the
# main one holds the leases of every row before, which slow it); they take
# turns, twice, at 0 ms emulator latency, where CPU decides. The table also
# gives the length of the mint line in the info Vault's log.
log_levels() {
	local main_work=$WORK main=("$VAULT_ADDR" "$VAULT_TOKEN" "$VAULT_PID" "$PLUGIN_PID") level round before
	local -A addr token vault_pid plugin
	for level in error info; do
		WORK=$main_work/log-$level
		mkdir -p "$WORK"
		cp "$main_work/app.pem" "$WORK/"
		VAULT_LOG_LEVEL=$level start_vault
		mount_engine github "$GHEMU_URL"
		vault_cli write github/roles/id installation_id="$ORG_INSTALLATION_ID" >/dev/null
		addr[$level]=$VAULT_ADDR token[$level]=$VAULT_TOKEN vault_pid[$level]=$VAULT_PID
		plugin[$level]=$(plugin_pid "$PLUGIN_NAME")
	done
	WORK=$main_work
	set_latency 0
	local info_log=$main_work/log-info/vault.log bytes=() rows=()
	for round in 1 2; do
		for level in error info; do
			VAULT_ADDR=${addr[$level]} VAULT_TOKEN=${token[$level]} VAULT_PID=${vault_pid[$level]} PLUGIN_PID=${plugin[$level]}
			before=$(stat -c %s "$info_log")
			vault_load "log-$level-$round@0" "$BENCH_C0" github/token/id -d "${BENCH_SECONDS}s" -warmup "$BENCH_WARMUP"
			bytes+=("$(tail -c +"$((before + 1))" "$info_log" | awk '/minted installation token/ { n++; b += length($0) + 1 } END { print n ? b / n : "null" }')")
			rows+=("$RESULTS/log-$level-$round@0.json")
		done
	done
	VAULT_ADDR=${main[0]} VAULT_TOKEN=${main[1]} VAULT_PID=${main[2]} PLUGIN_PID=${main[3]}
	echo
	echo "token/id at 0 ms, $BENCH_C0 clients, on two fresh Vaults, at log level error and at Vault's default (info), taking turns:"
	echo
	jq -s -L "$ROOT_BENCH" -r --argjson bytes "$(printf '%s\n' "${bytes[@]}" | jq -s .)" -f "$ROOT_BENCH/log-table.jq" "${rows[@]}"
}

# tls_summary prints what the emulator's HTTPS listener saw over the whole
# run, warm-ups included, and fails the run if the plugin did not reach it
# over HTTP/2: the TLS row would then not measure what it claims to.
tls_summary() {
	local stats
	stats=$(curl -sf "$GHEMU_URL/_emulator/stats") || die "reading the emulator's stats failed"
	jq -r '"\nOver the whole run, warm-ups included, the emulator over TLS completed \(.tls_handshakes) handshakes for \(.tls_requests_http2) API requests over HTTP/2 and \(.tls_requests_http1) over HTTP/1.1."' <<<"$stats"
	jq -e '.tls_requests_http2 > 0 and .tls_requests_http1 == 0' <<<"$stats" >/dev/null ||
		die "the plugin did not mint over HTTP/2 through the emulator's TLS listener"
}

bench_soak() {
	note_load
	use_profiling_build
	setup
	local role=github/token/$SOAK_ROLE goroutines_start
	# Warm the plugin up first, so that the start counts are its steady
	# state rather than those of an idle process.
	vault_load soak-warmup "$SOAK_CLIENTS" "$role" -revoke -d 3s -warmup 0
	goroutines_start=$(goroutines)
	vault_load soak "$SOAK_CLIENTS" "$role" -revoke -n "$SOAK_TOKENS" -d 0 -warmup 2s -progress 15s
	# The end reading is taken the moment the last token is revoked; a
	# second one after the GC's scavenger had time to return freed pages
	# tells retained memory from garbage not yet collected.
	sleep 10
	RSS_SETTLED_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PLUGIN_PID/status")
	LIVE_TOKENS=$(curl -sf "$GHEMU_URL/_emulator/stats" | jq .live_tokens)
	keep
	jq -L "$ROOT_BENCH" -r --argjson settled "$RSS_SETTLED_KB" --argjson live "$LIVE_TOKENS" \
		--argjson g0 "$goroutines_start" --argjson g1 "$(goroutines)" \
		-f "$ROOT_BENCH/soak-table.jq" "$RESULTS/soak.json"
}

# role_count prints how many roles the github/ mount holds.
role_count() {
	curl -sf -H "X-Vault-Token: $VAULT_TOKEN" "$VAULT_ADDR/v1/github/roles?list=true" | jq '.data.keys | length'
}

bench_scale() {
	note_load
	setup
	local body listed before
	before=$(role_count)
	body=$(jq -nc --arg id "$ORG_INSTALLATION_ID" \
		'{installation_id: $id, repositories: ["api", "web"], permissions: ["contents=read"]}')
	# No warm-up: it would write the first roles twice.
	vault_load roles-write "$SCALE_CLIENTS" 'github/roles/scale-{i}' -method POST -body "$body" \
		-n "$SCALE_ROLES" -d 0 -warmup 0
	vault_load roles-list 1 'github/roles?list=true' -n 20 -d 0 -warmup 0
	listed=$(role_count)
	[ "$listed" -eq $((SCALE_ROLES + before)) ] || die "listed $listed roles, wrote $((SCALE_ROLES + before))"
	# Each role minted once: every read misses the role cache.
	vault_load mint-each-role "$SCALE_CLIENTS" 'github/token/scale-{i}' -n "$SCALE_ROLES" -d 0 -warmup 0
	vault_load repos500 4 github/token/repos500 -d "${BENCH_SECONDS}s" -warmup 2s
	keep
	results | jq -L "$ROOT_BENCH" -r --argjson roles "$SCALE_ROLES" --argjson listed "$listed" -f "$ROOT_BENCH/scale-table.jq"
}

case "${1:-main}" in
main) bench_main ;;
soak) bench_soak ;;
scale) bench_scale ;;
*) die "usage: $0 [main|soak|scale]" ;;
esac
