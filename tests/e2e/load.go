package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// loadRequestTimeout bounds one request of a load; a request still
// unanswered then counts as failed.
const loadRequestTimeout = 30 * time.Second

// mintAttempt is one request of a load: through which server, when it
// was sent and answered, and what came back.
type mintAttempt struct {
	server     int // its index in the load's servers
	sent, done time.Time
	token      string // "" when it failed
	err        error
}

// mintLoad is a number of clients reading github/token/ci through some
// servers, each client through one, sending its next request as soon as
// the last is answered.
type mintLoad struct {
	servers  int
	stopping atomic.Bool
	wg       sync.WaitGroup

	mu       sync.Mutex
	attempts []mintAttempt
}

// startMintLoad starts the clients, spread over the servers in turn; the
// load runs until stop.
func startMintLoad(t *testing.T, servers []*Vault, clients int) *mintLoad {
	t.Helper()
	l := &mintLoad{servers: len(servers)}
	for i := range clients {
		server := i % len(servers)
		client := servers[server].Client(t, servers[server].Token)
		l.wg.Go(func() {
			for !l.stopping.Load() {
				a := mintOnce(client)
				a.server = server
				l.mu.Lock()
				l.attempts = append(l.attempts, a)
				l.mu.Unlock()
			}
		})
	}
	t.Cleanup(l.stop)
	return l
}

// mintOnce sends one request.
func mintOnce(client *api.Client) mintAttempt {
	ctx, cancel := context.WithTimeout(context.Background(), loadRequestTimeout)
	defer cancel()
	a := mintAttempt{sent: time.Now()}
	secret, err := client.Logical().ReadWithContext(ctx, "github/token/ci")
	a.done = time.Now()
	switch {
	case err != nil:
		a.err = err
	case secret == nil || secret.LeaseID == "":
		a.err = errors.New("the reply is not a lease")
	default:
		a.token, _ = secret.Data["token"].(string)
		if a.token == "" {
			a.err = errors.New("the reply holds no token")
		}
	}
	return a
}

// stop lets every client finish the request it has in flight and waits
// for them. Cancelling a request would make the plugin revoke the token
// it minted for it, which is not what a crash does.
func (l *mintLoad) stop() {
	l.stopping.Store(true)
	l.wg.Wait()
}

// Attempts returns the requests answered so far.
func (l *mintLoad) Attempts() []mintAttempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.attempts)
}

// Successes counts the requests that returned a token.
func (l *mintLoad) Successes() int {
	n := 0
	for _, a := range l.Attempts() {
		if a.err == nil {
			n++
		}
	}
	return n
}

// RecoveredAt returns when minting worked again through every server:
// the latest of each server's first success of a request sent after the
// given time, or zero while a server has none yet.
func (l *mintLoad) RecoveredAt(after time.Time) time.Time {
	first := make([]time.Time, l.servers)
	for _, a := range l.Attempts() {
		if a.err == nil && a.sent.After(after) && (first[a.server].IsZero() || a.done.Before(first[a.server])) {
			first[a.server] = a.done
		}
	}
	var last time.Time
	for _, at := range first {
		if at.IsZero() {
			return time.Time{}
		}
		if at.After(last) {
			last = at
		}
	}
	return last
}

// SentSince counts the answered requests sent at or after the given time.
func (l *mintLoad) SentSince(since time.Time) int {
	n := 0
	for _, a := range l.Attempts() {
		if !a.sent.Before(since) {
			n++
		}
	}
	return n
}

// failover sums up what the clients of a load saw around a kill.
type failover struct {
	requests int
	errors   map[string]int // by kind
	failures int
	// inFlight counts the requests sent before the kill and answered
	// after it: the only ones whose token can have been minted with no
	// lease committed.
	inFlight int
	// unavailable runs from the first failure to the recovery; sinceKill
	// from the kill to the recovery: the first success of a request sent
	// after the kill.
	unavailable, sinceKill time.Duration
	// afterRecovery and afterRecoveryOK count the requests sent after the
	// recovery, and those of them that succeeded.
	afterRecovery, afterRecoveryOK int
	beforeKill                     []string // tokens returned before the kill
	returned                       []string // every token returned
}

// summarise reads a finished load's attempts around a kill.
func summarise(attempts []mintAttempt, killedAt, recoveredAt time.Time) failover {
	f := failover{requests: len(attempts), errors: map[string]int{}}
	var firstFailure time.Time
	for _, a := range attempts {
		if a.sent.Before(killedAt) && a.done.After(killedAt) {
			f.inFlight++
		}
		if !a.sent.Before(recoveredAt) {
			f.afterRecovery++
			if a.err == nil {
				f.afterRecoveryOK++
			}
		}
		if a.err != nil {
			f.failures++
			f.errors[errorKind(a.err)]++
			if firstFailure.IsZero() || a.done.Before(firstFailure) {
				firstFailure = a.done
			}
			continue
		}
		f.returned = append(f.returned, a.token)
		if a.done.Before(killedAt) {
			f.beforeKill = append(f.beforeKill, a.token)
		}
	}
	f.sinceKill = recoveredAt.Sub(killedAt)
	if !firstFailure.IsZero() {
		f.unavailable = recoveredAt.Sub(firstFailure)
	}
	return f
}

// errorKind names an error for counting: the HTTP status and Vault's
// message, or the transport failure. Vault's messages carry no secrets.
func errorKind(err error) string {
	var resp *api.ResponseError
	switch {
	case errors.As(err, &resp):
		msg := "(no message)"
		if len(resp.Errors) > 0 {
			msg = resp.Errors[0]
		}
		return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, firstLine(msg, 120))
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	return "other: " + firstLine(err.Error(), 120)
}

// firstLine cuts a message to its first line and at most n bytes.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// kinds renders the error counts in a stable order.
func (f failover) kinds() string {
	var out []string
	for _, kind := range slices.Sorted(maps.Keys(f.errors)) {
		out = append(out, fmt.Sprintf("%q×%d", kind, f.errors[kind]))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
