package githubapp

import (
	"context"
	"net/http"

	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
)

// metricsContentType is the Content-Type of the metrics path's reply:
// "text/plain; version=0.0.4; charset=utf-8".
var metricsContentType = string(metricsFormat)

func pathMetrics(b *backend) *framework.Path {
	return &framework.Path{
		Pattern: "metrics",
		DisplayAttrs: &framework.DisplayAttributes{
			OperationPrefix: operationPrefix,
			OperationSuffix: "metrics",
		},
		Operations: map[logical.Operation]framework.OperationHandler{
			// The counters are the process's that mints: the active
			// server's. A standby's would count nearly nothing, and a
			// scrape through a load balancer would jump between the two.
			logical.ReadOperation: &framework.PathOperation{
				Callback:                  b.pathMetricsRead,
				ForwardPerformanceStandby: true,
				Summary:                   "This mount's metrics, in the Prometheus text exposition format.",
				Responses: map[int][]framework.Response{
					http.StatusOK: {{
						Description: "The Prometheus text exposition format, as the raw body (not Vault's JSON envelope).",
						// The SDK writes a media type into the spec only
						// with an example, and renders an example as Vault's
						// JSON envelope, which this reply is not: an empty
						// one declares the media type and nothing false.
						MediaType: metricsContentType,
						Example:   &logical.Response{},
					}},
				},
			},
		},
		HelpSynopsis:    "Prometheus metrics of this mount: tokens, revocations, GitHub requests, rate limits.",
		HelpDescription: pathMetricsHelp,
	}
}

const pathMetricsHelp = `
Reading metrics returns this mount's counters in the Prometheus text
exposition format (Content-Type: text/plain; version=0.0.4), as the raw
response body rather than Vault's JSON envelope, so that Prometheus can
scrape https://<vault>/v1/<mount>/metrics directly.

The path is protected like any other: the Vault token Prometheus presents,
as "Authorization: Bearer <token>" or "X-Vault-Token", needs a policy
granting read on <mount>/metrics. For example:

  path "github/metrics" {
    capabilities = ["read"]
  }

Metrics (prefix github_app_): tokens minted and failed per role;
lease revocations and their failures; GitHub requests by endpoint template
and status, with a latency histogram; retries by reason; rate-limit waits
and seconds waited; the latest X-RateLimit-Remaining per credential;
owner-cache hits and misses; App JWT signatures; the plugin's version,
Go runtime and process. Counters start at zero when the plugin process
starts. Labels never hold IDs, owner names or tokens.
`

// pathMetricsRead answers with the raw exposition. Vault passes a raw
// response through as is, for external plugins too: the body crosses the
// plugin protocol as base64 JSON, which Vault's HTTP layer decodes.
func (b *backend) pathMetricsRead(context.Context, *logical.Request, *framework.FieldData) (*logical.Response, error) {
	body, err := b.metrics.exposition()
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		logical.HTTPContentType: metricsContentType,
		logical.HTTPRawBody:     body,
		logical.HTTPStatusCode:  http.StatusOK,
	}}, nil
}
