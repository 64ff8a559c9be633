package components

import (
	"fmt"

	"github.com/pulumi/pulumi-cloudflare/sdk/v5/go/cloudflare"
	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/healthcheck"
)

// TunnelArgs configure one region's Cloudflare Tunnel.
type TunnelArgs struct {
	// Prefix names the Docker objects and the tunnel ("helloagents-production").
	Prefix    string
	Region    string
	AccountID string
	// Secret is the tunnel secret (32+ random bytes, base64) from Secrets.
	Secret pulumi.StringInput
	// Hostnames are routed to Service (the public API hostname and the
	// region's own hostname).
	Hostnames []string
	// Service is where the tunnel sends requests inside the region: the
	// region's proxy, e.g. http://proxy:8000.
	Service string
	// Routes send further hostnames to services of their own (the
	// region's Prometheus and Alertmanager UIs, which MonitoringAccess
	// puts behind Cloudflare Access).
	Routes []TunnelRoute
	// Image is the cloudflared image.
	Image string
	// Host is the region's engine; Cloudflare is the explicit provider.
	Host       *Region
	Cloudflare *cloudflare.Provider
	Limits     Limits
	// HealthCheck paces cloudflared's own healthcheck.
	HealthCheck healthcheck.Settings
}

// TunnelRoute is one hostname of a tunnel and the service inside the
// region it reaches.
type TunnelRoute struct {
	Hostname string
	Service  string
}

// Tunnel is a Cloudflare Tunnel plus the cloudflared container that holds it
// open from inside the region: traffic reaches the backend without any host
// port published or firewall opening.
type Tunnel struct {
	pulumi.ResourceState

	// ID is the tunnel id; CNAME is <id>.cfargotunnel.com, the target of DNS
	// records and load-balancer origins.
	ID    pulumi.StringOutput
	CNAME pulumi.StringOutput
}

// cloudflaredMetrics is where cloudflared serves /ready inside its container.
const cloudflaredMetrics = "127.0.0.1:20241"

// NewTunnel creates the tunnel, its ingress rules and its connector.
func NewTunnel(ctx *pulumi.Context, name string, args *TunnelArgs, opts ...pulumi.ResourceOption) (*Tunnel, error) {
	t := &Tunnel{}
	if err := ctx.RegisterComponentResource("helloagents:edge:Tunnel", name, t, opts...); err != nil {
		return nil, err
	}
	if err := requireDocker(&t.ResourceState, "tunnel", name); err != nil {
		return nil, err
	}
	tunnel, err := routedTunnel(ctx, name, args, pulumi.Parent(t), pulumi.Provider(args.Cloudflare))
	if err != nil {
		return nil, err
	}
	if err := cloudflared(ctx, name, args, tunnel.TunnelToken, pulumi.Parent(t)); err != nil {
		return nil, err
	}
	t.ID = tunnel.ID().ToStringOutput()
	t.CNAME = tunnel.Cname
	if err := ctx.RegisterResourceOutputs(t, pulumi.Map{"id": t.ID, "cname": t.CNAME}); err != nil {
		return nil, err
	}
	return t, nil
}

// routedTunnel creates the tunnel and its ingress rules: args.Hostnames go
// to args.Service, each of args.Routes to its own, anything else gets a 404.
func routedTunnel(ctx *pulumi.Context, name string, args *TunnelArgs, cf ...pulumi.ResourceOption) (*cloudflare.ZeroTrustTunnelCloudflared, error) {
	tunnel, err := cloudflare.NewZeroTrustTunnelCloudflared(ctx, name, &cloudflare.ZeroTrustTunnelCloudflaredArgs{
		AccountId: pulumi.String(args.AccountID),
		Name:      pulumi.Sprintf("%s-%s", args.Prefix, args.Region),
		Secret:    args.Secret,
		// Ingress rules are managed here, not in a local config file.
		ConfigSrc: pulumi.String("cloudflare"),
	}, cf...)
	if err != nil {
		return nil, fmt.Errorf("tunnel for region %s: %w", args.Region, err)
	}
	var rules cloudflare.ZeroTrustTunnelCloudflaredConfigConfigIngressRuleArray
	for _, h := range args.Hostnames {
		rules = append(rules, cloudflare.ZeroTrustTunnelCloudflaredConfigConfigIngressRuleArgs{
			Hostname: pulumi.String(h),
			Service:  pulumi.String(args.Service),
		})
	}
	for _, r := range args.Routes {
		rules = append(rules, cloudflare.ZeroTrustTunnelCloudflaredConfigConfigIngressRuleArgs{
			Hostname: pulumi.String(r.Hostname),
			Service:  pulumi.String(r.Service),
		})
	}
	// The last rule must match everything: refuse unknown hostnames.
	rules = append(rules, cloudflare.ZeroTrustTunnelCloudflaredConfigConfigIngressRuleArgs{
		Service: pulumi.String("http_status:404"),
	})
	if _, err := cloudflare.NewZeroTrustTunnelCloudflaredConfig(ctx, name+"-config", &cloudflare.ZeroTrustTunnelCloudflaredConfigArgs{
		AccountId: pulumi.String(args.AccountID),
		TunnelId:  tunnel.ID().ToStringOutput(),
		Config:    cloudflare.ZeroTrustTunnelCloudflaredConfigConfigArgs{IngressRules: rules},
	}, cf...); err != nil {
		return nil, fmt.Errorf("tunnel config for region %s: %w", args.Region, err)
	}
	return tunnel, nil
}

// cloudflared creates the connector container that holds the tunnel open
// from the region's egress network.
func cloudflared(ctx *pulumi.Context, name string, args *TunnelArgs, token pulumi.StringInput, in ...pulumi.ResourceOption) error {
	img, err := image(ctx, name+"-cloudflared-image", pulumi.String(args.Image), true, in...)
	if err != nil {
		return err
	}
	c := &docker.ContainerArgs{
		Name:    pulumi.Sprintf("%s-cloudflared", args.Prefix),
		Image:   img,
		Command: pulumi.ToStringArray([]string{"tunnel", "--no-autoupdate", "--metrics", cloudflaredMetrics, "run"}),
		// The token travels as an environment variable, never on the
		// command line where `ps` and `docker inspect` would show it.
		Envs: env(StopFor(labels.RoleTunnel).Env, map[string]pulumi.StringInput{"TUNNEL_TOKEN": token}),
		Healthcheck: dockerHealthcheck(args.HealthCheck, []string{
			"CMD", "cloudflared", "tunnel", "--metrics", cloudflaredMetrics, "ready",
		}),
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{
			docker.ContainerNetworksAdvancedArgs{Name: args.Host.EgressNetworkName},
		},
	}
	// 65532 is the nonroot user of the distroless cloudflared image.
	harden(c, "65532:65532", args.Limits, args.Host.Identity(labels.RoleTunnel))
	if _, err := docker.NewContainer(ctx, name+"-cloudflared", c, in...); err != nil {
		return fmt.Errorf("cloudflared for region %s: %w", args.Region, err)
	}
	return nil
}
