#!/usr/bin/env bash
# The demo: a real Vault dev server with the plugin, an emulated GitHub with
# an App installed on org "acme", and a CI team that may mint tokens for its
# own role only. Every step is printed as you would type it.
# Run it with `make demo`, which builds the plugin, provisions Vault and
# runs this script in internal/vaultdev/cmd/vaultdev: that starts both
# servers and sets VAULT_ADDR, VAULT_TOKEN, GHEMU_URL, APP_ID,
# ORG_INSTALLATION_ID, APP_KEY_FILE, PLUGIN_NAME, PLUGIN_VERSION,
# PLUGIN_SHA256 and WORK.
set -euo pipefail
: "${GHEMU_URL:?run the demo with make demo}"

bold=$(tput bold 2>/dev/null || true)
plain=$(tput sgr0 2>/dev/null || true)

die() {
	echo "error: $*" >&2
	exit 1
}
say() { printf '\n%s# %s%s\n' "$bold" "$*" "$plain"; }
# run prints a command as a user would type it, then runs it.
run() {
	printf '%s$ %s%s\n' "$bold" "$*" "$plain" >&2
	"$@"
}

say "The GitHub emulator: an App installed on org acme (repos api, web, docs, infra)"
echo "GitHub emulator at $GHEMU_URL"

say "Vault (dev mode), the plugin registered by SHA-256"
echo "Vault at $VAULT_ADDR, plugin $PLUGIN_NAME $PLUGIN_VERSION sha256:${PLUGIN_SHA256:0:16}…"

say "An admin enables the engine and configures the App"
run vault secrets enable -path=github "$PLUGIN_NAME"
run vault write github/config app_id="$APP_ID" private_key=@"$APP_KEY_FILE" base_url="$GHEMU_URL"
run vault read github/config
run vault list github/installations

say "Two roles: ci (read-only on api and web) and admin (the whole installation)"
run vault write github/roles/ci owner=acme repositories=api repositories=web \
	permissions=contents=read permissions=metadata=read ttl=30m
run vault write github/roles/admin installation_id="$ORG_INSTALLATION_ID"

say "The CI team gets a Vault token whose policy allows token/ci only"
printf 'path "github/token/ci" {\n  capabilities = ["read"]\n}\n' >"$WORK/ci.hcl"
run vault policy write ci "$WORK/ci.hcl"
CI_TOKEN=$(vault token create -policy=ci -field=token)
echo "(CI token: ${CI_TOKEN:0:8}…)"

say "As CI: mint a GitHub token"
minted=$(VAULT_TOKEN=$CI_TOKEN run vault read -format=json github/token/ci)
echo "$minted"
gh_token=$(jq -r .data.token <<<"$minted")
lease_id=$(jq -r .lease_id <<<"$minted")

say "The token works at GitHub for the role's repositories only"
printf '%s$ curl -s -H "Authorization: Bearer $GH_TOKEN" %s/installation/repositories | jq -r '"'"'[.repositories[].name] | join(", ")'"'"'%s\n' \
	"$bold" "$GHEMU_URL" "$plain"
repos=$(curl -s -H "Authorization: Bearer $gh_token" "$GHEMU_URL/installation/repositories" | jq -r '[.repositories[].name] | join(", ")')
echo "$repos"
[ "$repos" = "api, web" ] || die "the token reaches $repos, expected api, web"

say "As CI: the admin role is not ours"
if VAULT_TOKEN=$CI_TOKEN run vault read github/token/admin; then
	die "the CI token could read token/admin"
fi
echo "denied, as the policy says"

say "The admin revokes the lease: that revokes the token at GitHub"
run vault lease revoke "$lease_id"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $gh_token" "$GHEMU_URL/installation/repositories")
echo "GitHub now answers $status for that token"
[ "$status" = 401 ] || die "the revoked token still works (HTTP $status)"

say "Demo complete: Vault and the emulator stop now"
