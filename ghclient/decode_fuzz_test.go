package ghclient

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeMintReply holds the scanner to encoding/json: it never panics;
// what it accepts from valid JSON decodes to what encoding/json decodes;
// and it accepts every well-formed reply encoding/json accepts. (It checks
// structure, not the contents of strings and scalars it skips, so it may
// accept JSON that encoding/json refuses for those.)
func FuzzDecodeMintReply(f *testing.F) {
	f.Add(`{"token":"ghs_x","expires_at":"2026-03-01T13:00:00Z","permissions":{"contents":"read"},"repository_selection":"selected","repositories":[{"id":1,"name":"api","full_name":"o/api","owner":{"login":"o"},"topics":["a","b"]}]}`)
	f.Add(`{"token":"gh\u0073_x","expires_at":"2026-03-01T13:00:00Z","x":[[{"y":"\"}]"}]],"z":null}`)
	f.Add(`{"token":"a","token":"b"}`)
	f.Add(`{"token":"a"} x`)
	f.Add(`{"repositories":[{"id":1.5,"name":"a"}]}`)
	f.Add(`{"t\u006fken":"b","permissions":{}}`)
	f.Add(`{"a":"\\","b":"\\\"","c":tru}`)
	f.Fuzz(func(t *testing.T, body string) {
		var got mintReply
		ours := got.decodeBody([]byte(body))
		var salvaged mintReply
		salvaged.salvage([]byte(body)) // must not panic either

		var want InstallationToken
		theirs := json.Unmarshal([]byte(body), &want)
		if ours == nil {
			// A repository object is read only up to its id, name and
			// full_name: duplicates behind them go unseen.
			// Invalid UTF-8 is kept as sent, where encoding/json substitutes
			// U+FFFD; the token and name checks refuse both.
			if !json.Valid([]byte(body)) || !utf8.ValidString(body) || hasDuplicateKeys(body) || hasCaseVariantKeys(body) {
				return
			}
			if theirs != nil {
				t.Fatalf("the scanner accepted a reply encoding/json cannot decode (%v): %q", theirs, body)
			}
			if got.Token != want.Token || !got.ExpiresAt.Equal(want.ExpiresAt) || got.RepositorySelection != want.RepositorySelection ||
				!reflect.DeepEqual(nonEmpty(got.Permissions), nonEmpty(want.Permissions)) || !slices.Equal(got.Repositories, want.Repositories) {
				t.Fatalf("decoded %+v; encoding/json decoded %+v from %q", got.InstallationToken, want, body)
			}
			return
		}
		if theirs == nil && wellFormed(body, want) {
			t.Fatalf("the scanner refused (%v) a well-formed reply encoding/json accepts: %q", ours, body)
		}
	})
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// wellFormed reports whether a reply encoding/json accepts is one the
// scanner must accept too: an object without duplicate keys, repositories
// with positive ids and ASCII names, no more than GitHub's limits.
func wellFormed(body string, want InstallationToken) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &top) != nil || top == nil || strings.HasPrefix(strings.TrimSpace(body), "\xef\xbb\xbf") {
		return false // not an object ("null" decodes, into nothing)
	}
	if len(want.Repositories) > MaxTokenRepositories || len(want.Permissions) > maxPermissions {
		return false
	}
	for _, r := range want.Repositories {
		if r.ID <= 0 || !validRepositoryName(r.Name) {
			return false
		}
	}
	// encoding/json keeps the last of duplicate keys and ignores fields of
	// the wrong type in places the scanner checks: leave those out.
	return !hasDuplicateKeys(body) && !hasCaseVariantKeys(body) && typedAsGitHubTypesThem(top)
}

func hasDuplicateKeys(body string) bool {
	return anyObject(body, func(keys []string) bool {
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				return true
			}
			seen[k] = true
		}
		return false
	})
}

// keptKeys are the keys the scanner reads; it matches them exactly, as
// GitHub writes them, where encoding/json matches them in any case.
var keptKeys = []string{"token", "expires_at", "permissions", "repository_selection", "repositories", "id", "name", "full_name"}

// hasCaseVariantKeys reports whether body has a key that encoding/json
// would take for a kept one though it is spelt in another case.
func hasCaseVariantKeys(body string) bool {
	return anyObject(body, func(keys []string) bool {
		for _, k := range keys {
			for _, kept := range keptKeys {
				if k != kept && strings.EqualFold(k, kept) {
					return true
				}
			}
		}
		return false
	})
}

// anyObject reports whether match holds for the keys of any object in body.
func anyObject(body string, match func(keys []string) bool) bool {
	dec := json.NewDecoder(strings.NewReader(body))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			var keys []string
			for dec.More() {
				key, err := dec.Token()
				if err != nil {
					return false
				}
				keys = append(keys, key.(string))
				if walk() {
					return true
				}
			}
			_, _ = dec.Token()
			return match(keys)
		case json.Delim('['):
			for dec.More() {
				if walk() {
					return true
				}
			}
			_, _ = dec.Token()
		}
		return false
	}
	return walk()
}

// typedAsGitHubTypesThem reports whether the kept fields have the JSON types
// GitHub sends (encoding/json accepts null where the scanner does not).
func typedAsGitHubTypesThem(top map[string]json.RawMessage) bool {
	kinds := map[string]byte{"token": '"', "expires_at": '"', "repository_selection": '"', "permissions": '{', "repositories": '['}
	for key, kind := range kinds {
		raw, ok := top[key]
		if ok && (len(raw) == 0 || raw[0] != kind) {
			return false
		}
	}
	var repos []map[string]json.RawMessage
	if raw, ok := top["repositories"]; ok && json.Unmarshal(raw, &repos) == nil {
		for _, r := range repos {
			for key, kind := range map[string]byte{"name": '"', "full_name": '"'} {
				if raw, ok := r[key]; ok && (len(raw) == 0 || raw[0] != kind) {
					return false
				}
			}
			if raw, ok := r["id"]; ok && (len(raw) == 0 || raw[0] == '"' || raw[0] == 'n') {
				return false
			}
		}
	}
	return true
}
