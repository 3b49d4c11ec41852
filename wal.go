package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// A token nobody received (its caller left, its reply was refused, or it
// only listed repositories) is revoked at once. When GitHub cannot be
// reached for that, the token would stay live for up to an hour with no
// lease to revoke it, so it goes to Vault's write-ahead log instead, and
// Vault's rollback manager, which calls every mount about once a minute,
// retries the revocation until it works or the token has expired. Only
// that failure path writes to storage: a mint costs no write.
//
// The retries run in the mount's PeriodicFunc rather than the framework's
// WALRollback, which tries entries one after another on the rollback's
// single deadline: there, one GitHub that accepts connections and never
// answers would hold every run for that deadline and starve the entries
// behind it. Here each entry gets one attempt on a deadline of its own,
// walRevokers at a time, so that even a full WAL whose every GitHub hangs
// is tried whole within Vault's 90 s rollback deadline:
// walMaxEntries / walRevokers × walAttemptTimeout = 80 s.
const (
	walKindUndelivered = "undelivered_token"

	// walRollbackMinAge keeps a fresh entry from being retried at once: it
	// is written only after a revocation failed, so there is nothing to
	// wait for but GitHub, and Vault's rollback manager's period (a
	// minute) spaces the retries.
	walRollbackMinAge = 10 * time.Second

	// walWriteTimeout bounds recording a token in the WAL; the caller it
	// was minted for may be gone.
	walWriteTimeout = 10 * time.Second

	// walMaxEntries bounds the WAL, which would otherwise grow with the
	// request rate for as long as GitHub cannot revoke. A token past the
	// bound is not written: it is logged at WARN by its hashed_token and
	// counted, and expires within the hour.
	walMaxEntries = 256
	// walRevokers is how many entries a rollback run tries at once.
	walRevokers = 16
	// walAttemptTimeout bounds one entry's single attempt in a run.
	walAttemptTimeout = 5 * time.Second
)

// undeliveredToken is a WAL entry: a live token to revoke at BaseURL. Vault
// stores it as JSON and hands it back decoded into a map.
type undeliveredToken struct {
	Token          string `json:"token"`
	BaseURL        string `json:"base_url"`
	InstallationID int64  `json:"installation_id"`
	What           string `json:"what"`
	// GiveUpAt is when GitHub has surely forgotten the token, by the local
	// clock: an hour after it was minted, at the latest.
	GiveUpAt time.Time `json:"give_up_at"`
}

// keepUndelivered returns the ghclient hook that records the tokens of
// the GitHub at baseURL whose revocation failed.
func (b *backend) keepUndelivered(baseURL string) func(ghclient.UndeliveredToken) {
	return func(u ghclient.UndeliveredToken) {
		entry := undeliveredToken{
			Token:          u.Token,
			BaseURL:        baseURL,
			InstallationID: u.InstallationID,
			What:           u.What,
			GiveUpAt:       time.Now().Add(maxTokenTTL + expiredMargin).UTC(),
		}
		ctx, cancel := context.WithTimeout(context.Background(), walWriteTimeout)
		defer cancel()
		hashed := ghclient.HashedToken(u.Token)
		switch full, err := b.putUndelivered(ctx, entry); {
		case err != nil:
			b.metrics.untrackedWALWriteFailed.Inc()
			b.Logger().Error("could not keep "+u.What+" to retry its revocation; it expires within the hour",
				"installation_id", u.InstallationID, fieldHashedToken, hashed, "error", err)
		case full:
			b.metrics.untrackedWALFull.Inc()
			b.Logger().Warn(fmt.Sprintf("the WAL is full (%d tokens waiting for their revocation to be retried); %s is not kept, and expires within the hour", walMaxEntries, u.What),
				"installation_id", u.InstallationID, fieldHashedToken, hashed)
		default:
			// ghclient has warned of the failure; this says what became of it.
			b.Logger().Info("kept "+u.What+" in the WAL; its revocation is retried about every minute until it expires",
				"installation_id", u.InstallationID, fieldHashedToken, hashed)
		}
	}
}

// putUndelivered writes entry to the WAL unless the WAL is full. The count
// and the write are one step, so concurrent failures cannot overshoot.
func (b *backend) putUndelivered(ctx context.Context, entry undeliveredToken) (full bool, err error) {
	b.walLock.Lock()
	defer b.walLock.Unlock()
	keys, err := framework.ListWAL(ctx, b.storage)
	if err != nil {
		return false, err
	}
	b.metrics.walEntries.Set(float64(len(keys)))
	if len(keys) >= walMaxEntries {
		return true, nil
	}
	if _, err := framework.PutWAL(ctx, b.storage, walKindUndelivered, entry); err != nil {
		return false, err
	}
	b.metrics.walEntries.Set(float64(len(keys) + 1))
	return false, nil
}

// retryUndelivered is the mount's PeriodicFunc, which Vault's rollback
// manager calls about once a minute: it tries every WAL entry old enough
// (all of them when the request says "immediate", as Vault's own WAL
// handling does), walRevokers at a time, in an order shuffled per run so
// that no entry is always last when a run is cut short.
func (b *backend) retryUndelivered(ctx context.Context, req *logical.Request) error {
	// A performance standby's rollback manager runs too (OpenBao's, since
	// 2.5), over the WAL it shares with the active server but cannot
	// delete from: the active server retries each entry.
	if b.System().ReplicationState().HasState(consts.ReplicationPerformanceStandby) {
		return nil
	}
	keys, err := framework.ListWAL(ctx, req.Storage)
	if err != nil {
		return err
	}
	b.metrics.walEntries.Set(float64(len(keys)))
	minAge := walRollbackMinAge
	if _, ok := req.Data["immediate"]; ok {
		minAge = 0
	}
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] }) //nolint:gosec // G404: the order needs spread, not unpredictability
	slots := make(chan struct{}, walRevokers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, key := range keys {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		wg.Go(func() {
			defer func() { <-slots }()
			b.retryEntry(ctx, req.Storage, key, minAge)
		})
	}
	return nil
}

// retryEntry tries one WAL entry, on a deadline of its own, and deletes it
// once it needs no more tries.
func (b *backend) retryEntry(ctx context.Context, s logical.Storage, key string, minAge time.Duration) {
	entry, err := framework.GetWAL(ctx, s, key)
	switch {
	case err != nil:
		b.Logger().Error("reading a WAL entry failed; it is read again at the next rollback", "error", err)
		return
	case entry == nil || time.Since(time.Unix(entry.CreatedAt, 0)) < minAge:
		return
	}
	attemptCtx, cancel := context.WithTimeout(ctx, b.walAttemptTimeout)
	defer cancel()
	if b.walRollback(attemptCtx, s, entry.Kind, entry.Data) != nil {
		return
	}
	if err := framework.DeleteWAL(ctx, s, key); err != nil {
		b.Logger().Error("deleting a WAL entry that needs no more tries failed; it is tried again at the next rollback", "error", err)
	}
}

// walRollback retries the revocation of an undelivered token, in a single
// attempt. Returning nil means the entry can go: the token is revoked,
// expired, or unreadable. A failure is logged here: nothing else reports
// it.
func (b *backend) walRollback(ctx context.Context, s logical.Storage, kind string, data any) error {
	u, err := decodeUndelivered(kind, data, time.Now())
	if err != nil {
		b.Logger().Error("dropping a WAL entry that cannot be retried", "kind", kind, "error", err)
		return nil
	}
	// Past the give-up time the token has expired by this clock, but one
	// more try costs a call and covers a clock that was stepped.
	lastTry := time.Now().After(u.GiveUpAt)
	hashed := ghclient.HashedToken(u.Token)
	client, err := b.revocationClient(ctx, s, u.BaseURL)
	if err == nil {
		err = client.TryRevokeInstallationToken(ctx, u.Token)
	}
	switch {
	case err == nil:
		b.Logger().Info("revoked "+u.What+" on a retry", "installation_id", u.InstallationID, fieldHashedToken, hashed)
		return nil
	case lastTry:
		b.Logger().Info(u.What+" has expired; GitHub could not be reached to revoke it", "installation_id", u.InstallationID,
			fieldHashedToken, hashed, "error", err)
		return nil
	}
	b.Logger().Warn("retrying the revocation of "+u.What+" failed; it is tried again at the next rollback", "installation_id", u.InstallationID,
		fieldHashedToken, hashed, "give_up_at", u.GiveUpAt.Format(time.RFC3339), "error", err)
	return fmt.Errorf("revoking %s (installation %d, hashed_token %s) at GitHub: %w", u.What, u.InstallationID, hashed, err)
}

// decodeUndelivered reads a WAL entry back; Vault hands its data over as
// decoded JSON. An entry that would be retried for longer than any token
// lives is refused as corrupt.
func decodeUndelivered(kind string, data any, now time.Time) (undeliveredToken, error) {
	var u undeliveredToken
	if kind != walKindUndelivered {
		return u, fmt.Errorf("unknown kind %q", kind)
	}
	raw, err := json.Marshal(data)
	if err == nil {
		err = json.Unmarshal(raw, &u)
	}
	switch {
	case err != nil:
		return u, err
	case u.Token == "" || u.GiveUpAt.IsZero():
		return u, errors.New("no token, or no time to give up")
	case u.GiveUpAt.After(now.Add(maxTokenTTL + expiredMargin)):
		return u, fmt.Errorf("it gives up at %s, later than any token lives", u.GiveUpAt.Format(time.RFC3339))
	}
	return u, nil
}
