package rules

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/policy/restype"
)

// watched pairs each Cloudflare object that watches a region with the alert
// type that reports it.
var watched = []struct{ typ, alert, what string }{
	{restype.LoadBalancerPool, labels.AlertLoadBalancingHealth, "load balancer pool"},
	{restype.Healthcheck, labels.AlertHealthCheckStatus, "health check"},
	{restype.Tunnel, labels.AlertTunnelHealth, "tunnel"},
}

// AlertsHaveDestination is a stack rule outside dev: every notification
// policy delivers to at least one destination (email, webhook or PagerDuty),
// and there are at least as many policies of the matching alert type as
// there are load-balancer pools, health checks and tunnels, so no watched
// object goes down in silence. Ids are unknown during a preview, so policies
// are counted per alert type rather than matched to their filter ids.
func AlertsHaveDestination(resources []policyx.AnalyzerResource, c Context) []Finding {
	if !c.Env.BehindCloudflare() {
		return nil
	}
	var out []Finding
	policies := map[string]int{}
	for _, r := range resources {
		if r.Type != restype.NotificationPolicy {
			continue
		}
		if alert, st := stringAt(r.Properties, "alertType"); st == known {
			policies[alert]++
		}
		if !mayDeliver(r) {
			out = append(out, Finding{URN: r.URN, Message: fmt.Sprintf(
				"%s: notification policy has no destination, so its alert reaches nobody; set `emailIntegrations` (helloagents:alerts.emails) or `webhooksIntegrations` (helloagents:alertWebhookUrl)",
				label(r))})
		}
	}
	return append(out, unwatched(resources, policies)...)
}

// mayDeliver reports whether a notification policy has a destination, or
// may have one once its integrations are known.
func mayDeliver(r policyx.AnalyzerResource) bool {
	destinations, pending := 0, false
	for _, key := range []string{"emailIntegrations", "webhooksIntegrations", "pagerdutyIntegrations"} {
		list, st := arrayAt(r.Properties, key)
		pending = pending || st == unknown
		destinations += len(list)
	}
	return destinations > 0 || pending
}

// unwatched reports each watched type with more objects than notification
// policies of its alert type (policies counts them by alert type), on the
// first object of the type.
func unwatched(resources []policyx.AnalyzerResource, policies map[string]int) []Finding {
	var out []Finding
	for _, w := range watched {
		var objects []policyx.AnalyzerResource
		for _, r := range resources {
			if r.Type == w.typ {
				objects = append(objects, r)
			}
		}
		if len(objects) > policies[w.alert] {
			out = append(out, Finding{URN: objects[0].URN, Message: fmt.Sprintf(
				"%s: %d %s(s) but %d %s notification policies; declare one per %s (components.Alerts) so an outage is reported",
				label(objects[0]), len(objects), w.what, policies[w.alert], w.alert, w.what)})
		}
	}
	return out
}
