package ghclient

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Replies are decoded field by field with the scanner (scan.go) rather
// than unmarshalled whole: the decoders keep only what the plugin uses,
// allocate only for that, and stop at GitHub's limits (500 repositories in
// a token, 100 items a page) instead of building whatever a hostile reply
// holds. They see every top-level key, so a reply naming two tokens is
// caught, and a token can be salvaged from a reply that is cut short or
// malformed, to be revoked.

const (
	// maxPageItems is GitHub's largest page (per_page=100).
	maxPageItems = 100
	// maxPermissions is well above the sixty-odd permissions GitHub knows.
	maxPermissions = 100
	// maxObjectKeys is well above the keys of any object GitHub sends
	// (an installation has about 25).
	maxObjectKeys = 200
	// maxSalvagedTokens bounds the tokens revoked from one reply that
	// could not be decoded. GitHub sends one token per reply; a reply
	// naming more is refused whole, and revoking a couple covers a real
	// token beside a forged one without letting a reply that names
	// thousands turn into thousands of revocations.
	maxSalvagedTokens = 2
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

// validRepositoryName checks the form of a GitHub repository name: 1 to
// 100 ASCII letters, digits, '.', '_' and '-', so that no Unicode case
// folding can make two names compare equal.
func validRepositoryName(name string) bool {
	if name == "" || len(name) > 100 {
		return false
	}
	for i := range len(name) {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// mintReply decodes a mint reply, remembering the tokens it names.
type mintReply struct {
	InstallationToken
	tokens []string
	// moreTokens reports a reply naming more than maxSalvagedTokens
	// tokens, of which only those were kept.
	moreTokens bool
}

// salvage collects the top-level "token" strings of a body that could not
// be read or decoded whole, skipping everything else, as far as its
// structure allows, and stops at maxSalvagedTokens. A byte-order mark is
// passed over: the token behind it must be found.
func (m *mintReply) salvage(body []byte) {
	m.tokens, m.moreTokens = nil, false
	s := &scanner{data: bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))}
	s.object(func(key []byte) error { //nolint:errcheck // what was found before an error is kept
		if string(key) != "token" || s.peek() != '"' {
			return s.skip()
		}
		if len(m.tokens) == maxSalvagedTokens {
			m.moreTokens = true
			return errSkipRest
		}
		token, err := s.str()
		m.tokens = append(m.tokens, token)
		return err
	})
}

// once wraps an object's field callback so that a key named twice is an
// error: GitHub never repeats a key, and the plugin must not guess which
// of two values counts. It also bounds the keys an object may have, so
// that a reply of millions of keys does not build a map of millions.
func once(field func(key []byte) error) func(key []byte) error {
	seen := map[string]bool{}
	return func(key []byte) error {
		switch {
		case seen[string(key)]:
			return fmt.Errorf("%.40q appears twice", key)
		case len(seen) == maxObjectKeys:
			return fmt.Errorf("an object has more than %d keys", maxObjectKeys)
		}
		seen[string(key)] = true
		return field(key)
	}
}

// decodeBody decodes the fields the plugin keeps, refusing a body that is
// not a single JSON object or names a field twice.
func (m *mintReply) decodeBody(body []byte) error {
	s := &scanner{data: body}
	err := s.object(once(func(key []byte) error {
		return m.field(s, string(key))
	}))
	if err == nil {
		err = s.end()
	}
	if m.Token != "" {
		m.tokens = []string{m.Token}
	}
	return err
}

// field decodes one top-level field of a mint reply; others are skipped.
func (m *mintReply) field(s *scanner, key string) error {
	var err error
	switch key {
	case "token":
		m.Token, err = stringValue(s, key)
	case "expires_at":
		var text string
		if text, err = stringValue(s, key); err == nil {
			if m.ExpiresAt, err = time.Parse(time.RFC3339, text); err != nil {
				err = fmt.Errorf("expires_at %.40q is not an RFC 3339 time", text)
			}
		}
	case "repository_selection":
		m.RepositorySelection, err = stringValue(s, key)
	case "permissions":
		m.Permissions, err = permissionsValue(s)
	case "repositories":
		m.Repositories, err = repositoriesValue(s, MaxTokenRepositories)
	default:
		err = s.skip()
	}
	return err
}

func stringValue(s *scanner, key string) (string, error) {
	if s.peek() != '"' {
		return "", fmt.Errorf("%s is not a string", key)
	}
	return s.str()
}

func permissionsValue(s *scanner) (map[string]string, error) {
	if s.peek() != '{' {
		return nil, errors.New("permissions is not an object")
	}
	perms := map[string]string{}
	err := s.object(func(name []byte) error {
		if len(perms) == maxPermissions {
			return errors.New("permissions names more than GitHub knows")
		}
		if _, twice := perms[string(name)]; twice {
			return fmt.Errorf("permissions names %.40q twice", name)
		}
		level, err := stringValue(s, "a permission's level")
		perms[string(name)] = level
		return err
	})
	return perms, err
}

// repositoriesValue decodes an array of repository objects, keeping each
// one's id and name, and refuses more than limit.
func repositoriesValue(s *scanner, limit int) ([]Repository, error) {
	if s.peek() != '[' {
		return nil, errors.New("repositories is not an array")
	}
	var repos []Repository
	err := s.array(func() error {
		if len(repos) == limit {
			return fmt.Errorf("repositories lists more than %d", limit)
		}
		repo, err := repositoryValue(s)
		repos = append(repos, repo)
		return err
	})
	return repos, err
}

// repositoryValue decodes a repository object's id, name and full_name,
// and skips the rest of it at once: GitHub sends those first, ahead of the
// 6 KB of the object the plugin does not keep. One of them named twice
// before that is refused.
func repositoryValue(s *scanner) (Repository, error) {
	var repo Repository
	if s.peek() != '{' {
		return repo, errors.New("a repository is not an object")
	}
	const idKey, nameKey, fullNameKey, all = 1, 2, 4, 7
	found := 0
	err := s.object(func(key []byte) error {
		var err error
		var bit int
		switch string(key) {
		case "id":
			bit = idKey
			repo.ID, err = s.int()
		case "name":
			bit = nameKey
			repo.Name, err = stringValue(s, "name")
		case "full_name":
			bit = fullNameKey
			repo.FullName, err = stringValue(s, "full_name")
		default:
			return s.skip()
		}
		switch {
		case found&bit != 0:
			return fmt.Errorf("%.40q appears twice", key)
		case err != nil:
			return err
		}
		if found |= bit; found == all {
			return errSkipRest
		}
		return nil
	})
	switch {
	case err != nil:
		return repo, fmt.Errorf("a repository does not decode: %w", err)
	case repo.ID <= 0 || !validRepositoryName(repo.Name):
		return repo, fmt.Errorf("a repository has id %d and name %.100q; GitHub's are positive and ASCII", repo.ID, repo.Name)
	}
	return repo, nil
}

// repositoryPage decodes a page of GET /installation/repositories.
type repositoryPage struct {
	Repositories []Repository
}

func (p *repositoryPage) decodeBody(body []byte) error {
	s := &scanner{data: body}
	err := s.object(once(func(key []byte) error {
		if string(key) != "repositories" {
			return s.skip()
		}
		var err error
		p.Repositories, err = repositoriesValue(s, maxPageItems)
		return err
	}))
	if err != nil {
		return err
	}
	return s.end()
}

// installationPage decodes a page of GET /app/installations, item by item,
// so that an oversized page is refused before it is built.
type installationPage []Installation

func (p *installationPage) decodeBody(body []byte) error {
	s := &scanner{data: body}
	err := s.array(func() error {
		if len(*p) == maxPageItems {
			return fmt.Errorf("the page lists more than %d installations", maxPageItems)
		}
		start := s.pos
		if err := s.skip(); err != nil {
			return err
		}
		var inst Installation
		if err := inst.decodeBody(body[start:s.pos]); err != nil {
			return err
		}
		*p = append(*p, inst)
		return nil
	})
	if err != nil {
		return err
	}
	return s.end()
}

// decodeBody decodes an installation by its exact keys, refusing one that
// names a key twice or has no ID: an owner role mints for the ID it finds,
// and encoding/json, which folds case ("ID", "ſuspended_at"), would
// let a second spelling decide it.
func (inst *Installation) decodeBody(body []byte) error {
	s := &scanner{data: body}
	err := s.object(once(func(key []byte) error { return inst.field(s, string(key)) }))
	if err == nil {
		err = s.end()
	}
	if err == nil && inst.ID <= 0 {
		err = fmt.Errorf("the installation has id %d; GitHub's are positive", inst.ID)
	}
	return err
}

func (inst *Installation) field(s *scanner, key string) error {
	var err error
	switch key {
	case "id":
		inst.ID, err = s.int()
	case "app_id":
		err = nullable(s, func() (err error) { inst.AppID, err = s.int(); return })
	case "account":
		err = nullable(s, func() error { return inst.Account.decode(s) })
	case "target_type":
		err = nullable(s, func() (err error) { inst.TargetType, err = stringValue(s, key); return })
	case "repository_selection":
		err = nullable(s, func() (err error) { inst.RepositorySelection, err = stringValue(s, key); return })
	case "permissions":
		err = nullable(s, func() (err error) { inst.Permissions, err = permissionsValue(s); return })
	case "suspended_at":
		err = nullable(s, func() error {
			text, err := stringValue(s, key)
			if err != nil {
				return err
			}
			at, err := time.Parse(time.RFC3339, text)
			if err != nil {
				return fmt.Errorf("suspended_at %.40q is not an RFC 3339 time", text)
			}
			inst.SuspendedAt = &at
			return nil
		})
	default:
		err = s.skip()
	}
	return err
}

func (a *Account) decode(s *scanner) error {
	if s.peek() != '{' {
		return errors.New("account is not an object")
	}
	return s.object(once(func(key []byte) error {
		var err error
		switch string(key) {
		case "login":
			a.Login, err = stringValue(s, "login")
		case "slug":
			a.Slug, err = stringValue(s, "slug")
		case "id":
			a.ID, err = s.int()
		case "type":
			a.Type, err = stringValue(s, "type")
		default:
			err = s.skip()
		}
		return err
	}))
}

// nullable decodes a value with decode unless it is null, which leaves
// the field at its zero value.
func nullable(s *scanner, decode func() error) error {
	if s.peek() != 'n' {
		return decode()
	}
	text, err := s.scalar()
	if err == nil && string(text) != "null" {
		err = fmt.Errorf("unexpected %.10q", text)
	}
	return err
}
