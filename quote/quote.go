// Package quote repeats user input in error messages, bounded: a megabyte
// of garbage sent by a caller must not come back as a megabyte of error,
// nor land whole in Vault's logs.
package quote

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

const (
	// MaxBytes bounds how much of one rejected value an error repeats.
	MaxBytes = 64
	// maxListed bounds how many items a message lists: a role may name 500
	// repositories, and a caller may send as many.
	maxListed = 10
)

// Input quotes user input for an error message, cut to MaxBytes.
func Input(s string) string {
	return strconv.Quote(Cut(s))
}

// Cut cuts s to MaxBytes, marking the cut.
func Cut(s string) string {
	if len(s) > MaxBytes {
		s = strings.ToValidUTF8(s[:MaxBytes], "") + "…"
	}
	return s
}

// List lists items for a message, at most maxListed of them, each cut
// like any user input; "none" for no items.
func List[T any](items []T) string {
	if len(items) == 0 {
		return "none"
	}
	parts := make([]string, 0, min(len(items), maxListed)+1)
	for _, item := range items[:min(len(items), maxListed)] {
		parts = append(parts, strings.Trim(Input(fmt.Sprint(item)), `"`))
	}
	if len(items) > maxListed {
		parts = append(parts, fmt.Sprintf("and %d more", len(items)-maxListed))
	}
	return strings.Join(parts, ", ")
}

// SortedKeys returns a map's keys in order, so that messages are stable.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
