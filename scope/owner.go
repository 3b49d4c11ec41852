package scope

import (
	"fmt"
	"regexp"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
)

// GitHub logins are letters, digits and '-'; Enterprise Managed Users add
// '_' and a short code.
var ownerPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)

// IsLogin reports whether s has the form of a GitHub login.
func IsLogin(s string) bool { return ownerPattern.MatchString(s) }

// CheckOwner accepts a role's owner: a GitHub login, or an identity
// template that yields one at mint time. Nothing is trimmed: the owner is
// used as a Vault policy on roles/<name> compared it.
func CheckOwner(owner string) error {
	if IsTemplate(owner) {
		return ValidateTemplate("owner", owner)
	}
	if !IsLogin(owner) {
		return fmt.Errorf("owner must be a GitHub organization or user login (letters, digits, '-' and '_'), or an identity template; got %s", quote.Input(owner))
	}
	return nil
}
