package ghclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
)

// Replies are decoded field by field with gjson rather than unmarshalled
// whole with encoding/json. A token naming 500 repositories is a 3 MB reply
// of which the plugin keeps a few kilobytes (each repository's id and
// name); gjson skips the rest several times faster than encoding/json
// scans it, allocates only for what is kept, and lets the decoders stop at
// GitHub's limits (500 repositories in a token, 100 items a page) instead of
// building whatever a hostile reply holds. It also sees every top-level key,
// so a reply naming two tokens is caught, and a token can be salvaged from
// a reply that is cut short or malformed, to be revoked.

const (
	// maxPageItems is GitHub's largest page (per_page=100).
	maxPageItems = 100
	// maxPermissions is well above the sixty-odd permissions GitHub knows.
	maxPermissions = 100
)

// bodyDecoder is implemented by replies that decode themselves from a 2xx
// body; others are decoded with encoding/json.
type bodyDecoder interface {
	decodeBody(body []byte) error
}

// salvager is implemented by replies that can pick a token out of a body
// that could not be read or decoded whole, so that it can be revoked.
type salvager interface {
	salvage(body []byte)
}

// repositoryName is the form of a GitHub repository name: ASCII only, so
// that no Unicode case folding can make two names compare equal.
var repositoryName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// mintReply decodes a mint reply, remembering every token it names.
type mintReply struct {
	InstallationToken
	tokens []string
}

func (m *mintReply) salvage(body []byte) {
	m.scan(body) //nolint:errcheck // only the tokens are wanted
}

func (m *mintReply) decodeBody(body []byte) error {
	if err := m.scan(body); err != nil {
		return err
	}
	switch {
	case !gjson.ValidBytes(body):
		return errors.New("the body is not valid JSON")
	case len(m.tokens) > 1:
		return fmt.Errorf("the body names %d tokens", len(m.tokens))
	}
	return nil
}

// scan walks the reply's top level once, collecting every "token" string
// and decoding the fields the plugin keeps. It goes on after a field error,
// so that every token is collected; the first error is returned.
func (m *mintReply) scan(body []byte) error {
	m.tokens = nil
	// A byte-order mark makes the body invalid JSON, which decodeBody
	// reports; the token behind it must still be found.
	root := gjson.ParseBytes(bytes.TrimLeft(body, "\xef\xbb\xbf \t\r\n"))
	if !root.IsObject() {
		return errors.New("the body is not a JSON object")
	}
	var first error
	seen := map[string]bool{}
	root.ForEach(func(key, value gjson.Result) bool {
		if key.Str == "token" && value.Type == gjson.String {
			m.tokens = append(m.tokens, value.Str)
		}
		err := m.field(key.Str, value)
		if err == nil && seen[key.Str] {
			err = fmt.Errorf("the body has %.40q twice", key.Str)
		}
		seen[key.Str] = true
		if first == nil {
			first = err
		}
		return true
	})
	return first
}

// field decodes one top-level field of a mint reply; others are skipped.
func (m *mintReply) field(key string, v gjson.Result) error {
	var err error
	switch key {
	case "token":
		m.Token, err = stringValue(key, v)
	case "expires_at":
		var s string
		if s, err = stringValue(key, v); err == nil {
			if m.ExpiresAt, err = time.Parse(time.RFC3339, s); err != nil {
				err = fmt.Errorf("expires_at %.40q is not an RFC 3339 time", s)
			}
		}
	case "repository_selection":
		m.RepositorySelection, err = stringValue(key, v)
	case "permissions":
		m.Permissions, err = permissionsValue(v)
	case "repositories":
		m.Repositories, err = repositoriesValue(v, MaxTokenRepositories)
	}
	return err
}

func stringValue(key string, v gjson.Result) (string, error) {
	if v.Type != gjson.String {
		return "", fmt.Errorf("%s is not a string", key)
	}
	return v.Str, nil
}

func permissionsValue(v gjson.Result) (map[string]string, error) {
	if !v.IsObject() {
		return nil, errors.New("permissions is not an object")
	}
	perms := map[string]string{}
	var err error
	v.ForEach(func(name, level gjson.Result) bool {
		if level.Type != gjson.String || len(perms) == maxPermissions {
			err = errors.New("permissions is not a small object of name: level strings")
			return false
		}
		perms[name.Str] = level.Str
		return true
	})
	return perms, err
}

// repositoriesValue decodes an array of repository objects, keeping each
// one's id and name, and refuses more than limit.
func repositoriesValue(v gjson.Result, limit int) ([]Repository, error) {
	if !v.IsArray() {
		return nil, errors.New("repositories is not an array")
	}
	var repos []Repository
	var err error
	v.ForEach(func(_, obj gjson.Result) bool {
		if len(repos) == limit {
			err = fmt.Errorf("repositories lists more than %d", limit)
			return false
		}
		var repo Repository
		if repo, err = repositoryValue(obj); err != nil {
			return false
		}
		repos = append(repos, repo)
		return true
	})
	return repos, err
}

func repositoryValue(obj gjson.Result) (Repository, error) {
	var repo Repository
	if !obj.IsObject() {
		return repo, errors.New("a repository is not an object")
	}
	var err error
	obj.ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "id":
			repo.ID, err = strconv.ParseInt(value.Raw, 10, 64)
		case "name":
			repo.Name, err = stringValue("name", value)
		case "full_name":
			repo.FullName, err = stringValue("full_name", value)
		}
		return err == nil
	})
	switch {
	case err != nil:
		return repo, fmt.Errorf("a repository's id or name does not decode: %w", err)
	case repo.ID <= 0 || !repositoryName.MatchString(repo.Name):
		return repo, fmt.Errorf("a repository has id %d and name %.100q; GitHub's are positive and ASCII", repo.ID, repo.Name)
	}
	return repo, nil
}

// repositoryPage decodes a page of GET /installation/repositories.
type repositoryPage struct {
	Repositories []Repository
}

func (p *repositoryPage) decodeBody(body []byte) error {
	if !gjson.ValidBytes(body) {
		return errors.New("the body is not valid JSON")
	}
	var err error
	p.Repositories, err = repositoriesValue(gjson.GetBytes(body, "repositories"), maxPageItems)
	return err
}

// installationPage decodes a page of GET /app/installations, item by item,
// so that an oversized page is refused before it is built.
type installationPage []Installation

func (p *installationPage) decodeBody(body []byte) error {
	root := gjson.ParseBytes(body)
	if !gjson.ValidBytes(body) || !root.IsArray() {
		return errors.New("the body is not a JSON array")
	}
	var err error
	root.ForEach(func(_, item gjson.Result) bool {
		if len(*p) == maxPageItems {
			err = fmt.Errorf("the page lists more than %d installations", maxPageItems)
			return false
		}
		var inst Installation
		if err = json.Unmarshal([]byte(item.Raw), &inst); err != nil {
			return false
		}
		*p = append(*p, inst)
		return true
	})
	return err
}
