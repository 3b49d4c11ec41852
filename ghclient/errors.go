package ghclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrNoPrivateKey is returned by calls that authenticate as the App when the
// client was configured without a private key.
var ErrNoPrivateKey = errors.New("GitHub App private key is not configured")

// maxMessageBytes caps how much text from a reply (GitHub's message, or a
// proxy's HTML page) ends up in an error, and so in Vault's responses and
// logs: GitHub's own messages are far shorter.
const maxMessageBytes = 256

// APIError is a non-2xx answer from GitHub.
type APIError struct {
	StatusCode       int
	Message          string
	DocumentationURL string
	Method           string
	Path             string
}

// Error names the request and GitHub's message. It never contains request
// headers, so neither the JWT nor an installation token can leak through it.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("GitHub %s %s: %d %s", e.Method, e.Path, e.StatusCode, msg)
}

// IsNotFound reports whether err is a 404 from GitHub.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports whether err is a 401 from GitHub.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsKeyMismatch reports whether GitHub refused the App's JWT as undecodable,
// which for a JWT this package signed means the private key is not the key
// of the App named in iss.
func IsKeyMismatch(err error) bool {
	return hasMessage(err, http.StatusUnauthorized, "A JSON web token could not be decoded")
}

// IsUnknownApp reports whether GitHub knows no App by the JWT's issuer.
func IsUnknownApp(err error) bool {
	return hasMessage(err, http.StatusNotFound, "Integration not found")
}

func hasStatus(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == status
}

func hasMessage(err error, status int, message string) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == status && apiErr.Message == message
}

// RateLimitError means GitHub asked us to wait longer than the retry policy
// or the caller's deadline allows.
type RateLimitError struct {
	Until   time.Time
	Message string
}

func (e *RateLimitError) Error() string {
	msg := "GitHub rate limited until " + e.Until.UTC().Format(time.RFC3339)
	if e.Message != "" {
		msg += " (GitHub: " + e.Message + ")"
	}
	return msg
}

// newAPIError decodes GitHub's {"message", "documentation_url"} error body,
// falling back to a short snippet of whatever else the body holds.
func newAPIError(method, path string, status int, body []byte, cred string) *APIError {
	var payload struct {
		Message          string `json:"message"`
		DocumentationURL string `json:"documentation_url"`
	}
	if err := json.Unmarshal(body, &payload); err != nil || payload.Message == "" {
		payload.Message = string(body)
	}
	// GitHub does not echo credentials, but a proxy in between might, and
	// JSON may spell one with escapes: redact what was decoded.
	redact := func(s string) string {
		if cred == "" {
			return s
		}
		return strings.ReplaceAll(s, cred, "[REDACTED]")
	}
	return &APIError{
		StatusCode:       status,
		Message:          cut(redact(payload.Message)),
		DocumentationURL: cut(redact(payload.DocumentationURL)),
		Method:           method,
		Path:             path,
	}
}

// newRedirectError reports a 3xx, naming only where it pointed: the
// redirect itself is never followed.
func newRedirectError(method, path string, resp *http.Response) *APIError {
	target := "nowhere"
	if loc, err := resp.Location(); err == nil {
		target = loc.Scheme + "://" + loc.Host
	}
	return &APIError{
		StatusCode: resp.StatusCode,
		Message:    cut(fmt.Sprintf("redirect to %s refused: GitHub API calls never follow redirects, which would resend credentials", target)),
		Method:     method,
		Path:       path,
	}
}

// cut trims s and bounds it to maxMessageBytes of valid UTF-8.
func cut(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxMessageBytes {
		return s
	}
	// Cutting may split a UTF-8 sequence; ToValidUTF8 drops the remainder.
	return strings.TrimSpace(strings.ToValidUTF8(s[:maxMessageBytes], "")) + "…"
}
