package rules

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/policy/restype"
)

func notification(t *testing.T, name, alert string, emails, hooks any) policyx.AnalyzerResource {
	t.Helper()
	props := map[string]any{"accountId": "a", "name": name, "alertType": alert, "enabled": true}
	if emails != nil {
		props["emailIntegrations"] = emails
	}
	if hooks != nil {
		props["webhooksIntegrations"] = hooks
	}
	return resource(t, restype.NotificationPolicy, name, props)
}

func TestAlertsHaveDestination(t *testing.T) {
	email := []any{map[string]any{"id": "oncall@example.dev"}}
	hook := []any{map[string]any{"id": computed}}
	pool := func(n string) policyx.AnalyzerResource {
		return resource(t, restype.LoadBalancerPool, n, map[string]any{"accountId": "a", "name": n, "monitor": "m"})
	}
	hc := resource(t, restype.Healthcheck, "hc", map[string]any{"zoneId": "z", "name": "hc"})
	tunnel := resource(t, restype.Tunnel, "tun", map[string]any{"accountId": "a", "name": "tun"})
	tests := []struct {
		name      string
		env       Env
		resources []policyx.AnalyzerResource
		want      [][]string
		urns      []string
	}{
		{"every pool and tunnel has a policy with email", Production, []policyx.AnalyzerResource{
			pool("eu"), pool("us"), tunnel,
			notification(t, "p-eu", labels.AlertLoadBalancingHealth, email, nil), notification(t, "p-us", labels.AlertLoadBalancingHealth, email, nil),
			notification(t, "t", labels.AlertTunnelHealth, email, nil),
		}, nil, nil},
		{"webhook only, id not known yet", Staging, []policyx.AnalyzerResource{
			hc, notification(t, "h", labels.AlertHealthCheckStatus, nil, hook),
		}, nil, nil},
		{"integrations not known yet", Staging, []policyx.AnalyzerResource{
			hc, notification(t, "h", labels.AlertHealthCheckStatus, computed, nil),
		}, nil, nil},
		{"policy without destination", Staging, []policyx.AnalyzerResource{
			hc, notification(t, "h", labels.AlertHealthCheckStatus, []any{}, nil),
		}, [][]string{{"notification policy has no destination", "helloagents:alerts.emails"}}, []string{"h"}},
		{"no alerts at all", Production, []policyx.AnalyzerResource{pool("eu"), pool("us"), tunnel},
			[][]string{{"2 load balancer pool(s) but 0 load_balancing_health_alert"}, {"1 tunnel(s) but 0 tunnel_health_event"}},
			[]string{"eu", "tun"}},
		{"one pool without its policy", Production, []policyx.AnalyzerResource{
			pool("eu"), pool("us"), notification(t, "p-eu", labels.AlertLoadBalancingHealth, email, nil),
		}, [][]string{{"2 load balancer pool(s) but 1"}}, []string{"eu"}},
		{"health check without policy", Staging, []policyx.AnalyzerResource{hc, notification(t, "ssl", "universal_ssl_event_type", email, nil)},
			[][]string{{"1 health check(s) but 0 health_check_status_notification"}}, []string{"hc"}},
		{"dev is exempt", Dev, []policyx.AnalyzerResource{hc}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AlertsHaveDestination(tt.resources, ctxFor(tt.env))
			var msgs []string
			for i, f := range got {
				msgs = append(msgs, f.Message)
				if i < len(tt.urns) && !strings.HasSuffix(f.URN, "::"+tt.urns[i]) {
					t.Errorf("finding %d blames %s, want %s", i, f.URN, tt.urns[i])
				}
			}
			assertMessages(t, msgs, tt.want)
		})
	}
}
