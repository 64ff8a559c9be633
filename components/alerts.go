package components

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Cloudflare notification alert types the platform declares (the API's
// snake_case names; the SDK docs print them camelCased).
const (
	AlertLoadBalancingHealth = "load_balancing_health_alert"
	AlertHealthCheckStatus   = "health_check_status_notification"
	AlertTunnelHealth        = "tunnel_health_event"
	AlertUniversalSSL        = "universal_ssl_event_type"
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
	cf := []pulumi.ResourceOption{pulumi.Parent(a), pulumi.Provider(args.Cloudflare)}

	var emails cloudflare.NotificationPolicyEmailIntegrationArray
	for _, e := range args.Emails {
		emails = append(emails, cloudflare.NotificationPolicyEmailIntegrationArgs{Id: pulumi.String(e)})
	}
	var webhooks cloudflare.NotificationPolicyWebhooksIntegrationArray
	a.WebhookID = pulumi.String("").ToStringOutput()
	if args.WebhookURL != nil {
		hook, err := cloudflare.NewNotificationPolicyWebhooks(ctx, name+"-webhook", &cloudflare.NotificationPolicyWebhooksArgs{
			AccountId: pulumi.String(args.AccountID),
			Name:      pulumi.String(args.Prefix + "-alerts"),
			Url:       pulumi.ToSecret(args.WebhookURL.ToStringOutput()).(pulumi.StringOutput),
		}, append(cf, pulumi.AdditionalSecretOutputs([]string{"url"}))...)
		if err != nil {
			return nil, fmt.Errorf("alert webhook: %w", err)
		}
		a.WebhookID = hook.ID().ToStringOutput()
		webhooks = cloudflare.NotificationPolicyWebhooksIntegrationArray{
			cloudflare.NotificationPolicyWebhooksIntegrationArgs{Id: hook.ID().ToStringOutput()},
		}
	}

	ids := pulumi.StringMap{}
	policy := func(logical, alertType, title string, filters *cloudflare.NotificationPolicyFiltersArgs) error {
		p, err := cloudflare.NewNotificationPolicy(ctx, logical, &cloudflare.NotificationPolicyArgs{
			AccountId:            pulumi.String(args.AccountID),
			Name:                 pulumi.String(args.Prefix + ": " + title),
			Description:          pulumi.String("Declared by the HelloAgents Pulumi program (docs/MONITORING.md)"),
			AlertType:            pulumi.String(alertType),
			Enabled:              pulumi.Bool(true),
			Filters:              filters,
			EmailIntegrations:    emails,
			WebhooksIntegrations: webhooks,
		}, cf...)
		if err != nil {
			return fmt.Errorf("notification policy %s: %w", title, err)
		}
		ids[logical] = p.ID().ToStringOutput()
		return nil
	}
	for _, region := range slices.Sorted(maps.Keys(args.Pools)) {
		if err := policy(fmt.Sprintf("%s-%s-pool", name, region), AlertLoadBalancingHealth,
			"load balancer pool "+region+" health", &cloudflare.NotificationPolicyFiltersArgs{
				PoolIds:      pulumi.StringArray{args.Pools[region]},
				NewHealths:   pulumi.ToStringArray(PoolHealthStates),
				EventSources: pulumi.ToStringArray(PoolEventSources),
			}); err != nil {
			return nil, err
		}
	}
	for _, region := range slices.Sorted(maps.Keys(args.HealthChecks)) {
		if err := policy(fmt.Sprintf("%s-%s-health", name, region), AlertHealthCheckStatus,
			"health check "+region+" status", &cloudflare.NotificationPolicyFiltersArgs{
				HealthCheckIds: pulumi.StringArray{args.HealthChecks[region]},
				Statuses:       pulumi.ToStringArray(HealthCheckStates),
			}); err != nil {
			return nil, err
		}
	}
	for _, region := range slices.Sorted(maps.Keys(args.Tunnels)) {
		if err := policy(fmt.Sprintf("%s-%s-tunnel", name, region), AlertTunnelHealth,
			"tunnel "+region+" health", &cloudflare.NotificationPolicyFiltersArgs{
				TunnelIds:   pulumi.StringArray{args.Tunnels[region]},
				NewStatuses: pulumi.ToStringArray(TunnelStates),
			}); err != nil {
			return nil, err
		}
	}
	if err := policy(name+"-ssl", AlertUniversalSSL, "zone certificate (Universal SSL)",
		&cloudflare.NotificationPolicyFiltersArgs{Zones: pulumi.ToStringArray([]string{args.ZoneID})}); err != nil {
		return nil, err
	}
	a.PolicyIDs = ids.ToStringMapOutput()
	if err := ctx.RegisterResourceOutputs(a, pulumi.Map{"webhookId": a.WebhookID, "policyIds": a.PolicyIDs}); err != nil {
		return nil, err
	}
	return a, nil
}
