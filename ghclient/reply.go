package ghclient

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

const (
	// maxTokenBytes bounds a token the plugin hands out: GitHub's longest
	// format is about 520 bytes, and the token travels in HTTP headers.
	maxTokenBytes = 4096
	// maxRevocableTokenBytes bounds a token the plugin still sends to be
	// revoked: one too long to hand out may be live all the same.
	maxRevocableTokenBytes = 64 << 10
	// discardTimeout bounds the revocation of a token nobody will receive.
	discardTimeout = 10 * time.Second
)

// InvalidReplyError is a successful status whose body GitHub would never
// send: a token missing, malformed, already expired, or wider than asked.
// Whoever is at fault (a proxy, a bug, an attacker), its token is not
// handed out.
type InvalidReplyError struct {
	Method, Path string
	Reason       string
}

func (e *InvalidReplyError) Error() string {
	return fmt.Sprintf("GitHub %s %s: refused an impossible reply: %s", e.Method, e.Path, e.Reason)
}

// IsInvalidReply reports whether err is an InvalidReplyError.
func IsInvalidReply(err error) bool {
	var invalid *InvalidReplyError
	return errors.As(err, &invalid)
}

// checkToken refuses a mint reply that is malformed or grants more than
// req asked for. Repositories are matched by ID or case-insensitive name.
func (t *InstallationToken) check(req TokenRequest) string {
	switch {
	case !wellFormedToken(t.Token):
		return "the token is missing or not a printable ASCII string"
	case t.ExpiresAt.IsZero():
		return "expires_at is missing"
	case !t.ExpiresAt.After(t.ServerDate):
		return fmt.Sprintf("the token expired (%s) before GitHub sent it (%s)",
			t.ExpiresAt.UTC().Format(time.RFC3339), t.ServerDate.UTC().Format(time.RFC3339))
	}
	if reason := t.widerPermissions(req.Permissions); reason != "" {
		return reason
	}
	return t.widerRepositories(req)
}

func wellFormedToken(token string) bool {
	return len(token) <= maxTokenBytes && revocable(token)
}

// revocable reports whether a token can be sent in a header at all: printable
// ASCII, and not absurdly long.
func revocable(token string) bool {
	if token == "" || len(token) > maxRevocableTokenBytes {
		return false
	}
	for i := range len(token) {
		if token[i] <= ' ' || token[i] > '~' {
			return false
		}
	}
	return true
}

// widerPermissions names a permission granted beyond what was asked; none
// asked means all the installation has. GitHub adds metadata:read to every
// token, which grants nothing a repository token does not imply.
func (t *InstallationToken) widerPermissions(asked map[string]string) string {
	if len(asked) == 0 {
		return ""
	}
	if len(t.Permissions) == 0 {
		// GitHub always lists the token's permissions; without them, what
		// the token grants cannot be checked.
		return "permissions were asked for but the reply lists none"
	}
	for name, level := range t.Permissions {
		if name == "metadata" && level == "read" {
			continue
		}
		if !LevelCovers(asked[name], level) {
			return fmt.Sprintf("the token grants %.40q=%.20q, which was not asked for", name, level)
		}
	}
	return ""
}

// widerRepositories names a repository granted beyond those asked for; none
// asked means all the installation reaches.
func (t *InstallationToken) widerRepositories(req TokenRequest) string {
	if len(req.Repositories) == 0 && len(req.RepositoryIDs) == 0 {
		return ""
	}
	if t.RepositorySelection != "selected" || len(t.Repositories) == 0 {
		return fmt.Sprintf("repositories were named but the token's repository_selection is %.20q", t.RepositorySelection)
	}
	names := make(map[string]bool, len(req.Repositories))
	for _, name := range req.Repositories {
		names[strings.ToLower(name)] = true
	}
	ids := make(map[int64]bool, len(req.RepositoryIDs))
	for _, id := range req.RepositoryIDs {
		ids[id] = true
	}
	for _, repo := range t.Repositories {
		if !ids[repo.ID] && !names[strings.ToLower(repo.Name)] {
			return fmt.Sprintf("the token reaches repository %.100q (id %d), which was not asked for", repo.Name, repo.ID)
		}
	}
	return ""
}

// serverTime is GitHub's clock when it answered: the reply's Date header, or
// our clock corrected by the skew learned so far.
func (c *Client) serverTime(header http.Header) time.Time {
	if date, err := http.ParseTime(header.Get("Date")); err == nil {
		return date
	}
	if c.jwt != nil {
		return c.jwt.githubNow()
	}
	return c.now()
}

// HashedToken is a token as GitHub's audit log records it: the standard,
// padded base64 of the SHA-256 of the token string. Logs carry it, never
// the token, so that an admin can go from a log line to what the token did
// at GitHub (hashed_token:"<value>" in the audit log) and back.
func HashedToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// UndeliveredToken is a token nobody received whose revocation failed: it
// stays live at GitHub until it expires, within the hour, unless revoked
// later.
type UndeliveredToken struct {
	Token          string
	InstallationID int64
	// What describes it, for the log.
	What string
}

// Discard revokes a token that nobody will receive (what describes it, for
// the log), on a context of its own: the caller may be gone. If that
// fails, the token goes to Config.Undelivered to be retried later.
// Whatever happens is logged with the token's hashed_token, never the
// token, so no live token stays unknown.
func (c *Client) Discard(token string, installationID int64, what string) {
	if !revocable(token) {
		c.logger.Error(what+" cannot be sent to GitHub to be revoked (not a printable ASCII string of at most 64 KiB); it expires within the hour",
			"installation_id", installationID, "hashed_token", HashedToken(token))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), discardTimeout)
	defer cancel()
	err := c.RevokeInstallationToken(ctx, token)
	switch {
	case err == nil:
		c.logger.Info("revoked "+what, "installation_id", installationID, "hashed_token", HashedToken(token))
	case c.undelivered == nil:
		c.logger.Error("revoking "+what+" failed; it expires within the hour",
			"installation_id", installationID, "hashed_token", HashedToken(token), "error", err)
	default:
		c.logger.Warn("revoking "+what+" failed; it will be retried",
			"installation_id", installationID, "hashed_token", HashedToken(token), "error", err)
		c.undelivered(UndeliveredToken{Token: token, InstallationID: installationID, What: what})
	}
}
