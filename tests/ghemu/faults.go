package ghemu

import (
	"encoding/json"
	"net/http"
	"strings"
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
func (s *Server) FailNext(n int, f Fault) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	for range n {
		s.rec.faults = append(s.rec.faults, f)
	}
}

// takeFault removes and returns the first queued fault matching apiPath.
func (rc *recording) takeFault(apiPath string) (Fault, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, f := range rc.faults {
		if strings.HasPrefix(apiPath, f.PathPrefix) {
			rc.faults = append(rc.faults[:i], rc.faults[i+1:]...)
			return f, true
		}
	}
	return Fault{}, false
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
	w.Write([]byte(f.Body))
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
	// PathPrefix limits the edit to requests whose path, without any
	// /api/v3 prefix, starts with it; "" matches any request.
	PathPrefix string `json:"path_prefix,omitempty"`
}

// EditNextReply applies e to the next n successful replies to matching
// requests. Edits queue like faults.
func (s *Server) EditNextReply(n int, e ReplyEdit) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	for range n {
		s.rec.edits = append(s.rec.edits, e)
	}
}

// takeEdit removes and returns the first queued edit matching apiPath.
func (rc *recording) takeEdit(apiPath string) (ReplyEdit, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i, e := range rc.edits {
		if strings.HasPrefix(apiPath, e.PathPrefix) {
			rc.edits = append(rc.edits[:i], rc.edits[i+1:]...)
			return e, true
		}
	}
	return ReplyEdit{}, false
}

// edited returns v with the next matching edit applied, or v itself when
// no edit is queued or v is not a JSON object.
func (w *recorder) edited(v any) any {
	e, ok := w.s.rec.takeEdit(w.rec.apiPath())
	if !ok {
		return v
	}
	w.fault = true
	var obj map[string]any
	if b, err := json.Marshal(v); err != nil || json.Unmarshal(b, &obj) != nil {
		return v
	}
	for _, name := range e.Delete {
		delete(obj, name)
	}
	for name, value := range e.Set {
		obj[name] = value
	}
	return obj
}
