#!/usr/bin/env bash
# Provides the vault binary the demo, the end-to-end tests and the benchmarks
# run, at .tools/bin/vault, and prints its path.
#
# In order: $VAULT_BIN, a `vault` on PATH, a cached build, or a fresh build
# of the release pinned in scripts/vault/go.mod (the one place the version is
# set). Any of the first two must be at least Vault 1.15.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/.tools/bin/vault"
min_version=1.15
version=$(awk '$1 == "require" && $2 == "github.com/hashicorp/vault" { print $3 }' "$root/scripts/vault/go.mod")
cache_dir="${VAULT_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vault-plugin-secrets-github-app}"
cached="$cache_dir/vault-$version"

log() { echo "vault.sh: $*" >&2; }

# version_of prints the x.y.z version a vault binary reports, or nothing.
version_of() {
	"$1" version 2>/dev/null | sed -n 's/^Vault v\([0-9][0-9.]*\).*/\1/p'
}

# recent_enough tells whether a vault binary is at least $min_version.
recent_enough() {
	local v
	v=$(version_of "$1")
	[ -n "$v" ] && [ "$(printf '%s\n%s\n' "$min_version" "$v" | sort -V | head -n1)" = "$min_version" ]
}

use() {
	mkdir -p "$(dirname "$dest")"
	ln -sfn "$1" "$dest"
	log "using $1 (Vault $(version_of "$1"))"
	echo "$dest"
	exit 0
}

# build compiles Vault from its Go module, which takes long when cold (see
# docs/benchmarks.md, "Figures from code comments"), so it says every
# minute that it is still going.
build() {
	log "building Vault $version from its Go module into $cached (cold: ~15 min on 2 cores; cached afterwards)"
	mkdir -p "$cache_dir"
	local started=$SECONDS
	(
		while sleep 60; do log "still building Vault… $(((SECONDS - started) / 60)) min"; done
	) &
	local ticker=$! status=0
	(cd "$root/scripts/vault" && go build -o "$cached.partial" github.com/hashicorp/vault) || status=$?
	kill "$ticker" 2>/dev/null || true
	[ "$status" = 0 ] || { log "building Vault failed"; exit "$status"; }
	mv "$cached.partial" "$cached"
	log "built Vault $version in $((SECONDS - started)) s"
}

if [ -n "${VAULT_BIN:-}" ]; then
	recent_enough "$VAULT_BIN" || { log "VAULT_BIN=$VAULT_BIN is not a Vault binary of version $min_version or later"; exit 1; }
	use "$(readlink -f "$VAULT_BIN")"
fi
if on_path=$(command -v vault) && recent_enough "$on_path"; then
	use "$(readlink -f "$on_path")"
fi
if [ -x "$cached" ] && recent_enough "$cached"; then
	use "$cached"
fi
build
use "$cached"
