package ghemu

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one recorded API request and the emulator's answer.
type Request struct {
	Time     time.Time // arrival, by the real clock
	Method   string
	Path     string // as sent, including any /api/v3 prefix
	RawQuery string
	Header   http.Header
	Body     []byte
	Route    string // the matched route, such as "GET /app"; "" when none
	Status   int    // 0 when the connection was dropped
	Dropped  bool
	// JWT holds the claims of a JWT whose signature verified, even if a
	// time claim was then refused; nil when none was presented.
	JWT *JWTClaims
}

// Rate-limit headers report a plain hourly window; the limit is not
// enforced (use FailNext to emulate exhaustion).
const rateLimit = 5000

// maxRecordedBody bounds what one request may make the emulator hold.
const maxRecordedBody = 10 << 20

// recording holds what the emulator observed and the faults it will inject.
type recording struct {
	mu       sync.Mutex
	requests []Request
	byPath   map[string]int // "METHOD /api/path" → count
	byRoute  map[string]int // route pattern → count
	faults   queue[Fault]
	edits    queue[ReplyEdit]
	used     int
	resetAt  time.Time
	injected int
}

func (rc *recording) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests = nil
	rc.byPath = map[string]int{}
	rc.byRoute = map[string]int{}
	rc.injected = 0
}

// begin captures a request as it arrives. It buffers the body so that
// handlers can still read it.
func (rc *recording) begin(r *http.Request) *Request {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
	r.Body = io.NopCloser(bytes.NewReader(body))
	return &Request{
		Time:     time.Now(),
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
	}
}

// add stores a finished request. It runs before the reply leaves, so a
// client that has its answer always finds the request recorded.
func (rc *recording) add(req Request, fault bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests = append(rc.requests, req)
	rc.byPath[req.Method+" "+req.apiPath()]++
	route := req.Route
	if route == "" {
		route = "unrouted"
	}
	rc.byRoute[route]++
	if fault {
		rc.injected++
	}
}

// apiPath is the recorded path without any /api/v3 prefix.
func (req Request) apiPath() string {
	p, _ := splitPrefix(req.Path)
	return p
}

// spendRateLimit counts one request against the hourly window and returns
// the requests used and when the window resets.
func (rc *recording) spendRateLimit(now time.Time) (used int, reset time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !now.Before(rc.resetAt) {
		rc.used, rc.resetAt = 0, now.Add(time.Hour).Truncate(time.Second)
	}
	rc.used++
	return rc.used, rc.resetAt
}

// Requests returns a deep copy of every request recorded since the last
// ResetRequests, in the order their replies were decided.
func (s *Server) Requests() []Request {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	out := make([]Request, len(s.rec.requests))
	for i, req := range s.rec.requests {
		req.Header = req.Header.Clone()
		req.Body = bytes.Clone(req.Body)
		if req.JWT != nil {
			c := *req.JWT
			req.JWT = &c
		}
		out[i] = req
	}
	return out
}

// ResetRequests forgets recorded requests and counters.
func (s *Server) ResetRequests() { s.rec.reset() }

// Count returns how many recorded requests had the method (any when "")
// and a path starting with pathPrefix. The prefix is matched against the
// path without any /api/v3 prefix, so one assertion serves both bases.
func (s *Server) Count(method, pathPrefix string) int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	n := 0
	for key, c := range s.rec.byPath {
		m, p, _ := strings.Cut(key, " ")
		if (method == "" || m == method) && strings.HasPrefix(p, pathPrefix) {
			n += c
		}
	}
	return n
}

// recorder is the ResponseWriter handlers write to. It commits the request
// record when the status is decided, before any byte reaches the client.
type recorder struct {
	http.ResponseWriter
	s     *Server
	rec   *Request
	fault bool
	done  bool
}

func (w *recorder) WriteHeader(code int) {
	w.commit(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	w.commit(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for Drop).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) commit(status int) {
	if w.done {
		return
	}
	w.done = true
	w.rec.Status = status
	w.s.rec.add(*w.rec, w.fault)
}
