PLUGIN      := vault-plugin-secrets-github-app
BIN         := bin/$(PLUGIN)
# VERSION is the one place the version is set; make release VERSION=vX.Y.Z
# stamps another.
VERSION     ?= $(shell cat VERSION)
LDFLAGS     := -X github.com/vault-github-app/vault-plugin-secrets-github-app.Version=$(VERSION)
FUZZTIME    ?= 60s
# CI_FUZZTIME is how long `make test` runs each fuzz target.
CI_FUZZTIME ?= 10s

.PHONY: all build vault openbao tools test test-unit demo bench fuzz acl-fuzz fmt vet clean release release-check lint

all: build

build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/$(PLUGIN)

# vault provisions .tools/bin/vault (see scripts/vault.sh).
vault:
	scripts/vault.sh >/dev/null

# openbao provisions .tools/bin/bao from ../shared/openbao, next to the
# repository, when that exists (see scripts/openbao.sh).
openbao:
	scripts/openbao.sh >/dev/null

# tools provides git and promtool for the tests that run them
# (see scripts/tools.sh).
tools:
	scripts/tools.sh

# test runs every suite: unit tests, the emulator's, the end-to-end
# acceptance tests against a real Vault server (a dev server, a file-storage
# server, a three-server Raft cluster, upgrades) and against OpenBao (a
# server, a three-server Raft cluster; skipped without an OpenBao), the
# differential test of the scope language against Vault's ACL (its own
# module, scope/acltest), each fuzz target briefly, the reproducibility
# check of a release build, and the linter.
test: build vault tools
	bao=$$(scripts/openbao.sh) && BAO_BIN=$$bao VAULT_BIN=$(CURDIR)/.tools/bin/vault PLUGIN_BIN=$(CURDIR)/$(BIN) go test -race -count=1 -timeout 45m ./...
	cd scope/acltest && go test -count=1 ./...
	scripts/fuzz.sh $(CI_FUZZTIME)
	scripts/release-check.sh --quick
	scripts/lint.sh

# test-unit skips the suites that need a Vault server.
test-unit:
	go test -race -count=1 -short ./...

# demo runs scripts/demo.sh against a Vault dev server and the GitHub
# emulator, which internal/vaultdev/cmd/vaultdev starts and stops.
demo: build vault
	go run ./internal/vaultdev/cmd/vaultdev -vault .tools/bin/vault -plugin $(BIN) -version $(VERSION) -- scripts/demo.sh

# bench runs the end-to-end benchmarks and prints their tables
# (docs/benchmarks.md): make bench, make bench BENCH=soak, make bench
# BENCH=scale; the settings are in tests/bench/cmd/loadgen.
BENCH       ?= main
bench: build vault
	go run ./tests/bench/cmd/loadgen -vault .tools/bin/vault -plugin $(BIN) -version $(VERSION) $(BENCH)

fuzz:
	scripts/fuzz.sh $(FUZZTIME)

# acl-fuzz runs the differential test against Vault's ACL as a fuzz target
# for FUZZTIME: make acl-fuzz FUZZTIME=30m. A failing input is saved under
# scope/acltest/testdata/fuzz; add its case to the regressions table.
acl-fuzz:
	cd scope/acltest && go test -run '^$$' -fuzz '^FuzzACLDifferential$$' -fuzztime $(FUZZTIME) .

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	go vet ./...

# release writes dist/: static, reproducible binaries for four platforms
# and SHA256SUMS (see scripts/release.sh). make release VERSION=vX.Y.Z
release:
	scripts/release.sh $(VERSION)

# release-check builds every platform twice, from two directories with
# separate empty build caches, and requires identical bytes (how long that
# takes: docs/benchmarks.md). make test runs a quick linux/amd64 variant.
release-check:
	scripts/release-check.sh

# lint runs the golangci-lint release pinned in scripts/lint/go.mod.
lint:
	scripts/lint.sh

clean:
	rm -rf bin .tools dist
