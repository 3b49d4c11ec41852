#!/usr/bin/env bash
# Provides the OpenBao server the OpenBao end-to-end tests run, at
# .tools/bin/bao, and prints its path; prints nothing when there is none,
# and the tests then look for bao on PATH, or skip.
#
# In order: $BAO_BIN, or the static linux/amd64 OpenBao kept in
# ../shared/openbao next to the repository (CI's checkout has it; OpenBao's
# server is not on the Go module proxy), decompressed once and checked
# against that directory's SHA256SUMS, compressed and decompressed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared="$root/../shared/openbao"
dest="$root/.tools/bin/bao"

log() { echo "openbao.sh: $*" >&2; }

if [ -n "${BAO_BIN:-}" ]; then
	echo "$BAO_BIN"
	exit 0
fi
[ -d "$shared" ] || exit 0
if [ "$(uname -s)/$(uname -m)" != Linux/x86_64 ]; then
	log "$shared holds a linux/amd64 OpenBao; not usable on $(uname -s)/$(uname -m)"
	exit 0
fi

gzs=("$shared"/bao-*-linux-amd64.gz)
[ "${#gzs[@]}" = 1 ] && [ -f "${gzs[0]}" ] || { log "want exactly one bao-*-linux-amd64.gz in $shared"; exit 1; }
gz=${gzs[0]}
# SHA256SUMS lines: "<sum>  bao-X.Y.Z-linux-amd64.gz" and "<sum>  bao (uncompressed)".
want_gz=$(awk -v f="$(basename "$gz")" '$2 == f { print $1 }' "$shared/SHA256SUMS")
want_bin=$(awk '$2 == "bao" && $3 == "(uncompressed)" { print $1 }' "$shared/SHA256SUMS")
[ -n "$want_gz" ] && [ -n "$want_bin" ] || { log "$shared/SHA256SUMS lacks the sum of $(basename "$gz") or of bao (uncompressed)"; exit 1; }

sha256() { sha256sum "$1" | cut -d' ' -f1; }

if [ -x "$dest" ] && [ "$(sha256 "$dest")" = "$want_bin" ]; then
	echo "$dest"
	exit 0
fi
[ "$(sha256 "$gz")" = "$want_gz" ] || { log "$gz does not match its SHA-256 in SHA256SUMS"; exit 1; }
mkdir -p "$(dirname "$dest")"
gzip -dc "$gz" >"$dest.partial"
[ "$(sha256 "$dest.partial")" = "$want_bin" ] || { rm -f "$dest.partial"; log "the decompressed $(basename "$gz") does not match its SHA-256 in SHA256SUMS"; exit 1; }
chmod +x "$dest.partial"
mv "$dest.partial" "$dest"
log "using $("$dest" version) from $gz"
echo "$dest"
