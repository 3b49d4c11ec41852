#!/usr/bin/env bash
# `make lint`: runs the golangci-lint release pinned in scripts/lint/go.mod
# over the plugin's module with .golangci.yml. The linter is built from
# its Go module into .tools/bin the first time and whenever the pin
# changes. Extra arguments go to `golangci-lint run`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module=github.com/golangci/golangci-lint/v2
version=$(awk -v m="$module" '$1 == m { print $2 }' "$root/scripts/lint/go.mod")
[ -n "$version" ] || { echo "lint.sh: scripts/lint/go.mod does not pin $module" >&2; exit 1; }
bin="$root/.tools/bin/golangci-lint"

# golangci-lint reports the module version it was built from.
if ! "$bin" version 2>/dev/null | grep -qF "version ${version#v} "; then
	echo "lint.sh: building golangci-lint $version into $bin" >&2
	mkdir -p "$(dirname "$bin")"
	(cd "$root/scripts/lint" && go build -o "$bin.partial" "$module/cmd/golangci-lint")
	mv "$bin.partial" "$bin"
fi
cd "$root"
exec "$bin" run "$@" ./...
