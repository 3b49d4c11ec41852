package ghclient

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// scanner walks a JSON reply once, handing the decoders the fields they
// keep and skipping everything else at the speed of bytes.IndexByte. A
// token naming 500 repositories is a 3.3 MB reply of which the plugin keeps
// each repository's id and name (docs/benchmarks.md compares the speed of
// encoding/json and gjson on it; gjson also validates in a separate pass
// and copies the body). This scanner checks the structure (balanced and
// matching brackets, terminated strings, a single top-level value) in the
// same pass that extracts the fields. It does not check the grammar of
// scalars it skips (a number's digits, a literal's spelling): a value the
// plugin keeps is checked where it is decoded.
type scanner struct {
	data []byte
	pos  int
}

// maxNesting bounds how deep a skipped value may nest; GitHub's replies
// nest four levels.
const maxNesting = 64

var (
	errTruncated = errors.New("the body ends in the middle of a value")
	errNesting   = fmt.Errorf("the body nests deeper than %d levels", maxNesting)
	// errSkipRest, returned by an object's field callback, skips the rest
	// of the object: the caller has what it needs from it.
	errSkipRest = errors.New("skip the rest of the object")
)

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.skipSpace()
	if s.pos == len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *scanner) expect(c byte) error {
	switch s.peek() {
	case c:
		s.pos++
		return nil
	case 0:
		return errTruncated
	}
	return fmt.Errorf("expected %q at byte %d", c, s.pos)
}

// end checks that nothing but white space follows the top-level value.
func (s *scanner) end() error {
	if s.peek() != 0 {
		return fmt.Errorf("the body goes on after its JSON value, at byte %d", s.pos)
	}
	return nil
}

// rawString consumes a string and returns its contents, still escaped.
func (s *scanner) rawString() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	s.pos--
	start := s.pos + 1
	if err := s.skipString(); err != nil {
		return nil, err
	}
	return s.data[start : s.pos-1], nil
}

// skipString consumes a string whose opening quote is at s.pos. It is the
// scanner's inner loop: most of a reply is strings, crossed by IndexByte.
func (s *scanner) skipString() error {
	start := s.pos + 1
	for i := start; ; i++ {
		j := bytes.IndexByte(s.data[i:], '"')
		if j < 0 {
			s.pos = len(s.data)
			return errTruncated
		}
		i += j
		if s.data[i-1] != '\\' || evenBackslashesBefore(s.data[start:i]) {
			s.pos = i + 1
			return nil
		}
	}
}

// evenBackslashesBefore reports whether text ends in an even number of
// backslashes, so that a quote after it closes the string.
func evenBackslashesBefore(text []byte) bool {
	n := 0
	for i := len(text) - 1; i >= 0 && text[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

// unescaped returns a string's contents without escapes; raw itself when
// it has none, so that comparing a key costs no allocation.
func (s *scanner) unescaped(raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, nil
	}
	var out string
	quoted := s.data[s.pos-len(raw)-2 : s.pos]
	if err := json.Unmarshal(quoted, &out); err != nil {
		return nil, fmt.Errorf("a string ending at byte %d has a bad escape", s.pos)
	}
	return []byte(out), nil
}

// str consumes a string and returns it unescaped, in memory of its own.
func (s *scanner) str() (string, error) {
	raw, err := s.rawString()
	if err != nil {
		return "", err
	}
	text, err := s.unescaped(raw)
	return string(text), err
}

// scalar consumes a number or a literal and returns its text.
func (s *scanner) scalar() ([]byte, error) {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return s.data[start:s.pos], s.checkScalar(start)
		case '"', '{', '[', ':':
			return nil, fmt.Errorf("unexpected %q at byte %d", s.data[s.pos], s.pos)
		}
		s.pos++
	}
	return nil, errTruncated
}

func (s *scanner) checkScalar(start int) error {
	if start == s.pos {
		return fmt.Errorf("a value is missing at byte %d", start)
	}
	switch c := s.data[start]; {
	case c == '-', c >= '0' && c <= '9', c == 't', c == 'f', c == 'n':
		return nil
	}
	return fmt.Errorf("unexpected %q at byte %d", s.data[start], start)
}

// int consumes an integer.
func (s *scanner) int() (int64, error) {
	if s.peek() == '"' {
		return 0, errors.New("a number is a string")
	}
	text, err := s.scalar()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%.20q is not an integer", text)
	}
	return n, nil
}

// skip consumes any value.
func (s *scanner) skip() error {
	switch s.peek() {
	case '"':
		_, err := s.rawString()
		return err
	case '{', '[':
		return s.skipNested()
	case 0:
		return errTruncated
	}
	_, err := s.scalar()
	return err
}

// skipNested consumes an object or array, checking that its brackets match.
func (s *scanner) skipNested() error {
	closer := s.data[s.pos] + 2 // '{'+2 == '}', '['+2 == ']'
	s.pos++
	return s.skipRest(closer)
}

// skipRest consumes the rest of an object or array whose opening bracket
// is behind, up to its closer.
func (s *scanner) skipRest(closer byte) error {
	var closers [maxNesting]byte
	closers[0] = closer
	depth := 1
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; c {
		case '"':
			if err := s.skipString(); err != nil {
				return err
			}
			continue
		case '{', '[':
			if depth == maxNesting {
				return errNesting
			}
			closers[depth] = c + 2 // '{'+2 == '}', '['+2 == ']'
			depth++
		case '}', ']':
			if depth == 0 || closers[depth-1] != c {
				return fmt.Errorf("unbalanced %q at byte %d", c, s.pos)
			}
			depth--
			if depth == 0 {
				s.pos++
				return nil
			}
		}
		s.pos++
	}
	return errTruncated
}

// object consumes an object, calling field for each key (unescaped; valid
// only during the call) with the scanner at the key's value, which field
// must consume.
func (s *scanner) object(field func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		raw, err := s.rawString()
		if err != nil {
			return err
		}
		key, err := s.unescaped(raw)
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := field(key); err != nil {
			if errors.Is(err, errSkipRest) {
				return s.skipRest('}')
			}
			return err
		}
		if more, err := s.more('}'); !more {
			return err
		}
	}
}

// more consumes what follows a member or element: a comma (true: another
// comes) or the closer (false).
func (s *scanner) more(closer byte) (bool, error) {
	switch c := s.peek(); c {
	case closer:
		s.pos++
		return false, nil
	case ',':
		s.pos++
		return true, nil
	case 0:
		return false, errTruncated
	}
	return false, fmt.Errorf("expected ',' or %q at byte %d", closer, s.pos)
}

// array consumes an array, calling item with the scanner at each element,
// which item must consume.
func (s *scanner) array(item func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		if more, err := s.more(']'); !more {
			return err
		}
	}
}
