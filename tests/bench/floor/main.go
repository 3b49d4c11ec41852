// Command floor is the lease floor of the end-to-end benchmark
// (tests/bench/cmd/loadgen): a secrets engine that does the least any engine
// handing out leases can do. Reading floor/lease returns a random string as
// a non-renewable lease with its TTL set, with no GitHub call and no
// storage access, and revoking it does nothing. Served the way the GitHub
// App engine is (multiplexed, same SDK, registered in the same Vault), its
// cost per request is what Vault and the plugin protocol charge for a
// leased secret, so the engine's cost above it is the engine's own.
package main

import (
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/sdk/plugin"
)

func main() {
	meta := &api.PluginAPIClientMeta{}
	if err := meta.FlagSet().Parse(os.Args[1:]); err != nil {
		fatal(err)
	}
	err := plugin.ServeMultiplex(&plugin.ServeOpts{
		BackendFactoryFunc: factory,
		TLSProviderFunc:    api.VaultPluginTLSProvider(meta.GetTLSConfig()),
	})
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	hclog.New(&hclog.LoggerOptions{}).Error("plugin shutting down", "error", err)
	os.Exit(1)
}
