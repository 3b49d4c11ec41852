#!/usr/bin/env bash
# Refreshes the repository's extract of GitHub's REST API descriptions and
# the permission table generated from it, from the npm package
# @octokit/openapi (GitHub's descriptions for github.com, GitHub Enterprise
# Cloud and each supported GitHub Enterprise Server release).
#
#   scripts/openapi/update.sh            # the pinned version, again
#   scripts/openapi/update.sh 23.1.0     # move the pin; then review git diff
#
# Needs npm (only here: tests read the committed extract).
set -euo pipefail
cd "$(dirname "$0")/../.."

pin_file=scripts/openapi/VERSION
version=${1:-$(cat "$pin_file")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# npm pack checks the tarball against the registry's integrity hash.
integrity=$(cd "$work" && npm pack --json "@octokit/openapi@$version" | jq -r '.[0].integrity')
tar -xzf "$work"/octokit-openapi-"$version".tgz -C "$work"
go run ./scripts/openapi -package "$work/package" -integrity "$integrity" \
	-out internal/githubspec/descriptions -table ghclient/permissions_table.go
echo "$version" >"$pin_file"
git status --short -- "$pin_file" internal/githubspec/descriptions ghclient/permissions_table.go
