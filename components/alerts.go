package components

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
)

// Filter values: both directions are reported, so the on-call engineer also
// hears when a region is back.
var (
	// PoolHealthStates are load_balancing_health_alert's new_health values.
	PoolHealthStates = []string{"Unhealthy", "Healthy"}
	// PoolEventSources alert on a whole pool and on its origin.
	PoolEventSources = []string{"pool", "origin"}
	// HealthCheckStates are health_check_status_notification's status values.
	HealthCheckStates = []string{"Unhealthy", "Healthy"}
	// TunnelStates are tunnel_health_event's new_status values: a tunnel
	// losing connectors is DEGRADED, without any it is DOWN.
	TunnelStates = []string{"TUNNEL_STATUS_TYPE_DEGRADED", "TUNNEL_STATUS_TYPE_DOWN", "TUNNEL_STATUS_TYPE_HEALTHY"}
)

// AlertsArgs configure who is told about the edge's health.
type AlertsArgs struct {
	// Prefix names the Cloudflare objects ("helloagents-production").
	Prefix    string
	AccountID string
	ZoneID    string
	// Emails receive every alert (Cloudflare asks each address to confirm).
	Emails []string
	// WebhookURL is a Slack-compatible incoming webhook; nil for none. It is
	// a secret: the URL itself is the credential.
	WebhookURL pulumi.StringInput
	// Pools, HealthChecks and Tunnels map a region name to the id of its
	// load-balancer pool, standalone health check and tunnel; each gets its
	// own notification policy.
	Pools        map[string]pulumi.StringOutput
	HealthChecks map[string]pulumi.StringOutput
	Tunnels      map[string]pulumi.StringOutput
	Cloudflare   *cloudflare.Provider
}

// Alerts declares the Cloudflare notification policies of a stack: one per
// load-balancer pool (pool or origin unhealthy/healthy), per standalone
// health check (status change), per tunnel (degraded, down, healthy) and one
// for the zone's Universal SSL certificate events, each delivered to the
// configured email addresses and the webhook destination.
type Alerts struct {
	pulumi.ResourceState

	// WebhookID is the webhook destination's id (empty without a webhook).
	WebhookID pulumi.StringOutput
	// PolicyIDs maps each policy's logical name to its id.
	PolicyIDs pulumi.StringMapOutput
}

// NewAlerts creates the destinations and notification policies.
func NewAlerts(ctx *pulumi.Context, name string, args *AlertsArgs, opts ...pulumi.ResourceOption) (*Alerts, error) {
	if len(args.Emails) == 0 && args.WebhookURL == nil {
		return nil, errors.New("alerts: no destination; give at least one email address or a webhook URL")
	}
	a := &Alerts{}
	if err := ctx.RegisterComponentResource("helloagents:edge:Alerts", name, a, opts...); err != nil {
		return nil, err
	}
	ap := &alertPolicies{
		ctx: ctx, args: args, ids: pulumi.StringMap{},
		opts: []pulumi.ResourceOption{pulumi.Parent(a), pulumi.Provider(args.Cloudflare)},
	}
	for _, e := range args.Emails {
		ap.emails = append(ap.emails, cloudflare.NotificationPolicyEmailIntegrationArgs{Id: pulumi.String(e)})
	}
	var err error
	if a.WebhookID, err = ap.webhook(name); err != nil {
		return nil, err
	}
	if err := ap.create(name); err != nil {
		return nil, err
	}
	a.PolicyIDs = ap.ids.ToStringMapOutput()
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{"webhookId": a.WebhookID, "policyIds": a.PolicyIDs}); err != nil {
		return nil, err
	}
	return a, nil
}

// alertPolicies creates notification policies that all deliver to the same
// destinations, and collects their ids by logical name.
type alertPolicies struct {
	ctx      *pulumi.Context
	args     *AlertsArgs
	opts     []pulumi.ResourceOption
	emails   cloudflare.NotificationPolicyEmailIntegrationArray
	webhooks cloudflare.NotificationPolicyWebhooksIntegrationArray
	ids      pulumi.StringMap
}

// webhook creates the webhook destination, when one is configured, and
// returns its id ("" without one).
func (ap *alertPolicies) webhook(name string) (pulumi.StringOutput, error) {
	if ap.args.WebhookURL == nil {
		return pulumi.String("").ToStringOutput(), nil
	}
	hook, err := cloudflare.NewNotificationPolicyWebhooks(ap.ctx, name+"-webhook", &cloudflare.NotificationPolicyWebhooksArgs{
		AccountId: pulumi.String(ap.args.AccountID),
		Name:      pulumi.String(ap.args.Prefix + "-alerts"),
		Url:       pulumi.ToSecret(ap.args.WebhookURL.ToStringOutput()).(pulumi.StringOutput),
	}, append(ap.opts, pulumi.AdditionalSecretOutputs([]string{"url"}))...)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("alert webhook: %w", err)
	}
	ap.webhooks = cloudflare.NotificationPolicyWebhooksIntegrationArray{
		cloudflare.NotificationPolicyWebhooksIntegrationArgs{Id: hook.ID().ToStringOutput()},
	}
	return hook.ID().ToStringOutput(), nil
}

// create makes the policies: one per pool, per health check and per tunnel
// (each kind in region order), then the zone certificate's.
func (ap *alertPolicies) create(name string) error {
	for _, kind := range []struct {
		suffix, alertType, title string
		ids                      map[string]pulumi.StringOutput
		filters                  func(id pulumi.StringOutput) *cloudflare.NotificationPolicyFiltersArgs
	}{
		{"pool", labels.AlertLoadBalancingHealth, "load balancer pool %s health", ap.args.Pools, poolFilters},
		{"health", labels.AlertHealthCheckStatus, "health check %s status", ap.args.HealthChecks, healthCheckFilters},
		{"tunnel", labels.AlertTunnelHealth, "tunnel %s health", ap.args.Tunnels, tunnelFilters},
	} {
		for _, region := range slices.Sorted(maps.Keys(kind.ids)) {
			logical := fmt.Sprintf("%s-%s-%s", name, region, kind.suffix)
			if err := ap.policy(logical, kind.alertType, fmt.Sprintf(kind.title, region), kind.filters(kind.ids[region])); err != nil {
				return err
			}
		}
	}
	return ap.policy(name+"-ssl", labels.AlertUniversalSSL, "zone certificate (Universal SSL)",
		&cloudflare.NotificationPolicyFiltersArgs{Zones: pulumi.ToStringArray([]string{ap.args.ZoneID})})
}

// policy creates one notification policy to every destination.
func (ap *alertPolicies) policy(logical, alertType, title string, filters *cloudflare.NotificationPolicyFiltersArgs) error {
	p, err := cloudflare.NewNotificationPolicy(ap.ctx, logical, &cloudflare.NotificationPolicyArgs{
		AccountId:            pulumi.String(ap.args.AccountID),
		Name:                 pulumi.String(ap.args.Prefix + ": " + title),
		Description:          pulumi.String("Declared by the HelloAgents Pulumi program (docs/MONITORING.md)"),
		AlertType:            pulumi.String(alertType),
		Enabled:              pulumi.Bool(true),
		Filters:              filters,
		EmailIntegrations:    ap.emails,
		WebhooksIntegrations: ap.webhooks,
	}, ap.opts...)
	if err != nil {
		return fmt.Errorf("notification policy %s: %w", title, err)
	}
	ap.ids[logical] = p.ID().ToStringOutput()
	return nil
}

// poolFilters select a pool's health changes, from either source.
func poolFilters(id pulumi.StringOutput) *cloudflare.NotificationPolicyFiltersArgs {
	return &cloudflare.NotificationPolicyFiltersArgs{
		PoolIds:      pulumi.StringArray{id},
		NewHealths:   pulumi.ToStringArray(PoolHealthStates),
		EventSources: pulumi.ToStringArray(PoolEventSources),
	}
}

// healthCheckFilters select a standalone health check's status changes.
func healthCheckFilters(id pulumi.StringOutput) *cloudflare.NotificationPolicyFiltersArgs {
	return &cloudflare.NotificationPolicyFiltersArgs{
		HealthCheckIds: pulumi.StringArray{id},
		Statuses:       pulumi.ToStringArray(HealthCheckStates),
	}
}

// tunnelFilters select a tunnel's status changes.
func tunnelFilters(id pulumi.StringOutput) *cloudflare.NotificationPolicyFiltersArgs {
	return &cloudflare.NotificationPolicyFiltersArgs{
		TunnelIds:   pulumi.StringArray{id},
		NewStatuses: pulumi.ToStringArray(TunnelStates),
	}
}
