package ghclient

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

const (
	// maxBaseURLBytes is far above any real API root, and keeps a megabyte
	// of garbage out of storage and error messages.
	maxBaseURLBytes = 2048
	// maxHostnameBytes is DNS's limit.
	maxHostnameBytes = 253
)

// ErrCleartext refuses a plain http base URL on a host that is not loopback.
var ErrCleartext = errors.New("uses plain http to a host that is not loopback, which would send the App's JWTs and tokens in cleartext; use https")

// NormalizeBaseURL validates a GitHub API root and returns it without a
// trailing slash: "" means github.com; GitHub Enterprise Server is
// https://HOST/api/v3. Every request carries the App's JWT or a token, so
// plain http is refused unless the host is loopback (a local test server)
// or allowHTTP says the operator accepts cleartext on the way.
func NormalizeBaseURL(raw string, allowHTTP bool) (string, error) {
	raw = cmp.Or(strings.TrimSpace(raw), DefaultBaseURL)
	if len(raw) > maxBaseURLBytes {
		return "", fmt.Errorf("is %d bytes long; an API root such as https://HOST/api/v3 fits in %d", len(raw), maxBaseURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("must be an absolute URL such as %s or https://HOST/api/v3", DefaultBaseURL)
	}
	switch {
	case len(u.Hostname()) > maxHostnameBytes:
		return "", fmt.Errorf("has a host name longer than DNS allows (%d bytes)", maxHostnameBytes)
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("must use https, not %.20q", u.Scheme)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", errors.New("must not carry credentials, a query or a fragment")
	case u.Scheme == "http" && !allowHTTP && !isLoopback(u.Hostname()):
		return "", ErrCleartext
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String(), nil
}

// isLoopback reports whether host names this machine: "localhost" or a
// loopback IP literal. Other names are not resolved: DNS could answer
// anything.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// origin is the scheme, host and port of a URL in the form that decides
// whether two URLs reach the same server: the host in lower case without a
// trailing dot, the port spelled out. GitHub's pagination links omit the
// default port and never end the host in a dot, while a base URL may do
// either (https://ghe.example.com:443/api/v3, https://HOST./api/v3).
type origin struct {
	scheme, host, port string
}

func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port: u.Port()}
	switch {
	case o.port != "":
	case o.scheme == "https":
		o.port = "443"
	case o.scheme == "http":
		o.port = "80"
	}
	return o
}
