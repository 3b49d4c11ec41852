// Package acltest holds the differential test of the plugin's scope language
// against Vault's own ACL evaluator (issue 15): every request that a Vault
// policy's parameter constraints let through must mint a token inside what
// the policy allowed. It has tests only; differential_test.go says how they
// work.
//
// It is a module of its own so that the plugin's go.mod does not take on
// Vault's core. Go's internal-package rule goes by import path, and this
// one lies under the plugin's, so the tests use the plugin's emulator
// (internal/ghemu) and test keys (internal/testkeys) as the plugin's own
// tests do.
package acltest
