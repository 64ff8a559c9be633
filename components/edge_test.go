package components_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/components"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
)

func cfProvider(ctx *pulumi.Context) (*cloudflare.Provider, error) {
	return cloudflare.NewProvider(ctx, "cloudflare", &cloudflare.ProviderArgs{ApiToken: secret("cf-token")})
}

func TestTunnel(t *testing.T) {
	m := run(t, func(ctx *pulumi.Context) error {
		host, err := newHost(ctx, "ssh://d@h")
		if err != nil {
			return err
		}
		cf, err := cfProvider(ctx)
		if err != nil {
			return err
		}
		_, err = components.NewTunnel(ctx, "tunnel-eu", &components.TunnelArgs{
			Prefix: "helloagents-test", Region: "eu", AccountID: "acct", Secret: secret("c2VjcmV0"),
			Hostnames: []string{"api.example.dev", "api-eu.example.dev"}, Service: "http://backend:8000",
			Routes: []components.TunnelRoute{{Hostname: "prometheus-eu.example.dev", Service: "http://prometheus:9090"}},
			Image:  "cloudflare/cloudflared:2024.12.2", Host: host, Cloudflare: cf,
			Limits: components.Limits{MemoryMB: 128, CPUs: 0.5, MaxRestarts: 5}, HealthCheck: healthcheck.Default(),
		}, host.Child())
		return err
	})
	tun, _ := m.Named(restype.Tunnel, "tunnel-eu")
	if !tun.Inputs["secret"].IsSecret() || str(tun, "configSrc") != "cloudflare" {
		t.Errorf("tunnel inputs %v", tun.Inputs)
	}
	conf, _ := m.Named(restype.TunnelConfig, "tunnel-eu-config")
	rules := mocktest.Unwrap(mocktest.Unwrap(conf.Inputs["config"]).ObjectValue()["ingressRules"]).ArrayValue()
	var routes []string
	for _, r := range rules {
		o := mocktest.Unwrap(r).ObjectValue()
		host := ""
		if h := mocktest.Unwrap(o["hostname"]); h.IsString() {
			host = h.StringValue()
		}
		routes = append(routes, host+" "+mocktest.Unwrap(o["service"]).StringValue())
	}
	if want := []string{"api.example.dev http://backend:8000", "api-eu.example.dev http://backend:8000",
		"prometheus-eu.example.dev http://prometheus:9090", " http_status:404"}; !slices.Equal(routes, want) {
		t.Errorf("ingress rules %q, want the two API hostnames, the route, then a 404 catch-all: %q", routes, want)
	}
	c, _ := m.Named(restype.DockerContainer, "tunnel-eu-cloudflared")
	envs := mocktest.Unwrap(c.Inputs["envs"]).ArrayValue()
	// The drain variable (plain), then the token (secret).
	if len(envs) != 2 || envs[0].IsSecret() || !envs[1].IsSecret() || strings.Contains(c.Inputs["command"].String(), "token") {
		t.Errorf("tunnel token must travel only as a secret env: envs=%v command=%v", c.Inputs["envs"], c.Inputs["command"])
	}
	if !strings.Contains(tun.Provider, "cloudflare") || !strings.Contains(c.Provider, "region-eu-docker") {
		t.Errorf("providers: tunnel %q container %q", tun.Provider, c.Provider)
	}
}

func edgeRun(t *testing.T, regions ...string) *mocktest.Monitor {
	return run(t, func(ctx *pulumi.Context) error {
		cf, err := cfProvider(ctx)
		if err != nil {
			return err
		}
		var rs []components.EdgeRegion
		for _, r := range regions {
			rs = append(rs, components.EdgeRegion{Name: r, Hostname: "api-" + r + ".example.dev", TunnelCNAME: pulumi.String(r + ".cfargotunnel.com")})
		}
		_, err = components.NewEdge(ctx, "edge", &components.EdgeArgs{
			AccountID: "acct", ZoneID: "zone", APIHostname: "api.example.dev", Regions: rs,
			HealthCheck: healthcheck.Default(), ManageZoneSettings: true, MinTLSVersion: "1.2",
			HSTSMaxAgeSeconds: 31536000, CheckRegions: []string{"WEU"}, Cloudflare: cf,
		})
		return err
	})
}

func TestEdgeZoneSettingsForceHTTPS(t *testing.T) {
	m := edgeRun(t, "eu")
	z, ok := m.Named(restype.ZoneSettings, "edge-zone-settings")
	if !ok {
		t.Fatal("no zone settings")
	}
	s := mocktest.Unwrap(z.Inputs["settings"]).ObjectValue()
	for k, want := range map[string]string{"alwaysUseHttps": "on", "minTlsVersion": "1.2", "tls13": "on", "ssl": "strict", "automaticHttpsRewrites": "on"} {
		if got := mocktest.Unwrap(s[resource.PropertyKey(k)]).StringValue(); got != want {
			t.Errorf("settings.%s = %q, want %q", k, got, want)
		}
	}
	hsts := mocktest.Unwrap(s["securityHeader"]).ObjectValue()
	if !mocktest.Unwrap(hsts["enabled"]).BoolValue() || mocktest.Unwrap(hsts["maxAge"]).NumberValue() != 31536000 {
		t.Errorf("HSTS %v", hsts)
	}
}

func TestEdgeSingleRegionHealthCheck(t *testing.T) {
	m := edgeRun(t, "eu")
	if m.Count(restype.Healthcheck) != 1 || m.Count(restype.LoadBalancer) != 0 || m.Count(restype.Record) != 2 {
		t.Fatalf("healthchecks=%d lbs=%d records=%d", m.Count(restype.Healthcheck), m.Count(restype.LoadBalancer), m.Count(restype.Record))
	}
	h := m.ByType(restype.Healthcheck)[0]
	if str(h, "type") != "HTTPS" || str(h, "path") != "/health/ready" || mocktest.Unwrap(h.Inputs["interval"]).NumberValue() != 30 ||
		mocktest.Unwrap(h.Inputs["timeout"]).NumberValue() != 5 || mocktest.Unwrap(h.Inputs["retries"]).NumberValue() != 3 ||
		strings.Join(mocktest.Strings(h.Inputs["expectedCodes"]), ",") != "200" {
		t.Errorf("health check %v does not follow the shared settings", h.Inputs)
	}
	for _, r := range m.ByType(restype.Record) {
		if !mocktest.Unwrap(r.Inputs["proxied"]).BoolValue() {
			t.Errorf("%s not proxied", r.Name)
		}
	}
}

func TestEdgeLoadBalancerFailover(t *testing.T) {
	m := edgeRun(t, "eu", "us", "ap")
	if m.Count(restype.LoadBalancerMonitor) != 1 || m.Count(restype.LoadBalancerPool) != 3 || m.Count(restype.LoadBalancer) != 1 || m.Count(restype.Healthcheck) != 0 {
		t.Fatalf("monitor=%d pools=%d lb=%d", m.Count(restype.LoadBalancerMonitor), m.Count(restype.LoadBalancerPool), m.Count(restype.LoadBalancer))
	}
	mon := m.ByType(restype.LoadBalancerMonitor)[0]
	if str(mon, "type") != "https" || str(mon, "path") != "/health/ready" || str(mon, "expectedCodes") != "200" {
		t.Errorf("monitor %v", mon.Inputs)
	}
	lb := m.ByType(restype.LoadBalancer)[0]
	pools := mocktest.Strings(lb.Inputs["defaultPoolIds"])
	if str(lb, "steeringPolicy") != "off" || len(pools) != 3 || pools[0] != "edge-eu-pool-id" || pools[2] != "edge-ap-pool-id" ||
		str(lb, "fallbackPoolId") != "edge-ap-pool-id" || !mocktest.Unwrap(lb.Inputs["proxied"]).BoolValue() {
		t.Errorf("load balancer %v: want failover over pools in region order", lb.Inputs)
	}
}

func TestFrontend(t *testing.T) {
	m := run(t, func(ctx *pulumi.Context) error {
		cf, err := cfProvider(ctx)
		if err != nil {
			return err
		}
		_, err = components.NewFrontend(ctx, "frontend", &components.FrontendArgs{
			AccountID: "acct", ZoneID: "zone", ProjectName: "helloagents", Hostname: "app.example.dev",
			GitHubOwner: "o", GitHubRepo: "r", ProductionBranch: "main", RootDir: "frontend",
			BuildCommand: "npm run build", OutputDir: "dist", APIURLVariable: "VITE_API_URL",
			APIURL: "https://api.example.dev", Cloudflare: cf,
		})
		return err
	})
	p, _ := m.Named(restype.PagesProject, "frontend")
	src := mocktest.Unwrap(mocktest.Unwrap(p.Inputs["source"]).ObjectValue()["config"]).ObjectValue()
	if mocktest.Unwrap(src["productionBranch"]).StringValue() != "main" || mocktest.Unwrap(src["previewDeploymentSetting"]).StringValue() != "all" {
		t.Errorf("pages source %v", src)
	}
	dc := mocktest.Unwrap(p.Inputs["deploymentConfigs"]).ObjectValue()
	for _, env := range []resource.PropertyKey{"production", "preview"} {
		vars := mocktest.Unwrap(mocktest.Unwrap(dc[env]).ObjectValue()["environmentVariables"]).ObjectValue()
		if mocktest.Unwrap(vars["VITE_API_URL"]).StringValue() != "https://api.example.dev" {
			t.Errorf("%s env vars %v", env, vars)
		}
	}
	rec, _ := m.Named(restype.Record, "frontend-dns")
	if str(rec, "content") != "helloagents.pages.dev" || !mocktest.Unwrap(rec.Inputs["proxied"]).BoolValue() {
		t.Errorf("frontend record %v", rec.Inputs)
	}
	if m.Count(restype.PagesDomain) != 1 {
		t.Error("no custom domain")
	}
}

func TestImageAndBucket(t *testing.T) {
	var ref pulumi.StringOutput
	m := run(t, func(ctx *pulumi.Context) error {
		p, err := docker.NewProvider(ctx, "build-docker", &docker.ProviderArgs{Host: pulumi.String("unix:///var/run/docker.sock")})
		if err != nil {
			return err
		}
		img, err := components.NewImage(ctx, "backend-image", &components.ImageArgs{
			Repository: "ghcr.io/o/backend", Tag: "staging", Context: "/src/backend", Dockerfile: "/src/backend/Dockerfile",
			Push: true, Registry: &components.RegistryAuth{Server: "ghcr.io", Username: "u", Password: secret("pw")}, Provider: p,
		})
		if err != nil {
			return err
		}
		ref = img.Ref
		cf, err := cfProvider(ctx)
		if err != nil {
			return err
		}
		_, err = components.NewBackupBucket(ctx, "backups", &components.BackupBucketArgs{AccountID: "acct", Bucket: "b", Cloudflare: cf})
		return err
	})
	img, _ := m.Named(restype.DockerImage, "backend-image")
	if mocktest.Unwrap(img.Inputs["skipPush"]).BoolValue() || !mocktest.Unwrap(img.Inputs["registry"]).ObjectValue()["password"].IsSecret() {
		t.Errorf("image inputs %v", img.Inputs)
	}
	v, _, _, _ := mocktest.Await(ref)
	if !strings.HasPrefix(v.(string), "ghcr.io/o/backend@sha256:") {
		t.Errorf("ref %v, want the repo digest", v)
	}
	if m.Count(restype.R2Bucket) != 1 {
		t.Error("no R2 bucket")
	}
}
