// Package ghemu emulates the parts of GitHub's REST API that a GitHub App uses
// to mint installation tokens: App JWT authentication, installation lookup,
// token minting with narrowed scope, token use and revocation.
//
// It is strict on purpose. Tests of the plugin are only as good as the server
// they run against, so the emulator refuses everything GitHub refuses, with
// GitHub's statuses and messages, and records every request so that tests can
// assert what a client actually sent. Fault injection, latency and clock skew
// let reliability tests exercise retries and clock-drift recovery.
package ghemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ghesPrefix is the path prefix of a GitHub Enterprise Server API base URL.
const ghesPrefix = "/api/v3"

// Server is the emulator. The zero value is not usable; call New.
type Server struct {
	mux   *http.ServeMux
	admin *http.ServeMux

	// Clock and latency settings are atomics because the clock is read
	// while s.mu is held.
	nowFunc atomic.Pointer[func() time.Time]
	skew    atomic.Int64 // time.Duration
	latency atomic.Int64 // time.Duration

	connections atomic.Int64 // TCP connections accepted

	pathLatencyMu sync.RWMutex
	pathLatency   map[string]time.Duration // by path prefix

	mu            sync.RWMutex // guards the model below
	apps          map[int64]*app
	installations map[int64]*installation
	repos         map[int64]*repository
	accounts      map[string]Account // by lower-case login
	tokens        map[string]*token
	longTokens    bool

	rec recording   // requests, counters, faults, rate-limit window
	tls tlsCounters // handshakes and protocols of the StartTLS listener

	lifeMu sync.Mutex
	url    string            // the first live listener's
	stops  map[string]func() // by URL scheme: one listener each
}

// New returns an emulator with no Apps and no listener. Serve it with
// Start, NewTestServer, or any http.Server.
func New() *Server {
	s := &Server{
		apps:          map[int64]*app{},
		installations: map[int64]*installation{},
		repos:         map[int64]*repository{},
		accounts:      map[string]Account{},
		tokens:        map[string]*token{},
	}
	s.rec.reset()
	s.mux = s.routes()
	s.admin = s.adminRoutes()
	return s
}

// TB is the part of testing.TB that NewTestServer uses, so that the
// emulator does not import testing.
type TB interface {
	Helper()
	Cleanup(func())
	Fatal(args ...any)
}

// NewTestServer starts an emulator on a loopback port; it is closed when
// the test ends.
func NewTestServer(t TB) *Server {
	t.Helper()
	s := New()
	if _, err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start listens on addr (such as "127.0.0.1:0") and serves in the
// background. It returns the base URL.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ConnState: s.countConnection}
	url := "http://" + ln.Addr().String()
	if err := s.setListener(url, func() { srv.Close() }); err != nil {
		ln.Close()
		return "", err
	}
	// Serve returns only once Close has shut the server down, with
	// ErrServerClosed.
	go func() { _ = srv.Serve(ln) }()
	return url, nil
}

// setListener records a listener; an emulator serves at most one plain
// and one TLS listener.
func (s *Server) setListener(url string, stop func()) error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	scheme, _, _ := strings.Cut(url, ":")
	if s.stops[scheme] != nil {
		return errors.New("ghemu: server already started (" + scheme + ")")
	}
	if len(s.stops) == 0 {
		s.url, s.stops = url, map[string]func(){}
	}
	s.stops[scheme] = stop
	return nil
}

// Close stops the listeners started by Start, StartTLS or NewTestServer.
// It is safe to call more than once.
func (s *Server) Close() {
	s.lifeMu.Lock()
	stops := s.stops
	s.stops = nil
	s.lifeMu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// URL returns the base URL of the first listener started, or "" before
// one is.
func (s *Server) URL() string {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return s.url
}

// countConnection counts the connections clients open, so tests can tell
// a client that reuses connections from one that dials per request.
func (s *Server) countConnection(_ net.Conn, state http.ConnState) {
	if state == http.StateNew {
		s.connections.Add(1)
	}
}

// SetLatency delays every reply by d.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// SetLatencyFor delays the replies to requests whose path, without any
// /api/v3 prefix, starts with prefix by d more (0 removes it): each page
// of a slow listing, say.
func (s *Server) SetLatencyFor(prefix string, d time.Duration) {
	s.pathLatencyMu.Lock()
	defer s.pathLatencyMu.Unlock()
	if d <= 0 {
		delete(s.pathLatency, prefix)
		return
	}
	if s.pathLatency == nil {
		s.pathLatency = map[string]time.Duration{}
	}
	s.pathLatency[prefix] = d
}

// latencyFor is the delay of a reply to apiPath.
func (s *Server) latencyFor(apiPath string) time.Duration {
	d := time.Duration(s.latency.Load())
	s.pathLatencyMu.RLock()
	defer s.pathLatencyMu.RUnlock()
	for prefix, extra := range s.pathLatency {
		if strings.HasPrefix(apiPath, prefix) {
			d += extra
		}
	}
	return d
}

// SetClockSkew sets the emulator's clock to the base clock plus d, as if
// GitHub's clock and the client's disagreed.
func (s *Server) SetClockSkew(d time.Duration) { s.skew.Store(int64(d)) }

// SetNow replaces the base clock (time.Now), for example to expire tokens
// without waiting. nil restores time.Now. The clock skew still applies.
func (s *Server) SetNow(now func() time.Time) {
	if now == nil {
		s.nowFunc.Store(nil)
		return
	}
	s.nowFunc.Store(&now)
}

// now is the emulator's clock: it dates replies, checks JWTs and expires
// tokens.
func (s *Server) now() time.Time {
	base := time.Now
	if f := s.nowFunc.Load(); f != nil {
		base = *f
	}
	return base().Add(time.Duration(s.skew.Load())).UTC()
}

// exchange carries per-request state from ServeHTTP to the handlers.
type exchange struct {
	rec  *Request
	urls urls
}

type exchangeKey struct{}

func exchangeOf(r *http.Request) *exchange {
	return r.Context().Value(exchangeKey{}).(*exchange)
}

// ServeHTTP records the request, applies latency and faults, enforces the
// User-Agent rule, then routes the request with any /api/v3 prefix removed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	apiPath, prefix := splitPrefix(r.URL.Path)
	rw := &recorder{ResponseWriter: w, s: s, rec: s.rec.begin(r)}
	defer rw.commit(http.StatusOK) // a handler that wrote nothing replied 200

	sleep(r.Context(), s.latencyFor(apiPath))
	s.writeCommonHeaders(w.Header())

	if f, ok := s.rec.faults.take(apiPath); ok {
		rw.inject(f)
		return
	}
	if r.UserAgent() == "" {
		writeError(rw, http.StatusForbidden, userAgentMessage)
		return
	}
	version, ok := selectAPIVersion(r.Header.Get(apiVersionHeader), prefix)
	if !ok {
		writeError(rw, http.StatusBadRequest, unsupportedVersionMessage(r.Header.Get(apiVersionHeader), prefix))
		return
	}
	w.Header().Set("X-GitHub-Api-Version-Selected", version)
	// GitHub does not clean paths: a client that joins URLs badly
	// ("/api/v3//app", "/app/") must see a 404, not a redirect.
	if path.Clean(apiPath) != apiPath {
		writeAPIError(rw, errNotFound)
		return
	}

	inner := r.Clone(context.WithValue(r.Context(), exchangeKey{}, &exchange{
		rec:  rw.rec,
		urls: newURLs(r, prefix, version),
	}))
	inner.URL.Path, inner.URL.RawPath = apiPath, ""
	s.mux.ServeHTTP(rw, inner)
}

// splitPrefix separates a GitHub Enterprise Server /api/v3 prefix from the
// API path.
func splitPrefix(p string) (apiPath, prefix string) {
	if rest, ok := strings.CutPrefix(p, ghesPrefix); ok && (rest == "" || rest[0] == '/') {
		if rest == "" {
			rest = "/"
		}
		return rest, ghesPrefix
	}
	return p, ""
}

const userAgentMessage = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header " +
	"(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). " +
	"Check https://developer.github.com for other possible causes."

// writeCommonHeaders adds the headers GitHub sends on every reply. Date
// comes from the emulator clock because clients derive clock skew from it.
func (s *Server) writeCommonHeaders(h http.Header) {
	now := s.now()
	h.Set("Date", now.Format(http.TimeFormat))
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Request-Id", randomHex(8))
	used, reset := s.rec.spendRateLimit(now)
	h.Set("X-RateLimit-Limit", fmt.Sprint(rateLimit))
	h.Set("X-RateLimit-Remaining", fmt.Sprint(max(rateLimit-used, 0)))
	h.Set("X-RateLimit-Used", fmt.Sprint(used))
	h.Set("X-RateLimit-Reset", fmt.Sprint(reset.Unix()))
	h.Set("X-RateLimit-Resource", "core")
}

// sleep waits d, or less if the client goes away.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// urls are what GitHub's JSON depends on besides the model: the base URLs
// it embeds, derived from the request so that links point back at the
// emulator, and the API version that shapes its objects.
type urls struct {
	api     string // scheme://host[/api/v3]
	web     string // scheme://host
	host    string
	version string // the REST API version the request selected
}

func newURLs(r *http.Request, prefix, version string) urls {
	scheme, defaultPort := "http", "80"
	if r.TLS != nil {
		scheme, defaultPort = "https", "443"
	}
	host := canonicalHost(r.Host, defaultPort)
	web := scheme + "://" + host
	return urls{api: web + prefix, web: web, host: host, version: version}
}

// canonicalHost is a Host header as GitHub names its own host in links:
// without the scheme's default port or a trailing dot, whatever form the
// client sent.
func canonicalHost(hostport, defaultPort string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), ""
	}
	host = strings.TrimSuffix(host, ".")
	if port == "" || port == defaultPort {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}
