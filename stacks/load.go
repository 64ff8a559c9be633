package stacks

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/stacks/config"
)

// Load reads the stack's configuration from the running program and parses
// it. Values set with --secret arrive decrypted here; the Secrets component
// is what turns them back into secret outputs.
//
// Every key of the namespace is read, not only the known ones, so a typo
// ("helloagents:heathCheck") is an error under `pulumi up` too. The Go SDK
// has no call that lists the config: it parses the whole configuration from
// the PULUMI_CONFIG variable the language host sets (pulumi.EnvConfig), and
// so does Load for the key names; values still come from ctx.
func Load(ctx *pulumi.Context) (config.Config, error) {
	keys := config.Keys()
	for _, k := range configKeys(os.Getenv(pulumi.EnvConfig)) {
		if ns, key, ok := strings.Cut(k, ":"); ok && ns == config.Namespace && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	raw := map[string]string{}
	for _, k := range keys {
		if v, ok := ctx.GetConfig(config.FullKey(k)); ok {
			raw[config.FullKey(k)] = v
		} else if !slices.Contains(config.Keys(), k) {
			raw[config.FullKey(k)] = "" // known to the engine only: its name is enough
		}
	}
	return config.Parse(ctx.Stack(), raw)
}

// configKeys returns the keys of the engine's JSON configuration object.
func configKeys(envConfig string) []string {
	var all map[string]json.RawMessage
	if json.Unmarshal([]byte(envConfig), &all) != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(all))
}
