// Package ghclient is a small typed client for the parts of the GitHub REST
// API that a GitHub App needs to mint and revoke installation tokens. It
// signs and caches the App's JWTs, corrects for clock skew, and retries
// transient failures and short rate limits.
package ghclient

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

const (
	// DefaultBaseURL is the API root of github.com.
	DefaultBaseURL = "https://api.github.com"
	// DefaultUserAgent is sent when Config.UserAgent is empty; GitHub
	// rejects requests without a User-Agent.
	DefaultUserAgent = "vault-plugin-secrets-github-app"

	// DefaultAPIVersion is the REST API version sent when Config.APIVersion
	// is empty: the one every product knows.
	DefaultAPIVersion = "2022-11-28"

	mediaType = "application/vnd.github+json"

	// maxReplyBytes bounds how much of a successful reply is read: a page
	// of 100 installations or repositories is well under 1 MiB.
	maxReplyBytes = 4 << 20
	// maxMintReplyBytes bounds a mint reply, whose largest real form, a
	// token naming 500 repositories of about 6 KB each, is about 3 MiB.
	maxMintReplyBytes = 16 << 20
	// maxErrorBodyBytes bounds how much of a failure's body is read: GitHub's
	// error bodies are a few hundred bytes, and only a cut of them is kept.
	maxErrorBodyBytes = 64 << 10
	// sentAttemptTimeout bounds an attempt that must complete once sent
	// (see request.completeOnceSent), which no caller's deadline bounds.
	sentAttemptTimeout = 60 * time.Second
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API root: "" for github.com, or "https://HOST/api/v3"
	// for GitHub Enterprise Server. See NormalizeBaseURL.
	BaseURL string
	// AllowHTTP accepts a plain http BaseURL on a host that is not loopback.
	AllowHTTP bool
	// AppID is the JWT issuer when ClientID is empty.
	AppID int64
	// ClientID is the JWT issuer when set, as GitHub recommends.
	ClientID string
	// PrivateKey signs the App's JWTs. Without it, only calls authenticated
	// by an installation token work; the others return ErrNoPrivateKey.
	PrivateKey *rsa.PrivateKey
	UserAgent  string
	// HTTPClient defaults to NewHTTPClient(). Its redirect policy is
	// overridden: the client never follows a redirect.
	HTTPClient *http.Client
	Logger     hclog.Logger
	Retry      RetryPolicy
	// Now replaces time.Now, for tests.
	Now func() time.Time
	// Observer is told of every attempt, retry and JWT signature, for
	// metrics. Nil observes nothing.
	Observer Observer
	// Undelivered is given every token nobody received whose revocation
	// failed (see Discard), to retry later. Nil only logs it.
	Undelivered func(UndeliveredToken)
	// APIVersion is the REST API version every request names in
	// X-GitHub-Api-Version; "" means DefaultAPIVersion. See APIVersionsOf.
	APIVersion string
	// StatelessTokens, when set, is sent with every mint as
	// X-GitHub-Stateless-S2S-Token: "enabled" asks for the stateless
	// token format (ghs_<app id>_<JWT>, about 520 bytes), "disabled" for
	// the classic one, while GitHub rolls the former out. "" leaves the
	// format to GitHub. Either way the token is opaque to this package.
	StatelessTokens string
}

// StatelessTokenHeader is the mint request header that chooses the token
// format (Config.StatelessTokens).
const StatelessTokenHeader = "X-GitHub-Stateless-S2S-Token" //nolint:gosec // G101: a header's name, not a credential

// Header values every request carries, in canonical form.
var (
	acceptValue      = []string{mediaType}
	contentTypeValue = []string{"application/json"}
)

// Client calls the GitHub API as a GitHub App. It is safe for concurrent use.
type Client struct {
	base           *url.URL // Path has no trailing slash
	origin         origin   // base's, to compare pagination links with
	userAgentValue []string
	// apiVersionValue is sent as X-GitHub-Api-Version; mintHeader is added
	// to mint requests (nil: nothing).
	apiVersionValue []string
	mintHeader      http.Header
	http            *http.Client
	logger          hclog.Logger
	retry           RetryPolicy
	now             func() time.Time
	sleep           func(context.Context, time.Duration) error // replaced in tests
	// sentAttemptTimeout is the const of that name; tests shorten it.
	sentAttemptTimeout time.Duration
	jwt                *jwtSigner // nil without a private key
	observer           Observer
	undelivered        func(UndeliveredToken) // nil: failed discards are only logged
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := parseBaseURL(cfg.BaseURL, cfg.AllowHTTP)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:               base,
		origin:             originOf(base),
		userAgentValue:     []string{cmp.Or(cfg.UserAgent, DefaultUserAgent)},
		apiVersionValue:    []string{cmp.Or(cfg.APIVersion, DefaultAPIVersion)},
		http:               withoutRedirects(cmp.Or(cfg.HTTPClient, NewHTTPClient())),
		logger:             cfg.Logger,
		retry:              cfg.Retry.withDefaults(),
		now:                cfg.Now,
		sleep:              sleepContext,
		sentAttemptTimeout: sentAttemptTimeout,
		observer:           cfg.Observer,
		undelivered:        cfg.Undelivered,
	}
	if cfg.StatelessTokens != "" {
		c.mintHeader = http.Header{http.CanonicalHeaderKey(StatelessTokenHeader): {cfg.StatelessTokens}}
	}
	if c.observer == nil {
		c.observer = nopObserver{}
	}
	if c.logger == nil {
		c.logger = hclog.NewNullLogger()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if cfg.PrivateKey != nil {
		issuer := cfg.ClientID
		if issuer == "" {
			if cfg.AppID <= 0 {
				return nil, errors.New("an App ID or client ID is required to sign GitHub App JWTs")
			}
			// GitHub accepts the App ID as a number or a string; a string
			// keeps iss the same type whichever identifier is configured.
			issuer = strconv.FormatInt(cfg.AppID, 10)
		}
		c.jwt = &jwtSigner{key: cfg.PrivateKey, issuer: issuer, now: c.now, logger: c.logger, observer: c.observer}
	}
	return c, nil
}

func parseBaseURL(raw string, allowHTTP bool) (*url.URL, error) {
	normalized, err := NormalizeBaseURL(raw, allowHTTP)
	if err != nil {
		return nil, fmt.Errorf("GitHub base URL %w", err)
	}
	return url.Parse(normalized)
}

// The HTTP client's bounds (see NewHTTPClient).
const (
	httpTimeout               = 60 * time.Second
	httpDialTimeout           = 10 * time.Second
	httpKeepAlive             = 30 * time.Second
	httpTLSHandshakeTimeout   = 10 * time.Second
	httpResponseHeaderTimeout = 30 * time.Second
	httpExpectContinueTimeout = 1 * time.Second
	httpIdleConnTimeout       = 90 * time.Second
	httpMaxIdleConns          = 256
	httpMaxIdleConnsPerHost   = 128
)

// NewHTTPClient returns an HTTP client tuned for many concurrent calls to one
// GitHub host: connections are kept alive and reused, and every phase of a
// request is bounded. Share one per configuration.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: httpDialTimeout, KeepAlive: httpKeepAlive}
	return &http.Client{
		Timeout: httpTimeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   httpTLSHandshakeTimeout,
			ResponseHeaderTimeout: httpResponseHeaderTimeout,
			ExpectContinueTimeout: httpExpectContinueTimeout,
			IdleConnTimeout:       httpIdleConnTimeout,
			MaxIdleConns:          httpMaxIdleConns,
			MaxIdleConnsPerHost:   httpMaxIdleConnsPerHost,
		},
	}
}

// withoutRedirects returns a copy of hc that hands a 3xx back instead of
// following it. Every request carries the App's JWT or a token, and its body
// may be a mint request; a redirect would resend them wherever Location
// points, or turn a DELETE into a GET whose 404 looks like "revoked". GitHub
// never redirects the App endpoints, so a 3xx means something in between is
// wrong, and it is reported as a failure.
func withoutRedirects(hc *http.Client) *http.Client {
	copied := *hc
	copied.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &copied
}

// request describes one API call, independent of its attempts.
type request struct {
	method string
	url    string // absolute
	path   string // relative to the base URL, for error messages
	route  string // the endpoint's template, for metrics (see routeOf)
	body   []byte // JSON, or nil; a byte slice so that every attempt can resend it
	token  string // installation token; empty means a JWT call
	// completeOnceSent marks a request whose effect at GitHub outlives the
	// caller: a mint. Once sent, its reply is read even if the caller gives
	// up meanwhile, so the token it carries can be handed back and revoked
	// rather than left live and unknown. No new attempt starts for a
	// caller that has gone.
	completeOnceSent bool
	// maxBody bounds a successful reply's body; 0 means maxReplyBytes.
	maxBody int64
	// once makes the first attempt the last, whatever the retry policy.
	once bool
	// header holds headers besides those every request carries.
	header http.Header
}

// newRequest builds a request for path (relative to the base URL, already
// escaped, optionally with a query) and body (JSON-encoded unless nil).
func (c *Client) newRequest(method, path string, body any) (*request, error) {
	r := &request{method: method, path: path, url: c.base.String() + path}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		r.path = path[:i]
	}
	r.route = routeOf(method, r.path)
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding GitHub %s %s request: %w", method, r.path, err)
		}
		r.body = b
	}
	return r, nil
}

// response is a reply, read as far as it could be.
type response struct {
	status int
	header http.Header
	body   []byte
	buf    *bytes.Buffer // body's pooled buffer, until release
	err    *APIError     // set for non-2xx replies
	// incomplete says why a 2xx body could not be read whole (cut short,
	// or over the request's bound); body holds what was read.
	incomplete string
}

// do sends r, retrying as the policy allows, and decodes a 2xx body into out
// (unless out is nil). It is the only path by which requests are sent.
func (c *Client) do(ctx context.Context, r *request, out any) (http.Header, error) {
	skewCorrected := false
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("GitHub %s %s: %w", r.method, r.path, err)
		}
		cred, err := c.credential(r)
		if err != nil {
			return nil, err
		}
		res, err := c.attempt(ctx, r, cred)
		if err == nil && res.err == nil {
			err := decode(r, res, out)
			res.release()
			return res.header, err
		}
		if err == nil && r.token == "" && !skewCorrected && c.correctSkew(cred, res) {
			// One extra attempt, outside the policy, with a JWT on GitHub's clock.
			skewCorrected = true
			attempt--
			c.observer.ObserveRetry(Retry{Route: r.route, Reason: RetryClockSkew})
			continue
		}
		next, final := c.retryDelay(ctx, attempt, r, res, err)
		if final != nil {
			return nil, final
		}
		if err == nil {
			err = res.err
		}
		c.logger.Debug("retrying GitHub request", "method", r.method, "path", r.path,
			"attempt", attempt, "delay", next.Delay.String(), "error", err)
		c.observer.ObserveRetry(next)
		if err := c.sleep(ctx, next.Delay); err != nil {
			return nil, fmt.Errorf("GitHub %s %s: %w", r.method, r.path, err)
		}
	}
}

// attempt sends r once, on the caller's context or, for a request that must
// complete once sent, on a context of its own, and reports it to the
// observer.
func (c *Client) attempt(ctx context.Context, r *request, cred string) (*response, error) {
	if r.completeOnceSent {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.sentAttemptTimeout)
		defer cancel()
	}
	start := time.Now() // not c.now: a test's fake clock does not measure latency
	res, err := c.send(ctx, r, cred)
	observed := Attempt{Route: r.route, Duration: time.Since(start), AsApp: r.token == ""}
	if err == nil {
		observed.Status, observed.Header = res.status, res.header
	}
	c.observer.ObserveAttempt(observed)
	return res, err
}

// credential returns the bearer credential for one attempt: the installation
// token, or the App's current JWT.
func (c *Client) credential(r *request) (string, error) {
	if r.token != "" {
		return r.token, nil
	}
	if c.jwt == nil {
		return "", ErrNoPrivateKey
	}
	return c.jwt.get()
}

// send makes one attempt. A transport failure is returned as an error; any
// HTTP reply, successful or not, as a response.
func (c *Client) send(ctx context.Context, r *request, cred string) (*response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, err
	}
	// The constant values are shared slices (net/http only reads them):
	// one map per request rather than an allocation per header.
	req.Header = http.Header{
		"Accept":               acceptValue,
		"X-Github-Api-Version": c.apiVersionValue,
		"User-Agent":           c.userAgentValue,
		"Authorization":        {"Bearer " + cred},
	}
	for name, values := range r.header {
		req.Header[name] = values
	}
	if r.body != nil {
		req.Header["Content-Type"] = contentTypeValue
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	res := &response{status: resp.StatusCode, header: resp.Header}
	ok := resp.StatusCode/100 == 2
	limit := cmp.Or(r.maxBody, maxReplyBytes)
	if !ok {
		limit = maxErrorBodyBytes
	}
	res.buf, err = readBody(resp, limit)
	res.body = res.buf.Bytes()
	switch {
	case err != nil && ok && r.completeOnceSent:
		// The request took effect; another attempt would do it again.
		res.incomplete = "the reply was cut short: " + err.Error()
	case err != nil:
		res.release()
		return nil, err
	case int64(len(res.body)) > limit:
		res.body = res.body[:limit]
		res.incomplete = fmt.Sprintf("the reply is longer than %d bytes", limit)
	}

	switch {
	case ok:
		return res, nil // the caller decodes, then releases the body
	case resp.StatusCode/100 == 3:
		res.err = newRedirectError(r.method, r.path, resp)
	default:
		res.err = newAPIError(r.method, r.path, resp.StatusCode, res.body, cred)
	}
	res.release()
	return res, nil
}

// bodyBuffers keep read buffers between replies: a token naming 500
// repositories is a 3.3 MB reply, which a buffer of its own would allocate,
// and grow by copying, for every token.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads up to limit+1 bytes of a reply into a pooled buffer, sized
// at once when the reply says how long it is.
func readBody(resp *http.Response, limit int64) (*bytes.Buffer, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	if n := resp.ContentLength; n > 0 && n <= limit {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead spare bytes
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	return buf, err
}

// release hands the body's buffer back for another reply. Nothing decoded
// from the body may alias it: the decoders copy what they keep.
func (res *response) release() {
	if res.buf != nil && res.buf.Cap() <= maxMintReplyBytes+bytes.MinRead {
		bodyBuffers.Put(res.buf)
	}
	res.buf, res.body = nil, nil
}

// correctSkew handles a 401 that blames the JWT's iat or exp: it adopts the
// clock of GitHub's Date header and reports whether a retry makes sense.
func (c *Client) correctSkew(cred string, res *response) bool {
	if res.status != http.StatusUnauthorized || !isClockSkewMessage(res.err.Message) {
		return false
	}
	githubNow, err := http.ParseTime(res.header.Get("Date"))
	if err != nil {
		return false
	}
	c.jwt.correctSkew(cred, githubNow)
	return true
}

// retryDelay decides what follows a failed attempt: a retry after a delay,
// or the error to hand the caller.
func (c *Client) retryDelay(ctx context.Context, attempt int, r *request, res *response, err error) (Retry, error) {
	lastAttempt := attempt >= c.retry.MaxAttempts || r.once
	if err != nil {
		err = fmt.Errorf("GitHub %s %s: %w", r.method, r.path, err)
		if lastAttempt || !retryableTransportError(ctx, err) {
			return Retry{}, err
		}
		return Retry{Route: r.route, Reason: RetryTransportError, Delay: c.retry.backoff(attempt)}, nil
	}
	if wait, limited := rateLimitWait(res, c.now()); limited {
		if lastAttempt || wait > c.retry.MaxRateLimitWait || exceedsDeadline(ctx, wait) {
			return Retry{}, &RateLimitError{Until: c.now().Add(wait), Message: res.err.Message}
		}
		return Retry{Route: r.route, Reason: RetryRateLimit, Delay: wait}, nil
	}
	if lastAttempt || !retryableStatus(res.status) {
		return Retry{}, res.err
	}
	return Retry{Route: r.route, Reason: RetryServerError, Delay: c.retry.backoff(attempt)}, nil
}

// decode decodes a 2xx reply into out (unless out is nil). A body that was
// not read whole, or does not decode, is a reply GitHub would never send;
// what it holds is salvaged first, where out knows how, so that a token in
// it can be revoked.
func decode(r *request, res *response, out any) error {
	invalid := func(reason string) error {
		if s, ok := out.(salvager); ok {
			s.salvage(res.body)
		}
		return &InvalidReplyError{Method: r.method, Path: r.path, Reason: cut(reason)}
	}
	if res.incomplete != "" {
		return invalid(res.incomplete)
	}
	if out == nil || len(res.body) == 0 {
		return nil
	}
	var err error
	if d, ok := out.(bodyDecoder); ok {
		err = d.decodeBody(res.body)
	} else {
		err = json.Unmarshal(res.body, out)
	}
	if err != nil {
		return invalid("the body does not decode: " + err.Error())
	}
	return nil
}
