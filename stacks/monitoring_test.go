package stacks

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

// TestMonitoringEveryRegion: every region of dev, staging and production
// runs its Prometheus, Alertmanager and Postgres exporter under the region,
// the backend and the proxy export their metrics, and outside dev each
// monitoring hostname is routed by its region's tunnel, published by a DNS
// record and covered by an Access application with both policies.
func TestMonitoringEveryRegion(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			m, cfg, _ := runStack(t, stack)
			for _, r := range cfg.Regions {
				comp, ok := m.Named("helloagents:monitoring:Monitoring", "monitoring-"+r.Name)
				if !ok || !strings.HasSuffix(comp.Parent, "helloagents:region:Host::region-"+r.Name) {
					t.Errorf("region %s: monitoring component %v under %q, want the region", r.Name, ok, comp.Parent)
				}
				for _, role := range []string{"prometheus", "alertmanager", "pgexporter"} {
					c, ok := m.Named(restype.DockerContainer, "monitoring-"+r.Name+"-"+role)
					if !ok || !strings.Contains(c.Provider, "region-"+r.Name+"-docker") {
						t.Errorf("region %s: %s missing or not on the region's engine", r.Name, role)
						continue
					}
					configured := false
					for _, e := range list(c.Inputs["envs"]) {
						configured = configured || strings.Contains(mocktest.Unwrap(e).StringValue(), "_CONFIG=")
					}
					if role != "pgexporter" && !configured {
						t.Errorf("%s: no configuration in its environment", c.Name)
					}
				}
				checkMetricsEnv(t, m, r)
			}
			if stack == "dev" {
				return
			}
			checkMonitoringEdge(t, m, cfg)
		})
	}
}

// checkMetricsEnv: region r's backend replicas export on METRICS_PORT with
// their image's fingerprint, the proxy on PROXY_METRICS_PORT.
func checkMetricsEnv(t *testing.T, m *mocktest.Monitor, r config.Region) {
	t.Helper()
	for _, c := range m.ByType(restype.DockerContainer) {
		if !strings.HasPrefix(c.Name, "backend-"+r.Name+"-") && c.Name != "proxy-"+r.Name {
			continue
		}
		env := plainEnv(c)
		switch role(c) {
		case "backend":
			fp := env[server.EnvImageFingerprint]
			if env[server.EnvMetricsPort] != "9464" || !strings.HasPrefix(fp, "sha256:") || len(fp) != len("sha256:")+64 {
				t.Errorf("%s: METRICS_PORT %q IMAGE_FINGERPRINT %q, want 9464 and the image digest", c.Name, env[server.EnvMetricsPort], fp)
			}
		case "proxy":
			if env["PROXY_METRICS_PORT"] != "8405" {
				t.Errorf("%s: PROXY_METRICS_PORT %q, want 8405", c.Name, env["PROXY_METRICS_PORT"])
			}
		}
	}
}

// checkMonitoringEdge: tunnel routes, DNS records and Access applications
// of every monitoring hostname of cfg.
func checkMonitoringEdge(t *testing.T, m *mocktest.Monitor, cfg config.Config) {
	t.Helper()
	routes := map[string]string{}
	for _, tc := range m.ByType(restype.TunnelConfig) {
		for _, rule := range list(obj(tc.Inputs["config"])["ingressRules"]) {
			o := obj(rule)
			if h := mocktest.Unwrap(o["hostname"]); h.IsString() {
				routes[h.StringValue()] = tc.Name + " " + mocktest.Unwrap(o["service"]).StringValue()
			}
		}
	}
	records, apps := map[string]bool{}, map[string]int{}
	for _, r := range m.ByType(restype.Record) {
		records[mocktest.Unwrap(r.Inputs["name"]).StringValue()] = mocktest.Unwrap(r.Inputs["proxied"]).BoolValue()
	}
	for _, a := range m.ByType(restype.AccessApplication) {
		apps[mocktest.Unwrap(a.Inputs["domain"]).StringValue()] = len(list(a.Inputs["policies"]))
	}
	for _, r := range cfg.Regions {
		for svc, port := range map[string]int{config.MonitoringPrometheus: 9090, config.MonitoringAlertmanager: 9093} {
			h := cfg.MonitoringHostname(svc, r)
			if want := fmt.Sprintf("tunnel-%s-config http://%s:%d", r.Name, svc, port); routes[h] != want {
				t.Errorf("%s: routed %q, want %q", h, routes[h], want)
			}
			if !records[h] {
				t.Errorf("%s: no proxied DNS record", h)
			}
			if apps[h] != 2 {
				t.Errorf("%s: Access application with %d policies, want one with 2", h, apps[h])
			}
		}
	}
	if want := 2 * len(cfg.Regions); len(apps) != want {
		t.Errorf("%d Access applications (%v), want %d", len(apps), slices.Sorted(maps.Keys(apps)), want)
	}
}

// TestMonitoringSecretsInFiles follows the remote_write and SMTP passwords
// and the alert webhook into the rendered files: each is in exactly the
// file that needs it, passed as a secret variable, in every region, and
// nowhere in plain text.
func TestMonitoringSecretsInFiles(t *testing.T) {
	const rwPassword, smtpPassword, hook = "rw-pw-SECRET", "smtp-pw-SECRET", "https://hooks.example.dev/hook-SECRET"
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			raw := stackRaw(t, stack)
			withMonitoringUsers(t, raw)
			withFields(t, raw, config.KeyAlerts, map[string]any{"emails": []string{"oncall@example.dev"}})
			raw[config.FullKey(config.KeyMonitoringRemoteWritePassword)] = rwPassword
			raw[config.FullKey(config.KeyMonitoringSMTPPassword)] = smtpPassword
			raw[config.FullKey(config.KeyAlertWebhookURL)] = hook
			cfg, err := config.Parse(stack, raw)
			if err != nil {
				t.Fatal(err)
			}
			m := runConfig(t, cfg)
			for _, needle := range []string{rwPassword, smtpPassword, hook} {
				if leaks := plainLeaksIn(m, needle); len(leaks) > 0 {
					t.Errorf("%s in plain text in %v", needle, leaks)
				}
			}
			for _, r := range cfg.Regions {
				want := map[string][]string{
					"monitoring-" + r.Name + "-prometheus":   {components.EnvPrometheusConfig, rwPassword, "rw-user"},
					"monitoring-" + r.Name + "-alertmanager": {components.EnvAlertmanagerConfig, smtpPassword, hook},
				}
				for name, w := range want {
					c, _ := m.Named(restype.DockerContainer, name)
					found := false
					for _, e := range list(c.Inputs["envs"]) {
						content, ok := strings.CutPrefix(mocktest.Unwrap(e).StringValue(), w[0]+"=")
						if !ok {
							continue
						}
						found = true
						if !e.IsSecret() {
							t.Errorf("%s: %s is not a secret", name, w[0])
						}
						for _, s := range w[1:] {
							if !strings.Contains(content, s) {
								t.Errorf("%s: %s lacks %q", name, w[0], s)
							}
						}
					}
					if !found {
						t.Errorf("%s: no variable %s", name, w[0])
					}
				}
			}
		})
	}
}
