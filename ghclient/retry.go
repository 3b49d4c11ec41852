package ghclient

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy controls how failed requests are repeated. Fields that are zero
// or negative take their value from DefaultRetryPolicy.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, including the first.
	MaxAttempts int
	// BaseDelay and MaxDelay bound the exponential backoff with full jitter
	// used after connection failures and 5xx answers.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRateLimitWait is the longest wait a rate limit answer may impose;
	// longer waits fail at once with a RateLimitError.
	MaxRateLimitWait time.Duration
}

// DefaultRetryPolicy returns the policy used when Config.Retry is left empty.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:      4,
		BaseDelay:        200 * time.Millisecond,
		MaxDelay:         5 * time.Second,
		MaxRateLimitWait: 30 * time.Second,
	}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.MaxRateLimitWait <= 0 {
		p.MaxRateLimitWait = d.MaxRateLimitWait
	}
	return p
}

// backoff returns the delay before attempt+1: uniformly random up to
// BaseDelay*2^(attempt-1), capped at MaxDelay ("full jitter"), so that many
// clients failing together do not retry in lockstep.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	ceiling := p.BaseDelay
	for i := 1; i < attempt && ceiling < p.MaxDelay; i++ {
		ceiling *= 2
	}
	return rand.N(min(ceiling, p.MaxDelay) + 1) //nolint:gosec // G404: jitter needs spread, not unpredictability
}

const (
	// defaultRateLimitWait applies when GitHub signals a rate limit without
	// saying how long to wait; GitHub's guidance is to wait at least a minute.
	defaultRateLimitWait = time.Minute
	// maxRateLimitWait clamps what a reply may ask for: GitHub's windows are
	// an hour at most, and a number that overflows a duration must not wrap
	// into an instant retry or a reset in another century.
	maxRateLimitWait = 24 * time.Hour
)

// rateLimitWait reports whether res is a rate limit answer and how long
// GitHub asks us to wait. A 403 that is not a rate limit (a suspended
// installation, say) reports false.
func rateLimitWait(res *response, now time.Time) (time.Duration, bool) {
	if res.status != http.StatusForbidden && res.status != http.StatusTooManyRequests {
		return 0, false
	}
	if secs, err := strconv.ParseUint(res.header.Get("Retry-After"), 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// ParseUint saturates on overflow, which the clamp then bounds; a
		// zero is no reason to retry at once.
		return time.Duration(min(max(secs, 1), uint64(maxRateLimitWait/time.Second))) * time.Second, true
	}
	if res.header.Get("X-Ratelimit-Remaining") == "0" {
		reset, err := strconv.ParseInt(res.header.Get("X-Ratelimit-Reset"), 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) { // ParseInt saturates too
			return defaultRateLimitWait, true
		}
		// The reset time is on GitHub's clock, so measure from GitHub's Date
		// when it is there. One extra second covers Date's truncation.
		if date, err := http.ParseTime(res.header.Get("Date")); err == nil {
			now = date
		}
		// Clamped in seconds first: time.Unix overflows on extreme values.
		reset = min(max(reset, now.Unix()), now.Add(maxRateLimitWait).Unix())
		return min(time.Unix(reset, 0).Sub(now)+time.Second, maxRateLimitWait), true
	}
	if res.status == http.StatusTooManyRequests || strings.Contains(strings.ToLower(res.err.Message), "rate limit") {
		return defaultRateLimitWait, true
	}
	return 0, false
}

// retryableStatus reports server-side failures worth another attempt.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableTransportError reports whether a failure to get a response is
// worth another attempt: connection resets and timeouts are, but not when the
// caller gave up, and not failures that would recur identically.
func retryableTransportError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var certErr *tls.CertificateVerificationError
	return !errors.As(err, &certErr)
}

// exceedsDeadline reports whether waiting d would outlast ctx.
func exceedsDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < d
}

// sleepContext waits for d or until ctx is done, whichever comes first.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
