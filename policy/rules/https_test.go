package rules

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/policy/restype"
)

func TestHTTPSOnly(t *testing.T) {
	zone := func(settings map[string]any) map[string]any {
		return map[string]any{"zoneId": "zone-1", "settings": settings}
	}
	good := map[string]any{"alwaysUseHttps": "on", "minTlsVersion": "1.2", "ssl": "strict", "automaticHttpsRewrites": "on"}
	tls13 := DefaultSettings()
	tls13.MinimumTLSVersion = "1.3"
	tests := []struct {
		name     string
		env      Env
		settings *Settings
		typ      string
		props    map[string]any
		want     [][]string
	}{
		{"zone forced https", Production, nil, restype.ZoneSettings, zone(good), nil},
		{"zone tls 1.3", Production, nil, restype.ZoneSettings, zone(with(good, "minTlsVersion", "1.3")), nil},
		{"always_use_https off", Production, nil, restype.ZoneSettings, zone(with(good, "alwaysUseHttps", "off")),
			[][]string{{`settings.alwaysUseHttps is "off"`, `"on"`}}},
		{"tls 1.0", Production, nil, restype.ZoneSettings, zone(with(good, "minTlsVersion", "1.0")),
			[][]string{{`settings.minTlsVersion is "1.0"`, `"1.2"`}}},
		{"configured minimum 1.3 refuses 1.2", Production, &tls13, restype.ZoneSettings, zone(good),
			[][]string{{`settings.minTlsVersion is "1.2"`, `"1.3"`}}},
		{"ssl flexible", Production, nil, restype.ZoneSettings, zone(with(good, "ssl", "flexible")),
			[][]string{{`settings.ssl is "flexible"`, `"strict"`}}},
		{"nothing set", Production, nil, restype.ZoneSettings, zone(map[string]any{}),
			[][]string{{"alwaysUseHttps is not set"}, {"minTlsVersion is not set"}, {"ssl is not set"}}},
		{"unknown setting", Production, nil, restype.ZoneSettings, zone(with(good, "ssl", computed)), nil},

		{"proxied CNAME", Production, nil, restype.Record, map[string]any{"zoneId": "zone-1", "name": "api", "type": "CNAME", "content": "t.cfargotunnel.com", "proxied": true}, nil},
		{"unproxied A", Production, nil, restype.Record, map[string]any{"zoneId": "zone-1", "name": "api", "type": "A", "content": "203.0.113.7", "proxied": false},
			[][]string{{`A record "api" has proxied false`, "proxied: true"}}},
		{"proxied unset", Production, nil, restype.Record, map[string]any{"zoneId": "zone-1", "name": "www", "type": "AAAA", "content": "2001:db8::1"},
			[][]string{{"proxied false"}}},
		{"TXT is not web traffic", Production, nil, restype.Record, map[string]any{"zoneId": "zone-1", "name": "@", "type": "TXT", "content": "v=spf1 -all"}, nil},
		{"acme challenge CNAME", Production, nil, restype.Record, map[string]any{"zoneId": "zone-1", "name": "_acme-challenge", "type": "CNAME", "content": "x"}, nil},

		{"https monitor", Production, nil, restype.LoadBalancerMonitor, map[string]any{"accountId": "a", "type": "https", "path": "/health/ready", "expectedCodes": "200"}, nil},
		{"http monitor", Production, nil, restype.LoadBalancerMonitor, map[string]any{"accountId": "a", "type": "http"}, [][]string{{`type is "http"`, `type: "https"`}}},
		{"monitor default type", Production, nil, restype.LoadBalancerMonitor, map[string]any{"accountId": "a"}, [][]string{{"type is not set"}}},
		{"insecure monitor", Production, nil, restype.LoadBalancerMonitor, map[string]any{"accountId": "a", "type": "https", "allowInsecure": true}, [][]string{{"allowInsecure is true"}}},
		{"https healthcheck", Production, nil, restype.Healthcheck, map[string]any{"zoneId": "zone-1", "name": "eu", "address": "eu.api.example.dev", "type": "HTTPS"}, nil},
		{"tcp healthcheck", Production, nil, restype.Healthcheck, map[string]any{"zoneId": "zone-1", "name": "eu", "address": "eu.api.example.dev", "type": "TCP"}, [][]string{{`type is "TCP"`}}},

		{"https urls", Production, nil, restype.DockerContainer, goodContainer(), nil},
		{"http CORS origin", Production, nil, restype.DockerContainer,
			with(goodContainer(), "envs", []any{"CORS_ALLOWED_ORIGINS=https://app.example.dev,http://www.example.dev"}),
			[][]string{{"env CORS_ALLOWED_ORIGINS", "http://www.example.dev"}}},
		{"loopback http in dev", Dev, nil, restype.DockerContainer,
			with(goodContainer(), "envs", []any{"CORS_ALLOWED_ORIGINS=http://localhost:5173,http://127.0.0.1:5173"}), nil},
		{"loopback http outside dev", Staging, nil, restype.DockerContainer,
			with(goodContainer(), "envs", []any{"CORS_ALLOWED_ORIGINS=http://localhost:5173"}), [][]string{{"http://localhost:5173"}}},
		{"non-loopback http in dev", Dev, nil, restype.DockerContainer,
			with(goodContainer(), "envs", []any{"SANDBOX_POOL_URL=http://sandbox.example.dev"}), [][]string{{"env SANDBOX_POOL_URL"}}},
		{"secret http URL is not printed", Production, nil, restype.DockerContainer,
			with(goodContainer(), "envs", []any{secret{"SENTRY_DSN=http://key@sentry.example.dev/1"}}), [][]string{{"env SENTRY_DSN", "(secret value)"}}},
		{"postgres URL is not http", Production, nil, restype.DockerContainer,
			with(goodContainer(), "envs", []any{secret{"DATABASE_URL=postgres://u:p@db:5432/app"}}), nil},

		{"pages https api url", Production, nil, restype.PagesProject, map[string]any{"name": "web", "deploymentConfigs": map[string]any{
			"production": map[string]any{"environmentVariables": map[string]any{"API_URL": "https://api.example.dev"}}}}, nil},
		{"pages http api url", Production, nil, restype.PagesProject, map[string]any{"name": "web", "deploymentConfigs": map[string]any{
			"preview": map[string]any{"environmentVariables": map[string]any{"API_URL": "http://api.example.dev"}}}},
			[][]string{{"deploymentConfigs.preview.environmentVariables.API_URL", "http://api.example.dev"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctxFor(tt.env)
			if tt.settings != nil {
				c.Settings = *tt.settings
			}
			assertMessages(t, HTTPSOnly(resource(t, tt.typ, "r", tt.props), c), tt.want)
		})
	}
}

func TestZonesHaveHTTPSSettings(t *testing.T) {
	override := resource(t, restype.ZoneSettings, "zone-https", map[string]any{"zoneId": "zone-1", "settings": map[string]any{"alwaysUseHttps": "on"}})
	rec := func(name, zone any) map[string]any {
		return map[string]any{"zoneId": zone, "name": name, "type": "CNAME", "content": "x", "proxied": true}
	}
	managed := resource(t, restype.Record, "api", rec("api", "zone-1"))
	unmanaged := resource(t, restype.Record, "other", rec("www", "zone-2"))
	lb := resource(t, restype.LoadBalancer, "lb", map[string]any{"zoneId": "zone-3", "name": "api.example.dev"})
	pending := resource(t, restype.Record, "pending", rec("x", computed))

	got := ZonesHaveHTTPSSettings([]policyx.AnalyzerResource{override, managed, unmanaged, lb, pending}, ctxFor(Production))
	if len(got) != 2 || got[0].URN != unmanaged.URN || got[1].URN != lb.URN {
		t.Fatalf("findings = %+v, want the record in zone-2 and the load balancer in zone-3", got)
	}
	for _, f := range got {
		assertMessages(t, []string{f.Message}, [][]string{{"zone", "ZoneSettingsOverride"}})
	}
	pendingZone := resource(t, restype.ZoneSettings, "zone-pending", map[string]any{"zoneId": computed})
	if got := ZonesHaveHTTPSSettings([]policyx.AnalyzerResource{pendingZone, unmanaged}, ctxFor(Production)); got != nil {
		t.Errorf("zone settings with an unknown zoneId may cover any record: %v", got)
	}
	if got := ZonesHaveHTTPSSettings(nil, ctxFor(Production)); got != nil {
		t.Errorf("empty stack: %v", got)
	}
}
