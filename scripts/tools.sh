#!/usr/bin/env bash
# Provides the outside tools some tests run, as `make test` needs them:
#   git       the real `git credential fill` of the credential-helper recipe
#             (tests/e2e/recipes_test.go), from Debian's git package;
#   jq        the audit-log lookups of the README (tests/e2e/audit_test.go),
#             from Debian's jq package;
#   promtool  `promtool check rules` and `promtool test rules` on the alert
#             examples in docs/prometheus/ (alerts_test.go), taken out of
#             Debian's prometheus package into .tools/bin without installing
#             the package (which would add a prometheus user and service).
# A tool already on PATH is used as it is. Where apt-get is missing or
# fails, it says so and goes on: the tests that need the tool then skip with
# a message naming this script.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$root/.tools/bin"
updated=

log() { echo "tools.sh: $*" >&2; }

# apt_get runs apt-get, updating the package lists once first if a command
# fails (a fresh machine has none).
apt_get() {
	apt-get "$@" >/dev/null 2>&1 && return
	[ -z "$updated" ] || return 1
	updated=1
	apt-get update >/dev/null 2>&1 && apt-get "$@" >/dev/null 2>&1
}

# provide_package NAME installs Debian's package NAME, whose command is
# NAME too, unless the command is there.
provide_package() {
	command -v "$1" >/dev/null && return
	command -v apt-get >/dev/null || { log "$1 is missing and there is no apt-get: the tests that run it will skip"; return; }
	log "installing $1 (Debian package)"
	DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends "$1" ||
		log "installing $1 failed: the tests that run it will skip"
}

provide_promtool() {
	if [ -x "$bin/promtool" ] && "$bin/promtool" --version >/dev/null 2>&1; then
		return
	fi
	if on_path=$(command -v promtool); then
		mkdir -p "$bin"
		ln -sfn "$on_path" "$bin/promtool"
		return
	fi
	command -v apt-get >/dev/null || { log "promtool is missing and there is no apt-get: the alert rules' test will skip"; return; }
	local tmp
	tmp=$(mktemp -d)
	log "extracting promtool from Debian's prometheus package into $bin"
	if (cd "$tmp" && apt_get download prometheus) && dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"; then
		mkdir -p "$bin"
		mv "$tmp/root/usr/bin/promtool" "$bin/promtool"
	else
		log "fetching Debian's prometheus package failed: the alert rules' test will skip"
	fi
	rm -rf "$tmp"
}

provide_package git
provide_package jq
provide_promtool
