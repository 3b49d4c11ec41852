package githubapp

import (
	"cmp"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
	"github.com/vault-github-app/vault-plugin-secrets-github-app/quote"
)

const (
	configStoragePath = "config"

	fieldAppID             = "app_id"
	fieldClientID          = "client_id"
	fieldPrivateKey        = "private_key"
	fieldBaseURL           = "base_url"
	fieldInsecureAllowHTTP = "insecure_allow_http"
	fieldKeyFingerprint    = "private_key_fingerprint"
	fieldAPIVersion        = "api_version"
	fieldTokenFormat       = "token_format"
)

// Token formats an operator may ask GitHub for (token_format), and the
// X-GitHub-Stateless-S2S-Token value each sends; tokenFormatGitHub sends
// none and takes GitHub's default.
const (
	tokenFormatGitHub    = "github"
	tokenFormatStateless = "stateless"
	tokenFormatClassic   = "classic"
)

var statelessTokensHeader = map[string]string{tokenFormatGitHub: "", tokenFormatStateless: "enabled", tokenFormatClassic: "disabled"}

// clientIDPattern matches GitHub App client IDs such as "Iv1.0123abcd" and
// "Iv23liABC"; it keeps anything that could smuggle a claim out.
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// appConfig is the stored config. The private key is kept as the PEM the
// user supplied and parsed once per config version into key.
type appConfig struct {
	AppID         int64  `json:"app_id,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	PrivateKeyPEM string `json:"private_key"`
	BaseURL       string `json:"base_url"`
	// InsecureAllowHTTP accepts a plain http base_url on a host that is not
	// loopback; JWTs and tokens then cross the network in cleartext.
	InsecureAllowHTTP bool `json:"insecure_allow_http,omitempty"`
	// APIVersion is the REST API version the plugin sends; "" means
	// ghclient.DefaultAPIVersion.
	APIVersion string `json:"api_version,omitempty"`
	// TokenFormat is a token_format; "" means tokenFormatGitHub.
	TokenFormat string `json:"token_format,omitempty"`
	// Ceiling limits every role of the mount (ceiling.go).
	Ceiling ceiling `json:"ceiling"`

	key *rsa.PrivateKey
}

func pathConfig(b *backend) *framework.Path {
	p := &framework.Path{
		Pattern: "config",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
		},
		Fields: map[string]*framework.FieldSchema{
			fieldAppID: {
				Type:        framework.TypeInt64,
				Description: "The GitHub App's numeric App ID, used as the JWT issuer when client_id is not set.",
				DisplayAttrs: &framework.DisplayAttributes{
					Name: "App ID",
				},
			},
			fieldClientID: {
				Type:        framework.TypeString,
				Description: "The GitHub App's Client ID (for example Iv1.0123abcd). GitHub recommends it as the JWT issuer; it wins over app_id when both are set.",
				DisplayAttrs: &framework.DisplayAttributes{
					Name: "Client ID",
				},
			},
			fieldPrivateKey: {
				Type:        framework.TypeString,
				Description: "The App's RSA private key in PEM form (PKCS#1 or PKCS#8, at least 2048 bits), as downloaded from the App's settings. Write-only: reads show its fingerprint.",
				DisplayAttrs: &framework.DisplayAttributes{
					Name:      "Private key",
					Sensitive: true,
				},
			},
			fieldBaseURL: {
				Type:        framework.TypeString,
				Description: "The GitHub REST API base URL. Defaults to https://api.github.com; for GitHub Enterprise Server use https://HOST/api/v3; for GitHub Enterprise Cloud with data residency https://api.SUBDOMAIN.ghe.com. Must be https, except for loopback hosts or with insecure_allow_http. Changing it requires supplying private_key in the same write.",
				Default:     ghclient.DefaultBaseURL,
				DisplayAttrs: &framework.DisplayAttributes{
					Name: "Base URL",
				},
			},
			fieldAPIVersion: {
				Type:        framework.TypeString,
				Description: "The GitHub REST API version the plugin names in X-GitHub-Api-Version: 2022-11-28 (the default, which every GitHub product serves) or 2026-03-10 (github.com and GitHub Enterprise Cloud; GitHub Enterprise Server knows only 2022-11-28).",
				Default:     ghclient.DefaultAPIVersion,
				DisplayAttrs: &framework.DisplayAttributes{
					Name: "API version",
				},
			},
			fieldTokenFormat: {
				Type:        framework.TypeString,
				Description: "The installation token format to ask GitHub for while it rolls out stateless tokens: github (the default: GitHub chooses), stateless (ghs_<app id>_<JWT>, about 520 characters) or classic (ghs_ and 36 characters), sent as X-GitHub-Stateless-S2S-Token on every mint. Tokens are opaque to the plugin either way; choose classic only for consumers that cannot store long tokens.",
				Default:     tokenFormatGitHub,
				DisplayAttrs: &framework.DisplayAttributes{
					Name: "Token format",
				},
			},
			fieldInsecureAllowHTTP: {
				Type:        framework.TypeBool,
				Description: "Accept a plain http base_url on a host that is not loopback. Every request carries the App's JWT or a token, which would then cross the network in cleartext: only for a network path you trust end to end. Default false.",
				DisplayAttrs: &framework.DisplayAttributes{
					Name: "Insecure: allow http",
				},
			},
		},
		ExistenceCheck: b.pathConfigExists,
		// Writes go to the active server; a standby's storage is read-only
		// (system_view.go). Reads are served where they arrive.
		Operations: map[logical.Operation]framework.OperationHandler{
			logical.CreateOperation: &framework.PathOperation{
				Callback:                  b.pathConfigWrite,
				ForwardPerformanceStandby: true,
				DisplayAttrs:              &framework.DisplayAttributes{OperationVerb: "configure"},
			},
			logical.UpdateOperation: &framework.PathOperation{
				Callback:                  b.pathConfigWrite,
				ForwardPerformanceStandby: true,
				DisplayAttrs:              &framework.DisplayAttributes{OperationVerb: "configure"},
			},
			logical.ReadOperation: &framework.PathOperation{
				Callback:     b.pathConfigRead,
				DisplayAttrs: &framework.DisplayAttributes{OperationVerb: "read", OperationSuffix: "configuration"},
			},
			logical.DeleteOperation: &framework.PathOperation{
				Callback:                  b.pathConfigDelete,
				ForwardPerformanceStandby: true,
				DisplayAttrs:              &framework.DisplayAttributes{OperationVerb: "delete", OperationSuffix: "configuration"},
			},
		},
		HelpSynopsis:    "Configure the GitHub App whose installation tokens this engine mints.",
		HelpDescription: pathConfigHelp,
	}
	maps.Copy(p.Fields, ceilingFields())
	return p
}

const pathConfigHelp = `
Stores the GitHub App's identity and private key. The key is seal-wrapped in
Vault's storage and never returned: a read shows its fingerprint in the form
GitHub's App settings page uses (SHA256:...), so you can check which key is
installed.

Writes are partial: fields left out keep their stored values. The first write
must set private_key and one of app_id or client_id. Because the key signs
every request, base_url can only change together with private_key.

The ceiling fields (max_permissions, allowed_owners, allowed_installation_ids,
require_explicit_scope) limit every role of the mount, whoever writes it: a
role write beyond them is refused, and a role stored before they were set
mints nothing until it is changed (the write's warnings name such roles). A
role naming no permissions gets exactly max_permissions. All are empty or
false by default: no limit.

Example:
  vault write github/config app_id=123456 private_key=@app.private-key.pem
  vault write github/config base_url=https://ghe.example.com/api/v3 private_key=@app.pem
  vault write github/config base_url=https://api.octocorp.ghe.com private_key=@app.pem
  vault write github/config api_version=2026-03-10 token_format=stateless
  vault write github/config max_permissions=contents=write max_permissions=metadata=read \
      allowed_owners=acme require_explicit_scope=true
`

func (b *backend) pathConfigExists(ctx context.Context, req *logical.Request, _ *framework.FieldData) (bool, error) {
	entry, err := req.Storage.Get(ctx, configStoragePath)
	return entry != nil, err
}

func (b *backend) pathConfigRead(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	cfg, err := readConfig(ctx, req.Storage)
	if err != nil || cfg == nil {
		return nil, err
	}
	fingerprint, err := keyFingerprint(cfg.key)
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		fieldBaseURL:           cfg.BaseURL,
		fieldInsecureAllowHTTP: cfg.InsecureAllowHTTP,
		fieldKeyFingerprint:    fingerprint,
		fieldAPIVersion:        cmp.Or(cfg.APIVersion, ghclient.DefaultAPIVersion),
		fieldTokenFormat:       cmp.Or(cfg.TokenFormat, tokenFormatGitHub),
	}
	if cfg.AppID != 0 {
		data[fieldAppID] = cfg.AppID
	}
	if cfg.ClientID != "" {
		data[fieldClientID] = cfg.ClientID
	}
	maps.Copy(data, cfg.Ceiling.responseData())
	return &logical.Response{Data: data}, nil
}

func (b *backend) pathConfigWrite(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	// Hold the lock across read-modify-write so concurrent partial updates
	// cannot lose each other's fields, and so no client is built from a
	// config that is being replaced.
	b.lock.Lock()
	defer b.lock.Unlock()

	stored, err := readConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	cfg, err := mergeConfig(stored, d)
	if err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	warnings, err := mergeCeiling(&cfg.Ceiling, d)
	if err != nil {
		return logical.ErrorResponse(err.Error()), nil
	}
	if warnings, err = b.warnRolesBeyond(ctx, req.Storage, stored, cfg.Ceiling, warnings); err != nil {
		return nil, err
	}
	if warnings, err = b.warnRolesUnaccepted(ctx, req.Storage, stored, cfg, warnings); err != nil {
		return nil, err
	}
	entry, err := logical.StorageEntryJSON(configStoragePath, cfg)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Put(ctx, entry); err != nil {
		return nil, err
	}
	b.reset()
	if len(warnings) == 0 {
		return nil, nil
	}
	return &logical.Response{Warnings: warnings}, nil
}

func (b *backend) pathConfigDelete(ctx context.Context, req *logical.Request, _ *framework.FieldData) (*logical.Response, error) {
	b.lock.Lock()
	defer b.lock.Unlock()
	if err := req.Storage.Delete(ctx, configStoragePath); err != nil {
		return nil, err
	}
	b.reset()
	return nil, nil
}

// mergeConfig applies a partial update to the stored config (nil when there
// is none) and returns the validated result. The stored config is not
// modified, so a rejected write changes nothing.
func mergeConfig(stored *appConfig, d *framework.FieldData) (*appConfig, error) {
	cfg := &appConfig{BaseURL: ghclient.DefaultBaseURL}
	if stored != nil {
		copied := *stored
		cfg = &copied
	}

	if raw, ok := d.GetOk(fieldAppID); ok {
		id := raw.(int64)
		if id <= 0 {
			return nil, fmt.Errorf("app_id must be a positive integer (the App ID on the App's settings page); got %d", id)
		}
		cfg.AppID = id
	}
	if raw, ok := d.GetOk(fieldClientID); ok {
		id := strings.TrimSpace(raw.(string))
		if id != "" && !clientIDPattern.MatchString(id) {
			return nil, errors.New("client_id must be the App's Client ID as shown on its settings page (letters, digits, '.', '_' and '-', for example Iv1.0123abcd)")
		}
		cfg.ClientID = id
	}
	keyPEM, keyGiven := d.GetOk(fieldPrivateKey)
	if keyGiven {
		key, err := parsePrivateKey(keyPEM.(string))
		if err != nil {
			return nil, err
		}
		cfg.PrivateKeyPEM, cfg.key = keyPEM.(string), key
	}
	if raw, ok := d.GetOk(fieldInsecureAllowHTTP); ok {
		cfg.InsecureAllowHTTP = raw.(bool)
	}
	if err := mergeAPIOptions(cfg, d); err != nil {
		return nil, err
	}
	if raw, ok := d.GetOk(fieldBaseURL); ok {
		if strings.TrimSpace(raw.(string)) == "" {
			return nil, fmt.Errorf("base_url is empty: leave it out to keep %s, or name the API root such as %s", cfg.BaseURL, ghclient.DefaultBaseURL)
		}
		baseURL, err := ghclient.NormalizeBaseURL(raw.(string), true) // the scheme is checked below
		if err != nil {
			return nil, fmt.Errorf("base_url %w", err)
		}
		if stored != nil && baseURL != stored.BaseURL && !keyGiven {
			return nil, errors.New("changing base_url requires private_key in the same write: the key signs every request sent to base_url, so only someone who holds it may redirect it")
		}
		cfg.BaseURL = baseURL
	}

	if cfg.AppID == 0 && cfg.ClientID == "" {
		return nil, errors.New("one of app_id or client_id is required: it names the App that signs the tokens")
	}
	if cfg.key == nil {
		return nil, errors.New("private_key is required: supply the App's private key PEM, e.g. private_key=@app.private-key.pem")
	}
	if _, err := ghclient.NormalizeBaseURL(cfg.BaseURL, cfg.InsecureAllowHTTP); err != nil {
		return nil, fmt.Errorf("base_url %w, or set %s=true if the network path is trusted (loopback hosts need neither)", err, fieldInsecureAllowHTTP)
	}
	if err := checkAPIVersionAt(cfg.APIVersion, cfg.BaseURL); err != nil {
		if _, written := d.Raw[fieldAPIVersion]; !written {
			return nil, fmt.Errorf("the stored %w", err) // an earlier write set it
		}
		return nil, err
	}
	return cfg, nil
}

// mergeAPIOptions applies api_version and token_format.
func mergeAPIOptions(cfg *appConfig, d *framework.FieldData) error {
	if raw, ok := d.GetOk(fieldAPIVersion); ok {
		version := strings.TrimSpace(raw.(string))
		if !slices.Contains(ghclient.APIVersions(), version) {
			return fmt.Errorf("api_version %s is not a GitHub REST API version the plugin knows; use one of %s", quote.Input(version), strings.Join(ghclient.APIVersions(), ", "))
		}
		cfg.APIVersion = version
	}
	if raw, ok := d.GetOk(fieldTokenFormat); ok {
		format := strings.TrimSpace(raw.(string))
		if _, known := statelessTokensHeader[format]; !known {
			return fmt.Errorf("token_format %s is not one of %s (GitHub chooses), %s or %s", quote.Input(format), tokenFormatGitHub, tokenFormatStateless, tokenFormatClassic)
		}
		cfg.TokenFormat = format
	}
	return nil
}

// checkAPIVersionAt refuses an API version that no product base_url may be
// serves: GitHub Enterprise Server knows only 2022-11-28, and would refuse
// every request.
func checkAPIVersionAt(version, baseURL string) error {
	at := ghclient.ProductsAt(baseURL)
	if version == "" || at == nil {
		return nil
	}
	var known []string
	for _, p := range at {
		versions := ghclient.APIVersionsOf(p)
		if slices.Contains(versions, version) {
			return nil
		}
		for _, v := range versions {
			if !slices.Contains(known, v) {
				known = append(known, v)
			}
		}
	}
	return fmt.Errorf("api_version %s is not served at base_url %s (%s, which serves %s by GitHub's REST API descriptions): set api_version=%s in the same write",
		version, baseURL, describeProducts(at), strings.Join(known, ", "), ghclient.DefaultAPIVersion)
}

// describeProducts names products for a message: "GitHub Enterprise Server
// 3.17, 3.18 or 3.19" rather than each release in full.
func describeProducts(products []ghclient.Product) string {
	var servers, others []string
	for _, p := range products {
		if p.IsServer() {
			servers = append(servers, strings.TrimPrefix(string(p), "GHES "))
		} else {
			others = append(others, string(p))
		}
	}
	if len(servers) > 0 {
		others = append(others, "GitHub Enterprise Server "+strings.Join(servers, ", "))
	}
	return strings.Join(others, " or ")
}

// readConfig loads and parses the stored config; nil when none is stored.
func readConfig(ctx context.Context, s logical.Storage) (*appConfig, error) {
	entry, err := s.Get(ctx, configStoragePath)
	if err != nil || entry == nil {
		return nil, err
	}
	cfg := new(appConfig)
	if err := entry.DecodeJSON(cfg); err != nil {
		return nil, fmt.Errorf("decoding stored config: %w", err)
	}
	if cfg.key, err = parsePrivateKey(cfg.PrivateKeyPEM); err != nil {
		return nil, fmt.Errorf("stored config: %w", err)
	}
	return cfg, nil
}

// issuer names the App in messages; it matches what the JWT's iss carries.
func (cfg *appConfig) issuer() string {
	if cfg.ClientID != "" {
		return cfg.ClientID
	}
	return fmt.Sprint(cfg.AppID)
}
