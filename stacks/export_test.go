package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/stacks/config"
)

// PlatformFlat is Platform with the regions' components at the stack's
// root, the shape before the Region component parented them (for the
// URN-continuity test).
func PlatformFlat(ctx *pulumi.Context, cfg config.Config) (*Outputs, error) {
	p := platform{ctx: ctx, cfg: cfg, prefix: "helloagents-" + config.SanitizeStack(cfg.Stack), cloud: cfg.Environment != config.Dev, flat: true}
	return p.compose()
}
