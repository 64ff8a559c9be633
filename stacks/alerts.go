package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
)

// alerts declares the notification policies of every pool, health check
// and tunnel the stack created, plus the zone's certificate events.
func (p *platform) alerts(edge *components.Edge, tunnels map[string]pulumi.StringOutput) error {
	args := &components.AlertsArgs{
		Prefix: p.prefix, AccountID: p.cfg.Edge.AccountID, ZoneID: p.cfg.Edge.ZoneID,
		Emails: p.cfg.Alerts.Emails,
		Pools:  edge.Pools, HealthChecks: edge.HealthChecks, Tunnels: tunnels,
		Cloudflare: p.cloudflare,
	}
	if p.secrets.HasAlertWebhookURL {
		args.WebhookURL = p.secrets.AlertWebhookURL
	}
	_, err := components.NewAlerts(p.ctx, "alerts", args)
	return err
}
