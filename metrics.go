package githubapp

import (
	"bytes"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"

	"github.com/vault-github-app/vault-plugin-secrets-github-app/ghclient"
)

// metricsNamespace prefixes every metric this engine defines.
const metricsNamespace = "github_app"

// metricsFormat is the Prometheus text exposition format, version 0.0.4:
// what every Prometheus scrapes, and the Content-Type of the metrics path.
var metricsFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// githubLatencyBuckets span GitHub's replies, from a fast lookup (tens of
// milliseconds) to a mint that completes on its own 60 s deadline.
var githubLatencyBuckets = []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// metrics are one mount's collectors, in a registry of its own: several
// mounts share one plugin process (multiplexing), so the process-wide
// default registry would mix their counts. Every label value is bounded
// and chosen by the engine or the operator: a role name (roles are written
// by operators, and only roles that exist are counted), an endpoint
// template, a status code, a retry reason. None holds an ID, an owner name,
// a token or anything else a caller sends.
type metrics struct {
	registry *prometheus.Registry

	revoked, revokeFailed            prometheus.Counter
	ownerCacheHits, ownerCacheMisses prometheus.Counter
	jwtSignatures                    prometheus.Counter
	retries                          *prometheus.CounterVec // endpoint, reason
	rateLimitWaits, rateLimitSeconds *prometheus.CounterVec // endpoint
	walEntries                       prometheus.Gauge
	// Tokens left live and untracked, by why the WAL did not keep them.
	untrackedWALFull, untrackedWALWriteFailed prometheus.Counter

	// The mint and attempt paths run per token: their children are
	// resolved once per label set rather than per request.
	roles    childCache[string, roleCounters]
	attempts childCache[attemptKey, attemptCollectors]
	// remaining is the latest X-RateLimit-Remaining by credential (true:
	// the App's JWT): GitHub keeps one budget for the App and one per
	// installation. Resolved on first report, since a 0 would read as
	// "exhausted".
	remaining childCache[bool, prometheus.Gauge]
}

type roleCounters struct{ minted, failed prometheus.Counter }

type attemptKey struct {
	route  string
	status int
}

type attemptCollectors struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	f := collectorFactory{reg}
	m := &metrics{
		registry: reg,
		revoked: f.counter("token_revocations_total",
			"Leases whose token was revoked at GitHub, or needed no revocation (expired, or already gone)."),
		revokeFailed: f.counter("token_revocation_failures_total",
			"Lease revocations that failed and that Vault will retry."),
		ownerCacheHits: f.counter("owner_cache_hits_total",
			"Owner and enterprise roles' installation lookups answered from the cache."),
		ownerCacheMisses: f.counter("owner_cache_misses_total",
			"Owner and enterprise roles' installation lookups that had to ask GitHub (concurrent misses share one call)."),
		jwtSignatures: f.counter("jwt_signatures_total",
			"App JWTs signed; each is reused until 2 minutes before it expires."),
		retries: f.counterVec("github_retries_total",
			"GitHub requests tried again after a 5xx (server_error), no reply (transport_error) or a JWT refused for clock skew (clock_skew). Rate-limit waits are counted apart.",
			"endpoint", "reason"),
		rateLimitWaits: f.counterVec("github_rate_limit_waits_total",
			"Waits for a GitHub rate limit to pass before trying again.", "endpoint"),
		rateLimitSeconds: f.counterVec("github_rate_limit_wait_seconds_total",
			"Seconds spent waiting for GitHub rate limits to pass.", "endpoint"),
		walEntries: f.gauge("wal_entries",
			"Tokens nobody received whose revocation failed, waiting in the WAL for a retry, as last counted (each rollback run and each write)."),
	}
	untracked := f.counterVec("untracked_tokens_total",
		"Tokens nobody received whose revocation failed and that could not be kept for a retry, by reason: wal_full, wal_write_failed. Each stays live at GitHub until it expires, within the hour.",
		"reason")
	m.untrackedWALFull, m.untrackedWALWriteFailed = untracked.WithLabelValues("wal_full"), untracked.WithLabelValues("wal_write_failed")
	remaining := f.gaugeVec("github_rate_limit_remaining",
		"The X-RateLimit-Remaining of GitHub's latest reply, by credential: app (the App's JWT) or installation (the latest installation token used).",
		"credential")
	m.remaining = newChildCache(func(asApp bool) prometheus.Gauge {
		if asApp {
			return remaining.WithLabelValues("app")
		}
		return remaining.WithLabelValues("installation")
	})

	minted := f.counterVec("tokens_minted_total", "Installation tokens minted and handed out, by role.", "role")
	failed := f.counterVec("token_mint_failures_total",
		"Token requests for an existing role that handed out no token: refused narrowing, GitHub refusals and failures, callers gone.", "role")
	m.roles = newChildCache(func(role string) roleCounters {
		return roleCounters{minted: minted.WithLabelValues(role), failed: failed.WithLabelValues(role)}
	})

	requests := f.counterVec("github_requests_total",
		`Requests sent to GitHub, by endpoint template and HTTP status ("error": no reply).`, "endpoint", "status")
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metricsNamespace, Name: "github_request_duration_seconds",
		Help:    "Time from sending a request to GitHub to having read its reply, by endpoint template.",
		Buckets: githubLatencyBuckets,
	}, []string{"endpoint"})
	reg.MustRegister(latency)
	m.attempts = newChildCache(func(k attemptKey) attemptCollectors {
		return attemptCollectors{
			requests: requests.WithLabelValues(k.route, statusLabel(k.status)),
			latency:  latency.WithLabelValues(k.route),
		}
	})

	build := f.gaugeVec("build_info", "The plugin's version; always 1.", "version")
	build.WithLabelValues(Version).Set(1)
	// Vault reports nothing about an external plugin's process; these do.
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// statusLabel is an HTTP status as a label, or "error" when there was no
// reply.
func statusLabel(status int) string {
	if status == 0 {
		return "error"
	}
	return strconv.Itoa(status)
}

// collectorFactory creates collectors in the engine's namespace and
// registers them.
type collectorFactory struct{ reg *prometheus.Registry }

func (f collectorFactory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f collectorFactory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f collectorFactory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f collectorFactory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(g)
	return g
}

// childCache remembers the child collectors resolved for each label set.
// WithLabelValues would allocate its variadic slice and hash the values on
// every call; a map lookup under a read lock does neither.
type childCache[K comparable, V any] struct {
	mu      sync.RWMutex
	m       map[K]V
	resolve func(K) V
}

func newChildCache[K comparable, V any](resolve func(K) V) childCache[K, V] {
	return childCache[K, V]{m: make(map[K]V), resolve: resolve}
}

func (c *childCache[K, V]) get(k K) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[k]; ok {
		return v
	}
	v = c.resolve(k)
	c.m[k] = v
	return v
}

// exposition renders every metric in the text exposition format.
func (m *metrics) exposition() ([]byte, error) {
	families, err := m.registry.Gather()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, metricsFormat)
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// ObserveAttempt counts a GitHub request and its latency, and keeps the
// rate-limit budget GitHub reported.
func (m *metrics) ObserveAttempt(a ghclient.Attempt) {
	c := m.attempts.get(attemptKey{a.Route, a.Status})
	c.requests.Inc()
	c.latency.Observe(a.Duration.Seconds())
	// Canonical key: Get then does no allocation.
	remaining, err := strconv.ParseUint(a.Header.Get("X-Ratelimit-Remaining"), 10, 32)
	if err != nil {
		return
	}
	m.remaining.get(a.AsApp).Set(float64(remaining))
}

// ObserveRetry counts a retry, or a rate-limit wait and its length.
func (m *metrics) ObserveRetry(r ghclient.Retry) {
	if r.Reason == ghclient.RetryRateLimit {
		m.rateLimitWaits.WithLabelValues(r.Route).Inc()
		m.rateLimitSeconds.WithLabelValues(r.Route).Add(r.Delay.Seconds())
		return
	}
	m.retries.WithLabelValues(r.Route, r.Reason.String()).Inc()
}

// ObserveJWTSigned counts an App JWT signature.
func (m *metrics) ObserveJWTSigned() { m.jwtSignatures.Inc() }

// countOwnerLookup counts an owner-cache lookup.
func (m *metrics) countOwnerLookup(hit bool) {
	if hit {
		m.ownerCacheHits.Inc()
	} else {
		m.ownerCacheMisses.Inc()
	}
}

// countMint counts one request for an existing role: a token minted or a
// failure.
func (m *metrics) countMint(role string, minted bool) {
	if minted {
		m.roles.get(role).minted.Inc()
	} else {
		m.roles.get(role).failed.Inc()
	}
}

// countRevocation counts one lease revoked, or failing to be.
func (m *metrics) countRevocation(failed bool) {
	if failed {
		m.revokeFailed.Inc()
	} else {
		m.revoked.Inc()
	}
}
