package components_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
)

// alertsRun declares alerts for the given pools, health checks and tunnels
// (region names; the ids are "<kind>-<region>").
func alertsRun(t *testing.T, webhook string, pools, checks, tunnels []string) *mocktest.Monitor {
	t.Helper()
	ids := func(kind string, regions []string) map[string]pulumi.StringOutput {
		m := map[string]pulumi.StringOutput{}
		for _, r := range regions {
			m[r] = pulumi.String(kind + "-" + r).ToStringOutput()
		}
		return m
	}
	return run(t, func(ctx *pulumi.Context) error {
		cf, err := cfProvider(ctx)
		if err != nil {
			return err
		}
		args := &components.AlertsArgs{
			Prefix: "helloagents-test", AccountID: "acct", ZoneID: "zone",
			Emails: []string{"oncall@example.dev", "ops@example.dev"},
			Pools:  ids("pool", pools), HealthChecks: ids("hc", checks), Tunnels: ids("tunnel", tunnels),
			Cloudflare: cf,
		}
		if webhook != "" {
			args.WebhookURL = secret(webhook)
		}
		_, err = components.NewAlerts(ctx, "alerts", args)
		return err
	})
}

func filter(r mocktest.Resource, key string) []string {
	f := mocktest.Unwrap(r.Inputs["filters"])
	if !f.IsObject() {
		return nil
	}
	return mocktest.Strings(f.ObjectValue()[resource.PropertyKey(key)])
}

func TestAlertsOnePolicyPerPoolHealthCheckAndTunnel(t *testing.T) {
	const hook = "https://hooks.slack.com/services/T000/B000/very-secret-token"
	m := alertsRun(t, hook, []string{"eu", "us"}, []string{"solo"}, []string{"eu", "us"})
	policies := m.ByType(restype.NotificationPolicy)
	byType := map[string][]mocktest.Resource{}
	for _, p := range policies {
		byType[str(p, "alertType")] = append(byType[str(p, "alertType")], p)
	}
	want := map[string]int{
		labels.AlertLoadBalancingHealth: 2, labels.AlertHealthCheckStatus: 1,
		labels.AlertTunnelHealth: 2, labels.AlertUniversalSSL: 1,
	}
	for typ, n := range want {
		if len(byType[typ]) != n {
			t.Errorf("%d %s policies, want %d", len(byType[typ]), typ, n)
		}
	}
	if len(policies) != 6 {
		t.Errorf("%d policies, want 6", len(policies))
	}
	check := func(typ, key string, wantIDs []string, stateKey string, states []string) {
		t.Helper()
		var got []string
		for _, p := range byType[typ] {
			ids := filter(p, key)
			if len(ids) != 1 {
				t.Errorf("%s: filters.%s = %v, want exactly one id", p.Name, key, ids)
				continue
			}
			got = append(got, ids[0])
			if s := filter(p, stateKey); !slices.Equal(s, states) {
				t.Errorf("%s: filters.%s = %v, want %v", p.Name, stateKey, s, states)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, wantIDs) {
			t.Errorf("%s filters.%s cover %v, want %v", typ, key, got, wantIDs)
		}
	}
	check(labels.AlertLoadBalancingHealth, "poolIds", []string{"pool-eu", "pool-us"}, "newHealths", []string{"Unhealthy", "Healthy"})
	check(labels.AlertHealthCheckStatus, "healthCheckIds", []string{"hc-solo"}, "statuses", []string{"Unhealthy", "Healthy"})
	check(labels.AlertTunnelHealth, "tunnelIds", []string{"tunnel-eu", "tunnel-us"}, "newStatuses",
		[]string{"TUNNEL_STATUS_TYPE_DEGRADED", "TUNNEL_STATUS_TYPE_DOWN", "TUNNEL_STATUS_TYPE_HEALTHY"})
	for _, p := range byType[labels.AlertLoadBalancingHealth] {
		if s := filter(p, "eventSources"); !slices.Equal(s, []string{"pool", "origin"}) {
			t.Errorf("%s: eventSources %v", p.Name, s)
		}
	}
	if z := filter(byType[labels.AlertUniversalSSL][0], "zones"); !slices.Equal(z, []string{"zone"}) {
		t.Errorf("SSL policy zones %v, want [zone]", z)
	}

	hooks := m.ByType(restype.NotificationWebhook)
	if len(hooks) != 1 {
		t.Fatalf("%d webhook destinations, want 1", len(hooks))
	}
	if !hooks[0].Inputs["url"].IsSecret() || str(hooks[0], "url") != hook {
		t.Errorf("webhook url must be the configured URL as a secret: %v", hooks[0].Inputs["url"])
	}
	for _, p := range policies {
		emails := arr(p.Inputs["emailIntegrations"])
		hooks := arr(p.Inputs["webhooksIntegrations"])
		if len(emails) != 2 || len(hooks) != 1 || !mocktest.Unwrap(p.Inputs["enabled"]).BoolValue() {
			t.Errorf("%s: %d emails, %d webhooks, enabled %v; want every destination on an enabled policy", p.Name, len(emails), len(hooks), p.Inputs["enabled"])
		}
		if !strings.Contains(p.Provider, "cloudflare") || !strings.Contains(p.Parent, "helloagents:edge:Alerts") {
			t.Errorf("%s: provider %q parent %q", p.Name, p.Provider, p.Parent)
		}
	}
	for _, r := range m.Resources() {
		for k, v := range r.Inputs {
			if !v.IsSecret() && strings.Contains(v.String(), "very-secret-token") {
				t.Errorf("%s input %s carries the webhook URL in plain text", r, k)
			}
		}
	}
}

func TestAlertsEmailOnly(t *testing.T) {
	m := alertsRun(t, "", nil, []string{"solo"}, []string{"solo"})
	if n := m.Count(restype.NotificationWebhook); n != 0 {
		t.Errorf("%d webhook destinations without a webhook URL", n)
	}
	for _, p := range m.ByType(restype.NotificationPolicy) {
		if len(arr(p.Inputs["emailIntegrations"])) != 2 || len(arr(p.Inputs["webhooksIntegrations"])) != 0 {
			t.Errorf("%s: destinations %v %v", p.Name, p.Inputs["emailIntegrations"], p.Inputs["webhooksIntegrations"])
		}
	}
}

func TestAlertsRefuseNoDestination(t *testing.T) {
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := components.NewAlerts(ctx, "alerts", &components.AlertsArgs{Prefix: "p", AccountID: "a", ZoneID: "z"})
		return err
	}, pulumi.WithMocks("helloagents", "test", mocktest.New()))
	if err == nil || !strings.Contains(err.Error(), "no destination") {
		t.Errorf("err = %v, want a refusal naming the missing destination", err)
	}
}

func TestEdgeExportsPoolAndHealthCheckIDs(t *testing.T) {
	for _, tc := range []struct {
		regions       []string
		pools, checks int
	}{{[]string{"eu"}, 0, 1}, {[]string{"eu", "us"}, 2, 0}} {
		var edge *components.Edge
		run(t, func(ctx *pulumi.Context) error {
			cf, err := cfProvider(ctx)
			if err != nil {
				return err
			}
			var rs []components.EdgeRegion
			for _, r := range tc.regions {
				rs = append(rs, components.EdgeRegion{Name: r, Hostname: "api-" + r + ".example.dev", TunnelCNAME: pulumi.String(r + ".cfargotunnel.com")})
			}
			edge, err = components.NewEdge(ctx, "edge", &components.EdgeArgs{
				AccountID: "acct", ZoneID: "zone", APIHostname: "api.example.dev", Regions: rs,
				HealthCheck: healthcheck.Default(), MinTLSVersion: "1.2",
				HSTSMaxAgeSeconds: 31536000, CheckRegions: []string{"WEU"}, Cloudflare: cf,
			})
			return err
		})
		if len(edge.Pools) != tc.pools || len(edge.HealthChecks) != tc.checks {
			t.Errorf("%v: %d pools, %d health checks exported; want %d, %d", tc.regions, len(edge.Pools), len(edge.HealthChecks), tc.pools, tc.checks)
		}
		for r, id := range edge.Pools {
			if v, _, _, err := mocktest.Await(id); err != nil || v != "edge-"+r+"-pool-id" {
				t.Errorf("pool id of %s = %v (%v)", r, v, err)
			}
		}
	}
}
