# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables it sets are for the scripts that source it
# Shared by demo.sh and bench.sh: start the GitHub emulator and a Vault dev
# server on free loopback ports, register the plugin by SHA-256 (Vault is
# started by internal/vaultdev, as in the end-to-end tests), and stop
# everything on exit (Ctrl-C too). Source it; start_ghemu sets GHEMU_URL,
# APP_ID, ORG_INSTALLATION_ID and GHEMU_PID, start_vault sets VAULT, VAULT_ADDR,
# VAULT_TOKEN and VAULT_PID.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PLUGIN_NAME=vault-plugin-secrets-github-app
# The version make build stamps (VERSION): Vault refuses to register a
# plugin under a version other than the one it reports.
PLUGIN_VERSION=${PLUGIN_VERSION:-$(cat "$ROOT/VERSION")}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/github-app-plugin.XXXXXX")
# WORK_ROOT is what cleanup removes, whatever directory WORK names then
# (bench.sh's log_levels points it at other Vaults' directories for a while).
readonly WORK_ROOT=$WORK
PIDS=()
PLUGIN_ENV=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK_ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "error: $*" >&2
	exit 1
}

# free_port prints a loopback TCP port nobody listens on.
free_port() {
	local port
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	die "no free port found"
}

# start_ghemu builds and starts the emulator with a fresh App key at
# $WORK/app.pem; extra arguments go to ghemu.
start_ghemu() {
	go build -o "$WORK/ghemu" "$ROOT/internal/ghemu/cmd/ghemu" || die "building the emulator failed"
	"$WORK/ghemu" -addr "127.0.0.1:$(free_port)" -key-out "$WORK/app.pem" -info-out "$WORK/ghemu.json" "$@" \
		>"$WORK/ghemu.log" 2>&1 &
	PIDS+=($!)
	GHEMU_PID=$!
	for _ in $(seq 100); do
		[ -s "$WORK/ghemu.json" ] && break
		sleep 0.1
	done
	GHEMU_URL=$(jq -r .url "$WORK/ghemu.json" 2>/dev/null) || die "the emulator did not start: $(cat "$WORK/ghemu.log")"
	APP_ID=$(jq -r .app_id "$WORK/ghemu.json")
	ORG_INSTALLATION_ID=$(jq -r .org_installation_id "$WORK/ghemu.json")
	export GHEMU_URL APP_ID ORG_INSTALLATION_ID
}

# start_vault starts `vault server -dev` on a free loopback port with the
# freshly built plugin registered in the catalog by SHA-256, through
# internal/vaultdev (the code the end-to-end tests start Vault with). It sets
# VAULT, VAULT_ADDR, VAULT_TOKEN, VAULT_PID and SHA256; Vault's plugin
# directory is $WORK/plugins and its log $WORK/vault.log.
# PLUGIN_BIN replaces the plugin binary (bench.sh's profiling build);
# PLUGIN_ENV (an array of NAME=value) is set in the plugin's environment.
start_vault() {
	VAULT=$("$ROOT/scripts/vault.sh") || die "could not provision Vault"
	local bin=${PLUGIN_BIN:-$ROOT/bin/$PLUGIN_NAME} args=() kv
	[ -f "$bin" ] || die "build the plugin first: make build"
	go build -o "$WORK/vaultdev" "$ROOT/internal/vaultdev/cmd/vaultdev" || die "building vaultdev failed"
	for kv in "${PLUGIN_ENV[@]}"; do
		args+=(-env "$kv")
	done
	"$WORK/vaultdev" start -vault "$VAULT" -plugin "$bin" -version "$PLUGIN_VERSION" -dir "$WORK" \
		-log-level "${VAULT_LOG_LEVEL:-info}" "${args[@]}" >"$WORK/vaultdev.log" 2>&1 &
	PIDS+=($!)
	local vaultdev_pid=$!
	until [ -s "$WORK/vault.env" ]; do
		kill -0 "$vaultdev_pid" 2>/dev/null || die "Vault did not start: $(cat "$WORK/vaultdev.log")"
		sleep 0.1
	done
	# shellcheck source=/dev/null # written by vaultdev start
	. "$WORK/vault.env"
	export VAULT_ADDR VAULT_TOKEN
}

# register_plugin NAME BINARY [NAME=value…] installs another secrets-engine
# plugin in the running Vault's plugin directory and registers it in the
# catalog by SHA-256, with the given variables in its environment. It sets
# SHA256.
register_plugin() {
	local name=$1 bin=$2 env=() kv
	shift 2
	for kv in "$@"; do
		env+=(-env "$kv")
	done
	SHA256=$("$WORK/vaultdev" register -dir "$WORK" -vault "$VAULT" -name "$name" -plugin "$bin" \
		-version "$PLUGIN_VERSION" "${env[@]}") || die "registering plugin $name failed"
}

# vault_cli runs the provisioned vault binary.
vault_cli() {
	"$VAULT" "$@"
}
