#!/usr/bin/env bash
# Runs every fuzz target for the given time each (default 60s): briefly in
# `make test`, longer by hand with `make fuzz FUZZTIME=10m`. A failing input
# is saved under the package's testdata/fuzz; commit it as a regression.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime=${1:-60s}

targets=(
	"./scope:FuzzNarrowing"
	".:FuzzRoleWrite"
	"./internal/ghemu:FuzzVerifyJWT"
	"./ghclient:FuzzDecodeMintReply"
)
for target in "${targets[@]}"; do
	pkg=${target%%:*}
	name=${target#*:}
	echo "fuzz: $name ($pkg) for $fuzztime"
	go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "$pkg"
done
