package ghemu

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Fault replaces the emulator's answer to one request.
type Fault struct {
	// Status is the reply's status; 500 when zero.
	Status int `json:"status"`
	// Header is added to the reply, replacing headers of the same name
	// (for example Retry-After, or X-RateLimit-Remaining: 0).
	Header http.Header `json:"header,omitempty"`
	// Body is sent as is; empty means a GitHub-style JSON error.
	Body string `json:"body,omitempty"`
	// Drop closes the connection without any reply.
	Drop bool `json:"drop,omitempty"`
	// PathPrefix limits the fault to requests whose path, without any
	// /api/v3 prefix, starts with it; "" matches any request.
	PathPrefix string `json:"path_prefix,omitempty"`
}

// FailNext makes the next n matching requests fail with f. Faults queue in
// the order they were added; each request consumes the first that matches.
func (s *Server) FailNext(n int, f Fault) { s.rec.faults.add(n, f) }

// pathMatcher is a queued change to the emulator's answers, limited to
// requests whose path starts with a prefix.
type pathMatcher interface{ prefix() string }

func (f Fault) prefix() string     { return f.PathPrefix }
func (e ReplyEdit) prefix() string { return e.PathPrefix }

// queue holds changes to the next answers, in the order they were added.
type queue[T pathMatcher] struct {
	mu    sync.Mutex
	items []T
}

func (q *queue[T]) add(n int, item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range n {
		q.items = append(q.items, item)
	}
}

// take removes and returns the first queued item matching apiPath.
func (q *queue[T]) take(apiPath string) (T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, item := range q.items {
		if strings.HasPrefix(apiPath, item.prefix()) {
			q.items = slices.Delete(q.items, i, i+1)
			return item, true
		}
	}
	var none T
	return none, false
}

// inject answers with a fault instead of the real reply.
func (w *recorder) inject(f Fault) {
	w.fault = true
	if f.Drop {
		w.rec.Dropped = true
		w.commit(0)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// Not hijackable (HTTP/2): abort the stream instead.
			panic(http.ErrAbortHandler)
		}
		conn.Close()
		return
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	for name, values := range f.Header {
		w.Header().Del(name)
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	if f.Body == "" {
		writeError(w, status, http.StatusText(status))
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(f.Body)) // a client that hung up is the test's concern
}

// ReplyEdit alters the JSON object of a successful reply after the emulator
// has done the real work: the token a mint reply names is minted and live.
// It emulates replies GitHub should never send (a field missing, retyped,
// wider than asked, dated by a broken clock), so that tests can check a
// client refuses them and revokes the token they carry.
type ReplyEdit struct {
	// Set replaces (or adds) top-level fields.
	Set map[string]any `json:"set,omitempty"`
	// Delete removes top-level fields.
	Delete []string `json:"delete,omitempty"`
	// InsertRaw is raw JSON text inserted before the object's closing
	// brace, for what a map cannot hold: `,"token":"ghs_other"` sends a
	// second token key.
	InsertRaw string `json:"insert_raw,omitempty"`
	// Prefix and Suffix are raw bytes sent before and after the JSON: a
	// byte-order mark, trailing garbage, a second object.
	Prefix string `json:"prefix,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	// TruncateTo, when positive, cuts the body to that many bytes (with a
	// Content-Length to match).
	TruncateTo int `json:"truncate_to,omitempty"`
	// DropAfter, when positive, announces the whole body but sends only
	// that many bytes before dropping the connection.
	DropAfter int `json:"drop_after,omitempty"`
	// Gzip sends the body gzip-compressed, as GitHub may: a client that
	// bounds the compressed size is open to a small reply that inflates.
	Gzip bool `json:"gzip,omitempty"`
	// PathPrefix limits the edit to requests whose path, without any
	// /api/v3 prefix, starts with it; "" matches any request.
	PathPrefix string `json:"path_prefix,omitempty"`
}

// EditNextReply applies e to the next n successful replies to matching
// requests. Edits queue like faults.
func (s *Server) EditNextReply(n int, e ReplyEdit) { s.rec.edits.add(n, e) }

// edited returns v with the next matching edit's field changes applied, and
// that edit, whose raw changes writeJSON applies to the encoded body.
func (w *recorder) edited(v any) (any, *ReplyEdit) {
	e, ok := w.s.rec.edits.take(w.rec.apiPath())
	if !ok {
		return v, nil
	}
	w.fault = true
	b, err := json.Marshal(v)
	if err != nil {
		return v, &e
	}
	obj, err := decodeOrdered(b)
	if err != nil {
		return v, &e // not an object: nothing to edit field by field
	}
	obj = slices.DeleteFunc(obj, func(f orderedField) bool { return slices.Contains(e.Delete, f.name) })
	for _, name := range sortedNames(e.Set) {
		value, _ := json.Marshal(e.Set[name])
		if i := slices.IndexFunc(obj, func(f orderedField) bool { return f.name == name }); i >= 0 {
			obj[i].value = value
		} else {
			obj = append(obj, orderedField{name, value})
		}
	}
	return obj, &e
}

// orderedObject is a JSON object that keeps its fields in order, so that an
// edited reply still has GitHub's field order (the token first).
type orderedObject []orderedField

type orderedField struct {
	name  string
	value json.RawMessage
}

func decodeOrdered(b []byte) (orderedObject, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not an object")
	}
	var obj orderedObject
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		obj = append(obj, orderedField{key.(string), value})
	}
	return obj, nil
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, _ := json.Marshal(f.name)
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(f.value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func sortedNames(m map[string]any) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// mangle applies an edit's raw changes to an encoded body.
func (e *ReplyEdit) mangle(body []byte) []byte {
	if e.InsertRaw != "" && bytes.HasSuffix(body, []byte("}")) {
		body = append(body[:len(body)-1:len(body)-1], e.InsertRaw+"}"...)
	}
	body = append(append([]byte(e.Prefix), body...), e.Suffix...)
	if e.TruncateTo > 0 && e.TruncateTo < len(body) {
		body = body[:e.TruncateTo]
	}
	if e.Gzip {
		var zipped bytes.Buffer
		zw := gzip.NewWriter(&zipped)
		_, _ = zw.Write(body) // writes to memory cannot fail
		_ = zw.Close()
		body = zipped.Bytes()
	}
	return body
}

// send writes a mangled body, dropping the connection part-way if the edit
// says so.
func (e *ReplyEdit) send(w http.ResponseWriter, status int, body []byte) {
	if e.Gzip {
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if e.DropAfter <= 0 || e.DropAfter >= len(body) {
		w.Write(body)
		return
	}
	w.Write(body[:e.DropAfter])
	http.NewResponseController(w).Flush()
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
}
