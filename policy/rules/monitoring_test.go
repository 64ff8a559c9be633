package rules

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/policy/restype"
)

// tunnelConfig is a tunnel config routing each host to its service, then a
// 404 catch-all.
func tunnelConfig(t *testing.T, name string, routes ...string) policyx.AnalyzerResource {
	t.Helper()
	var rules []any
	for i := 0; i+1 < len(routes); i += 2 {
		rules = append(rules, map[string]any{"hostname": routes[i], "service": routes[i+1]})
	}
	rules = append(rules, map[string]any{"service": "http_status:404"})
	return resource(t, restype.TunnelConfig, name, map[string]any{
		"accountId": "a", "tunnelId": "t", "config": map[string]any{"ingressRules": rules},
	})
}

func accessApp(t *testing.T, name string, props map[string]any) policyx.AnalyzerResource {
	t.Helper()
	base := map[string]any{"accountId": "a", "name": name, "type": "self_hosted", "policies": []any{"p1", "p2"}}
	for k, v := range props {
		base[k] = v
	}
	return resource(t, restype.AccessApplication, name, base)
}

func TestMonitoringBehindAccess(t *testing.T) {
	const prom, am = "prometheus-eu.example.dev", "alertmanager-eu.example.dev"
	cfg := func(t *testing.T) policyx.AnalyzerResource {
		return tunnelConfig(t, "tun-config", "api.example.dev", "http://proxy:8000",
			prom, "http://prometheus:9090", am, "http://alertmanager:9093")
	}
	tests := []struct {
		name      string
		resources func(t *testing.T) []policyx.AnalyzerResource
		want      [][]string
	}{
		{"every monitoring hostname has its application", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{cfg(t), accessApp(t, "a1", map[string]any{"domain": prom}), accessApp(t, "a2", map[string]any{"domain": am})}
		}, nil},
		{"no application at all", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{cfg(t)}
		}, [][]string{{prom, "http://prometheus:9090", "without a Cloudflare Access application"}, {am, "without a Cloudflare Access application"}}},
		{"one hostname uncovered", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{cfg(t), accessApp(t, "a1", map[string]any{"domain": prom})}
		}, [][]string{{am, "alertmanager:9093"}}},
		{"an application for another hostname", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{cfg(t), accessApp(t, "a1", map[string]any{"domain": "prometheus-us.example.dev"}),
				accessApp(t, "a2", map[string]any{"domain": am})}
		}, [][]string{{prom, "without"}}},
		{"application without policies", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{cfg(t), accessApp(t, "a1", map[string]any{"domain": prom, "policies": []any{}}),
				accessApp(t, "a2", map[string]any{"domain": am})}
		}, [][]string{{"a1", prom, "tun-config", "has no policy"}}},
		{"a second application with policies covers it", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{cfg(t), accessApp(t, "a1", map[string]any{"domain": prom, "policies": []any{}}),
				accessApp(t, "a3", map[string]any{"domain": prom}), accessApp(t, "a2", map[string]any{"domain": am})}
		}, nil},
		{"policies not known yet", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{cfg(t), accessApp(t, "a1", map[string]any{"domain": prom, "policies": computed}),
				accessApp(t, "a2", map[string]any{"domain": am})}
		}, nil},
		{"covered by self-hosted domains, destinations and a wildcard", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{
				tunnelConfig(t, "tun-config", prom, "http://prometheus:9090", am, "http://alertmanager:9093", "pgexporter-eu.other.dev", "http://pgexporter:9187"),
				accessApp(t, "a1", map[string]any{"selfHostedDomains": []string{prom + "/graph"}}),
				accessApp(t, "a2", map[string]any{"destinations": []any{map[string]any{"uri": am}}}),
				resource(t, restype.LegacyAccessApplication, "a3", map[string]any{"domain": "*.other.dev", "policies": []any{"p"}}),
			}
		}, nil},
		{"a hostname still unknown is not judged", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{resource(t, restype.TunnelConfig, "tun-config", map[string]any{"config": map[string]any{
				"ingressRules": []any{map[string]any{"hostname": computed, "service": "http://prometheus:9090"}},
			}})}
		}, nil},
		{"an application's domain still unknown", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{cfg(t), accessApp(t, "a1", map[string]any{"domain": computed})}
		}, nil},
		{"the API and other services need no application", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{tunnelConfig(t, "tun-config", "api.example.dev", "http://proxy:8000", "app.example.dev", "https://backend:8000")}
		}, nil},
		{"upper-case service and hostname", func(t *testing.T) []policyx.AnalyzerResource {
			return []policyx.AnalyzerResource{tunnelConfig(t, "tun-config", "Prometheus-EU.example.dev", "http://PROMETHEUS:9090")}
		}, [][]string{{prom}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MonitoringBehindAccess(tt.resources(t), ctxFor(Production))
			var msgs []string
			for _, f := range got {
				msgs = append(msgs, f.Message)
				// An uncovered hostname is the tunnel config's finding, an
				// application without policies the application's.
				want := "::tun-config"
				if strings.Contains(f.Message, "has no policy") {
					want = "::a1"
				}
				if !strings.HasSuffix(f.URN, want) {
					t.Errorf("finding blames %s, want %s", f.URN, want)
				}
			}
			assertMessages(t, msgs, tt.want)
		})
	}
}
