package ghclient

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Observer is told what the client does on the wire, so that a caller can
// keep metrics without ghclient knowing how they are kept. Its methods run
// synchronously on the request path, possibly concurrently: they must be
// cheap, must not block, and must not keep the Header they are handed.
type Observer interface {
	// ObserveAttempt runs after every attempt, once its reply has been read
	// or it has failed.
	ObserveAttempt(Attempt)
	// ObserveRetry runs before the client waits to try a request again.
	ObserveRetry(Retry)
	// ObserveJWTSigned runs after each App JWT signature (RSA signing is
	// the costliest thing the client does; the JWT is otherwise reused).
	ObserveJWTSigned()
}

// Attempt is one HTTP exchange with GitHub.
type Attempt struct {
	// Route is the endpoint's template, such as
	// "POST /app/installations/{installation_id}/access_tokens": one of a
	// fixed set (RouteOther for any path outside it), never an ID or a name.
	Route string
	// Status is the HTTP status of the reply, or 0 when none was read (a
	// connection failure, a timeout, an oversized body).
	Status int
	// Duration is from sending the request to having read the reply.
	Duration time.Duration
	// Header is the reply's header, nil when Status is 0. Read it during
	// the call only.
	Header http.Header
	// AsApp is true when the request carried the App's JWT, false when it
	// carried an installation token: GitHub keeps a separate rate limit
	// for each.
	AsApp bool
}

// Retry is a decision to try a request again.
type Retry struct {
	Route  string
	Reason RetryReason
	// Delay is how long the client waits before the next attempt.
	Delay time.Duration
}

// RetryReason says why a request is tried again.
type RetryReason uint8

// Reasons for a retry.
const (
	// RetryServerError follows a 5xx answer.
	RetryServerError RetryReason = iota + 1
	// RetryTransportError follows a failure to get any answer.
	RetryTransportError
	// RetryRateLimit follows a rate-limit answer; Delay is the wait GitHub
	// asked for.
	RetryRateLimit
	// RetryClockSkew follows a 401 blaming the JWT's times, retried at once
	// with a JWT on GitHub's clock.
	RetryClockSkew
)

// String names the reason in snake case, for metric labels.
func (r RetryReason) String() string {
	switch r {
	case RetryServerError:
		return "server_error"
	case RetryTransportError:
		return "transport_error"
	case RetryRateLimit:
		return "rate_limit"
	case RetryClockSkew:
		return "clock_skew"
	}
	return "unknown"
}

// nopObserver is the Observer of a client configured without one.
type nopObserver struct{}

func (nopObserver) ObserveAttempt(Attempt) {}
func (nopObserver) ObserveRetry(Retry)     {}
func (nopObserver) ObserveJWTSigned()      {}

// RouteOther names a request to a path outside Routes(). The client sends
// none; it keeps a label bounded should one be added without its route.
const RouteOther = "other"

// routes are the endpoints the client calls, written as GitHub's REST docs
// write them. A request's route is found by matching its path against them
// when the request is built, so that the path is built in one place only.
var routes = []string{
	"GET /app/installations",
	"POST /app/installations/{installation_id}/access_tokens",
	"GET /orgs/{org}/installation",
	"GET /users/{username}/installation",
	"GET /enterprises/{enterprise}/installation",
	"GET /installation/repositories",
	"DELETE /installation/token",
}

// routeTemplate is a route split for matching.
type routeTemplate struct {
	name     string
	method   string
	segments []string // a "{…}" segment matches any one non-empty segment
}

// Routes returns every route an Attempt or Retry may name, besides
// RouteOther.
func Routes() []string { return slices.Clone(routes) }

var routeTemplates = compileRoutes(routes)

func compileRoutes(routes []string) []routeTemplate {
	out := make([]routeTemplate, len(routes))
	for i, name := range routes {
		method, path, _ := strings.Cut(name, " ")
		out[i] = routeTemplate{name: name, method: method, segments: strings.Split(path[1:], "/")}
	}
	return out
}

// routeOf returns the route of a request for path (relative to the base
// URL, escaped, without a query), or RouteOther. It does not allocate: it
// runs for every request.
func routeOf(method, path string) string {
	for i := range routeTemplates {
		if routeTemplates[i].matches(method, path) {
			return routeTemplates[i].name
		}
	}
	return RouteOther
}

func (t *routeTemplate) matches(method, path string) bool {
	rest, ok := strings.CutPrefix(path, "/")
	if method != t.method || !ok {
		return false
	}
	for i, want := range t.segments {
		seg, after, more := strings.Cut(rest, "/")
		if more != (i < len(t.segments)-1) {
			return false
		}
		if isParam(want) {
			if seg == "" {
				return false
			}
		} else if seg != want {
			return false
		}
		rest = after
	}
	return true
}

func isParam(segment string) bool {
	return strings.HasPrefix(segment, "{") && strings.HasSuffix(segment, "}")
}
