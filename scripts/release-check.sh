#!/usr/bin/env bash
# Checks that release builds are reproducible and built as promised.
#
#   scripts/release-check.sh          `make release-check`: all four
#                                     platforms, each of the two builds with
#                                     its own empty Go build cache, so the
#                                     second build reuses nothing from the
#                                     first (slow; docs/benchmarks.md)
#   scripts/release-check.sh --quick  `make test`: linux/amd64 only, with the
#                                     shared build cache
#
# Both copy the working tree (tracked and untracked files, as git sees
# them) to two directories at different paths and depths, run
# scripts/release.sh in each, the second with a perturbed environment
# (another umask, time zone, locale, GOAMD64, GOFLAGS, TMPDIR), and require
# identical bytes. Then each binary must be static, -trimpath, stamped with
# the version, without a build ID, build tags or git state, for the right
# platform (`go version -m`, `go tool buildid`, readelf).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=${RELEASE_CHECK_VERSION:-v0.0.0-check}
quick=false
case "${1:-}" in
--quick) quick=true ;;
"") ;;
*)
	echo "usage: scripts/release-check.sh [--quick]" >&2
	exit 2
	;;
esac

fail() {
	echo "release-check: FAIL: $*" >&2
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/release-check.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# copy_tree copies the working tree as git sees it (not .git, nor ignored
# files such as bin/ and dist/) into $1.
copy_tree() {
	mkdir -p "$1"
	git -C "$root" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			# Deleted but not yet staged files are still listed.
			[ -e "$root/$f" ] && printf '%s\0' "$f"
		done |
		tar -C "$root" --null -T - -cf - | tar -C "$1" -xf -
}

a="$work/a/src"
b="$work/build-two/a/much/longer/path/to/the/source/tree/src"
copy_tree "$a"
copy_tree "$b"

if $quick; then
	export PLATFORMS=linux/amd64
	cache_a=$(go env GOCACHE)
	cache_b=$cache_a
	mode="quick: linux/amd64, shared build cache"
else
	unset PLATFORMS
	cache_a="$work/cache-a"
	cache_b="$work/cache-b"
	mode="full: 4 platforms, separate empty build caches"
fi
echo "release-check: $mode" >&2

started=$SECONDS
(cd "$a" && GOCACHE=$cache_a scripts/release.sh "$version" "$work/out-a") 2>"$work/build-a.log" ||
	fail "the first build failed: $(cat "$work/build-a.log")"
t1=$((SECONDS - started))
mkdir -p "$work/tmp-b"
(
	cd "$b"
	umask 077
	# release.sh must override all of these: none may change the bytes.
	TZ=Pacific/Chatham LC_ALL=C.UTF-8 GOAMD64=v3 GOFLAGS="-tags=pprof -buildvcs=true" TMPDIR="$work/tmp-b" \
		GOCACHE=$cache_b scripts/release.sh "$version" "$work/out-b"
) 2>"$work/build-b.log" || fail "the second build failed: $(cat "$work/build-b.log")"
t2=$((SECONDS - started - t1))

sums_a=$(cat "$work/out-a/SHA256SUMS")
sums_b=$(cat "$work/out-b/SHA256SUMS")
echo "release-check: build 1 (${t1} s, $a):" >&2
echo "$sums_a" | sed 's/^/  /' >&2
echo "release-check: build 2 (${t2} s, $b):" >&2
echo "$sums_b" | sed 's/^/  /' >&2
[ "$sums_a" = "$sums_b" ] || fail "the two builds differ"
while read -r _ name; do
	cmp -s "$work/out-a/$name" "$work/out-b/$name" || fail "$name differs"
done <<<"$sums_a"
(cd "$work/out-a" && sha256sum -c --quiet SHA256SUMS) || fail "SHA256SUMS does not match the binaries"

# What the binaries say about how they were built.
while read -r _ name; do
	bin="$work/out-a/$name"
	info=$(go version -m "$bin")
	platform=${name##*"${version}_"}
	want=(
		"build	-trimpath=true"
		"build	CGO_ENABLED=0"
		"build	GOOS=${platform%_*}"
		"build	GOARCH=${platform#*_}"
	)
	for w in "${want[@]}"; do
		grep -qF -- "$w" <<<"$info" || fail "$name: go version -m lacks '$w'"
	done
	# -trimpath keeps -ldflags out of the build info, so look for the
	# stamped version and the build ID in the binary itself.
	grep -qaF -- "$version" "$bin" || fail "$name does not carry the version $version"
	[ -z "$(go tool buildid "$bin")" ] || fail "$name has a build ID"
	! grep -q 'vcs\.' <<<"$info" || fail "$name carries git state"
	! grep -q -- '-tags' <<<"$info" || fail "$name was built with build tags"
	# A Linux executable without an ELF interpreter is static.
	if [[ $name == *_linux_* ]] && command -v readelf >/dev/null; then
		! readelf -l "$bin" | grep -q 'INTERP' || fail "$name asks for a dynamic loader"
	fi
done <<<"$sums_a"

echo "release-check: OK: identical bytes from two directories in $((SECONDS - started)) s ($mode)" >&2
