#!/usr/bin/env bash
# Builds the release binaries: `make release VERSION=vX.Y.Z`, or
# scripts/release.sh VERSION [OUT_DIR] (default dist/). PLATFORMS picks a
# subset of the four, as "os/arch" words.
#
# Writes OUT_DIR/vault-plugin-secrets-github-app_VERSION_OS_ARCH for each
# platform and OUT_DIR/SHA256SUMS (sha256sum's format), after emptying
# OUT_DIR. The binaries are static (CGO_ENABLED=0), carry the version, and
# are reproducible: their bytes depend only on the source files, VERSION and
# the Go toolchain (`go version -m` names it), not on the directory, the
# machine, the time, git, the user's Go settings or the build cache.
# scripts/release-check.sh tests that.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
plugin=vault-plugin-secrets-github-app
version_var=github.com/vault-github-app/vault-plugin-secrets-github-app.Version
all_platforms="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"

die() {
	echo "release.sh: $*" >&2
	exit 1
}

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: scripts/release.sh VERSION [OUT_DIR]"
version=$1
# Vault requires a semantic version, with the leading v, for -version.
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] ||
	die "VERSION must be a semantic version such as v1.2.3, not '$version'"
out=${2:-$root/dist}
platforms=${PLATFORMS:-$all_platforms}
for p in $platforms; do
	[[ " $all_platforms " == *" $p "* ]] || die "unknown platform $p (one of: $all_platforms)"
done

# Everything that can change the output bytes is set here, overriding the
# environment and `go env -w` alike:
#   -trimpath            no file system paths of this machine in the binary
#   -buildvcs=false      no git state: the bytes would otherwise differ
#                        between a clean checkout, an edited one and a source
#                        tarball (the release's tag names the commit)
#   -buildid=            no build ID, a hash that includes the action graph
#   CGO_ENABLED=0        static, and no host C toolchain in the output
#   GOAMD64, GOARM64     the architecture baselines, so that a developer's
#                        GOAMD64=v3 cannot narrow which CPUs run it
# GOFLAGS is set rather than cleared: an empty variable would let a value
# from `go env -w` through.
export CGO_ENABLED=0 GOAMD64=v1 GOARM64=v8.0
export GOFLAGS="-mod=readonly -trimpath -buildvcs=false"
[ -z "$(go env GOEXPERIMENT)" ] || die "GOEXPERIMENT=$(go env GOEXPERIMENT) is set; releases use the toolchain's defaults"
ldflags="-s -w -buildid= -X $version_var=$version"

rm -rf "$out"
mkdir -p "$out"
cd "$root"
echo "release.sh: $plugin $version with $(go env GOVERSION) into $out" >&2
names=()
for p in $platforms; do
	os=${p%/*}
	arch=${p#*/}
	name=${plugin}_${version}_${os}_${arch}
	GOOS=$os GOARCH=$arch go build -ldflags "$ldflags" -o "$out/$name" "./cmd/$plugin"
	names+=("$name")
done

# The checksum file lists bare file names, so `sha256sum -c SHA256SUMS`
# works in the directory the binaries are downloaded to.
(
	cd "$out"
	if command -v sha256sum >/dev/null; then
		sha256sum "${names[@]}"
	else
		shasum -a 256 "${names[@]}"
	fi
) >"$out/SHA256SUMS"
cat "$out/SHA256SUMS" >&2
