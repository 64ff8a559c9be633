// Command infra is the Pulumi program `pulumi up` runs (Pulumi.yaml: main:
// infra/): it loads and validates the stack's configuration, then composes
// the platform. Nothing else happens here; see package stacks.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/stacks"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg, err := stacks.Load(ctx)
		if err != nil {
			return err
		}
		_, err = stacks.Platform(ctx, cfg)
		return err
	})
}
