//go:build tools

// Package vaultbuild pins the Vault release built by scripts/vault.sh.
package vaultbuild

import _ "github.com/hashicorp/vault"
