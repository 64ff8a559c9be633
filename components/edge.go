package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/healthcheck"
)

// EdgeRegion is one region as the edge sees it.
type EdgeRegion struct {
	Name string
	// Hostname reaches only this region (health URLs, promotion gates).
	Hostname string
	// TunnelCNAME is the region's <tunnel id>.cfargotunnel.com.
	TunnelCNAME pulumi.StringInput
}

// EdgeArgs configure the zone, DNS and health checking.
type EdgeArgs struct {
	AccountID   string
	ZoneID      string
	APIHostname string
	// Regions in failover order.
	Regions     []EdgeRegion
	HealthCheck healthcheck.Settings
	// ManageZoneSettings applies the HTTPS settings to the zone.
	ManageZoneSettings bool
	MinTLSVersion      string
	HSTSMaxAgeSeconds  int
	CheckRegions       []string
	Cloudflare         *cloudflare.Provider
}

// Edge is everything Cloudflare does in front of the regions: zone settings
// that force HTTPS, one proxied DNS name per region, and health checking
// derived from the shared HealthCheck. With one region the API name points
// at its tunnel and a zone health check watches it; with several, a load
// balancer with one pool per region fails over in the order of Regions, driven by a
// monitor on the readiness path.
type Edge struct {
	pulumi.ResourceState

	APIURL pulumi.StringOutput
	// Pools and HealthChecks map a region to the id of its load-balancer
	// pool (several regions) or standalone health check (one region), for
	// the Alerts component's notification policies.
	Pools        map[string]pulumi.StringOutput
	HealthChecks map[string]pulumi.StringOutput
}

// NewEdge creates the edge resources.
func NewEdge(ctx *pulumi.Context, name string, args *EdgeArgs, opts ...pulumi.ResourceOption) (*Edge, error) {
	e := &Edge{Pools: map[string]pulumi.StringOutput{}, HealthChecks: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("helloagents:edge:Edge", name, e, opts...); err != nil {
		return nil, err
	}
	cf := []pulumi.ResourceOption{pulumi.Parent(e), pulumi.Provider(args.Cloudflare)}
	if args.ManageZoneSettings {
		if err := zoneSettings(ctx, name, args, cf); err != nil {
			return nil, err
		}
	}
	if err := regionRecords(ctx, name, args, cf); err != nil {
		return nil, err
	}
	var err error
	if len(args.Regions) == 1 {
		err = e.singleRegion(ctx, name, args, cf)
	} else {
		err = e.loadBalanced(ctx, name, args, cf)
	}
	if err != nil {
		return nil, err
	}
	e.APIURL = pulumi.String("https://" + args.APIHostname).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(e, pulumi.Map{
		"apiUrl": e.APIURL, "poolIds": pulumi.ToStringMapOutput(e.Pools), "healthCheckIds": pulumi.ToStringMapOutput(e.HealthChecks),
	}); err != nil {
		return nil, err
	}
	return e, nil
}

// zoneSettings force HTTPS on the zone: redirects, rewrites, strict TLS to
// the origin, the minimum TLS version and HSTS.
func zoneSettings(ctx *pulumi.Context, name string, args *EdgeArgs, cf []pulumi.ResourceOption) error {
	if _, err := cloudflare.NewZoneSettingsOverride(ctx, name+"-zone-settings", &cloudflare.ZoneSettingsOverrideArgs{
		ZoneId: pulumi.String(args.ZoneID),
		Settings: &cloudflare.ZoneSettingsOverrideSettingsArgs{
			AlwaysUseHttps:         pulumi.String("on"),
			AutomaticHttpsRewrites: pulumi.String("on"),
			MinTlsVersion:          pulumi.String(args.MinTLSVersion),
			Tls13:                  pulumi.String("on"),
			Ssl:                    pulumi.String("strict"),
			SecurityHeader: &cloudflare.ZoneSettingsOverrideSettingsSecurityHeaderArgs{
				Enabled:           pulumi.Bool(true),
				MaxAge:            pulumi.Int(args.HSTSMaxAgeSeconds),
				IncludeSubdomains: pulumi.Bool(true),
				Nosniff:           pulumi.Bool(true),
				Preload:           pulumi.Bool(false),
			},
		},
	}, cf...); err != nil {
		return fmt.Errorf("zone settings: %w", err)
	}
	return nil
}

// regionRecords give each region its own proxied name, pointing at its
// tunnel.
func regionRecords(ctx *pulumi.Context, name string, args *EdgeArgs, cf []pulumi.ResourceOption) error {
	for _, r := range args.Regions {
		if _, err := cloudflare.NewRecord(ctx, fmt.Sprintf("%s-%s-dns", name, r.Name), &cloudflare.RecordArgs{
			ZoneId:  pulumi.String(args.ZoneID),
			Name:    pulumi.String(r.Hostname),
			Type:    pulumi.String("CNAME"),
			Content: r.TunnelCNAME,
			Proxied: pulumi.Bool(true),
			Comment: pulumi.String("HelloAgents API, region " + r.Name),
		}, cf...); err != nil {
			return fmt.Errorf("DNS record of region %s: %w", r.Name, err)
		}
	}
	return nil
}

// singleRegion points the API name at the one region's tunnel and watches
// it with a zone health check on the readiness path.
func (e *Edge) singleRegion(ctx *pulumi.Context, name string, args *EdgeArgs, cf []pulumi.ResourceOption) error {
	r := args.Regions[0]
	if _, err := cloudflare.NewRecord(ctx, name+"-api-dns", &cloudflare.RecordArgs{
		ZoneId:  pulumi.String(args.ZoneID),
		Name:    pulumi.String(args.APIHostname),
		Type:    pulumi.String("CNAME"),
		Content: r.TunnelCNAME,
		Proxied: pulumi.Bool(true),
		Comment: pulumi.String("HelloAgents API"),
	}, cf...); err != nil {
		return fmt.Errorf("API DNS record: %w", err)
	}
	hc := args.HealthCheck
	check, err := cloudflare.NewHealthcheck(ctx, name+"-health", &cloudflare.HealthcheckArgs{
		ZoneId:           pulumi.String(args.ZoneID),
		Name:             pulumi.String(sanitize(args.APIHostname) + "-ready"),
		Description:      pulumi.String("HelloAgents API readiness " + health.ReadyPath),
		Address:          pulumi.String(args.APIHostname),
		Type:             pulumi.String("HTTPS"),
		Method:           pulumi.String("GET"),
		Path:             pulumi.String(health.ReadyPath),
		Port:             pulumi.Int(443),
		ExpectedCodes:    pulumi.ToStringArray(hc.ExpectedCodeStrings()),
		Interval:         pulumi.Int(seconds(hc.Interval)),
		Timeout:          pulumi.Int(seconds(hc.Timeout)),
		Retries:          pulumi.Int(hc.Retries),
		ConsecutiveFails: pulumi.Int(hc.Retries),
		FollowRedirects:  pulumi.Bool(false),
		AllowInsecure:    pulumi.Bool(false),
		CheckRegions:     pulumi.ToStringArray(args.CheckRegions),
	}, cf...)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	e.HealthChecks[r.Name] = check.ID().ToStringOutput()
	return nil
}

// loadBalanced creates the readiness monitor, one pool per region and the
// load balancer that fails over across them.
func (e *Edge) loadBalanced(ctx *pulumi.Context, name string, args *EdgeArgs, cf []pulumi.ResourceOption) error {
	monitor, err := cloudflare.NewLoadBalancerMonitor(ctx, name+"-monitor", monitorArgs(args), cf...)
	if err != nil {
		return fmt.Errorf("load balancer monitor: %w", err)
	}
	var pools pulumi.StringArray
	for _, r := range args.Regions {
		pool, err := cloudflare.NewLoadBalancerPool(ctx, fmt.Sprintf("%s-%s-pool", name, r.Name), poolArgs(args, r, monitor), cf...)
		if err != nil {
			return fmt.Errorf("load balancer pool of region %s: %w", r.Name, err)
		}
		pools = append(pools, pool.ID().ToStringOutput())
		e.Pools[r.Name] = pool.ID().ToStringOutput()
	}
	if _, err := cloudflare.NewLoadBalancer(ctx, name+"-lb", &cloudflare.LoadBalancerArgs{
		ZoneId:      pulumi.String(args.ZoneID),
		Name:        pulumi.String(args.APIHostname),
		Description: pulumi.String("HelloAgents API: failover across regions, the database primary's first"),
		// "off" sends traffic to the first healthy pool of defaultPoolIds:
		// failover in the order of args.Regions (the database primary's first).
		SteeringPolicy: pulumi.String("off"),
		DefaultPoolIds: pools,
		FallbackPoolId: pools[len(pools)-1],
		Proxied:        pulumi.Bool(true),
		Enabled:        pulumi.Bool(true),
	}, cf...); err != nil {
		return fmt.Errorf("load balancer: %w", err)
	}
	return nil
}

// monitorArgs probe the readiness path through the API hostname, paced by
// the shared HealthCheck.
func monitorArgs(args *EdgeArgs) *cloudflare.LoadBalancerMonitorArgs {
	hc := args.HealthCheck
	return &cloudflare.LoadBalancerMonitorArgs{
		AccountId:       pulumi.String(args.AccountID),
		Description:     pulumi.String("HelloAgents API readiness " + health.ReadyPath),
		Type:            pulumi.String("https"),
		Method:          pulumi.String("GET"),
		Path:            pulumi.String(health.ReadyPath),
		Port:            pulumi.Int(443),
		ExpectedCodes:   pulumi.String(hc.ExpectedCodesString()),
		Interval:        pulumi.Int(seconds(hc.Interval)),
		Timeout:         pulumi.Int(seconds(hc.Timeout)),
		Retries:         pulumi.Int(hc.Retries),
		ConsecutiveDown: pulumi.Int(hc.Retries),
		ConsecutiveUp:   pulumi.Int(2),
		FollowRedirects: pulumi.Bool(false),
		AllowInsecure:   pulumi.Bool(false),
		Headers: cloudflare.LoadBalancerMonitorHeaderArray{cloudflare.LoadBalancerMonitorHeaderArgs{
			Header: pulumi.String("Host"), Values: pulumi.StringArray{pulumi.String(args.APIHostname)},
		}},
	}
}

// poolArgs make region r's pool: its one origin, the region's tunnel,
// reached with the API hostname as Host.
func poolArgs(args *EdgeArgs, r EdgeRegion, monitor *cloudflare.LoadBalancerMonitor) *cloudflare.LoadBalancerPoolArgs {
	return &cloudflare.LoadBalancerPoolArgs{
		AccountId:      pulumi.String(args.AccountID),
		Name:           pulumi.String(sanitize(args.APIHostname) + "-" + r.Name),
		Description:    pulumi.String("HelloAgents API, region " + r.Name),
		Monitor:        monitor.ID().ToStringOutput(),
		MinimumOrigins: pulumi.Int(1),
		CheckRegions:   pulumi.ToStringArray(args.CheckRegions),
		Origins: cloudflare.LoadBalancerPoolOriginArray{cloudflare.LoadBalancerPoolOriginArgs{
			Name:    pulumi.String(r.Name),
			Address: r.TunnelCNAME,
			Enabled: pulumi.Bool(true),
			Headers: cloudflare.LoadBalancerPoolOriginHeaderArray{cloudflare.LoadBalancerPoolOriginHeaderArgs{
				Header: pulumi.String("Host"), Values: pulumi.StringArray{pulumi.String(args.APIHostname)},
			}},
		}},
	}
}

// sanitize turns a hostname into a Cloudflare object name.
func sanitize(host string) string { return strings.ReplaceAll(host, ".", "-") }
