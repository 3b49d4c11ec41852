package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
)

// errWALLeftToActive keeps a standby from retrying, or deleting, a WAL
// entry.
var errWALLeftToActive = errors.New("a performance standby leaves the WAL to the active server")

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
		if _, err := framework.PutWAL(ctx, b.storage, walKindUndelivered, entry); err != nil {
			b.Logger().Error("could not keep "+u.What+" to retry its revocation; it expires within the hour",
				"installation_id", u.InstallationID, fieldHashedToken, hashed, "error", err)
			return
		}
		// ghclient has warned of the failure; this says what became of it.
		b.Logger().Info("kept "+u.What+" in the WAL; its revocation is retried about every minute until it expires",
			"installation_id", u.InstallationID, fieldHashedToken, hashed)
	}
}

// walRollback retries the revocation of an undelivered token. Returning nil
// deletes the entry: the token is revoked, expired, or unreadable. A
// failure is logged here: Vault's rollback manager does not log what the
// framework reports of a WAL entry.
func (b *backend) walRollback(ctx context.Context, req *logical.Request, kind string, data any) error {
	// A performance standby's rollback manager runs too (OpenBao's, since
	// 2.5), over the WAL it shares with the active server but cannot
	// delete from: the active server retries each entry.
	if b.System().ReplicationState().HasState(consts.ReplicationPerformanceStandby) {
		return errWALLeftToActive
	}
	u, err := decodeUndelivered(kind, data, time.Now())
	if err != nil {
		b.Logger().Error("dropping a WAL entry that cannot be retried", "kind", kind, "error", err)
		return nil
	}
	// Past the give-up time the token has expired by this clock, but one
	// more try costs a call and covers a clock that was stepped.
	lastTry := time.Now().After(u.GiveUpAt)
	hashed := ghclient.HashedToken(u.Token)
	client, err := b.revocationClient(ctx, req.Storage, u.BaseURL)
	if err == nil {
		err = client.RevokeInstallationToken(ctx, u.Token)
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
