package components

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/proxy"
)

// ProxyAlias is the proxy's name on the region's egress network: cloudflared
// sends every request to it.
const ProxyAlias = "proxy"

// ProxyArgs configure the region's reverse proxy.
type ProxyArgs struct {
	// Host is the region's engine, networks and identity.
	Host *Region
	// Image is the proxy image (backend/proxy.Dockerfile); Pull fetches it
	// onto the region's engine first.
	Image pulumi.StringInput
	Pull  bool
	// Port is the proxy's container port; BackendPort the replicas' port.
	Port        int
	BackendPort int
	// HostPort, when non-zero, publishes the proxy on 127.0.0.1:HostPort
	// (dev only; elsewhere cloudflared reaches it on the egress network).
	HostPort int
	// MaxReplicas is the most replicas a region runs; a release runs two
	// generations side by side, so the proxy tracks twice as many.
	MaxReplicas int
	// MetricsPort, when non-zero, is the port of HAProxy's Prometheus
	// exporter (PROXY_METRICS_PORT, ProxyMetricsPort) on the container's
	// networks.
	MetricsPort int
	Limits      Limits
	// CanaryWeight is the percent of the region's requests its canary
	// replica gets (0: the stack runs no canaries, the image's weights
	// stand). Replicas is the region's stable replica count the weights
	// are computed for (proxy.Weights). The weights follow the stack's
	// configuration, not whether a canary runs, so starting or ending a
	// canary never replaces the proxy.
	CanaryWeight int
	Replicas     int
}

// Proxy is the region's health-aware entry point (HAProxy, see
// backend/proxy): it resolves the replicas through Docker's DNS alias,
// sends requests only to replicas whose readiness probe answers, and
// retries a request that meets a stopping replica on another one. Releases
// drop no request because of it.
type Proxy struct {
	pulumi.ResourceState

	// URL is how cloudflared reaches the proxy inside the region.
	URL string
}

// proxyUser is the image's non-root user.
const proxyUser = "65532:65532"

// NewProxy creates the proxy container. Behind a tunnel, a new proxy (a new
// image or setting) is created under a new name beside the old one, both
// answering to the alias, and the old one is deleted afterwards, soft-
// stopping (SIGUSR1: it finishes what is in flight). In dev the proxy holds
// the fixed host port, so there a change to it is delete-before-create: a
// second or two without an entry point on the laptop.
func NewProxy(ctx *pulumi.Context, name string, args *ProxyArgs, opts ...pulumi.ResourceOption) (*Proxy, error) {
	p := &Proxy{URL: fmt.Sprintf("http://%s:%d", ProxyAlias, args.Port)}
	if err := ctx.RegisterComponentResource("helloagents:backend:Proxy", name, p, opts...); err != nil {
		return nil, err
	}
	if err := requireDocker(&p.ResourceState, "proxy", name); err != nil {
		return nil, err
	}
	in := []pulumi.ResourceOption{pulumi.Parent(p)}
	img, err := image(ctx, name+"-image", args.Image, args.Pull, in...)
	if err != nil {
		return nil, err
	}
	c, err := proxyArgs(args, img)
	if err != nil {
		return nil, fmt.Errorf("proxy for region %s: %w", args.Host.Region, err)
	}
	fixed := args.HostPort != 0
	harden(c, proxyUser, args.Limits, args.Host.Identity(labels.RoleProxy))
	if _, err := docker.NewContainer(ctx, name, c, append(in, pulumi.DeleteBeforeReplace(fixed))...); err != nil {
		return nil, fmt.Errorf("proxy for region %s: %w", args.Host.Region, err)
	}
	if err := ctx.RegisterResourceOutputs(p, pulumi.Map{"url": pulumi.String(p.URL)}); err != nil {
		return nil, err
	}
	return p, nil
}

// proxyArgs is the proxy container before hardening: on the egress network
// under ProxyAlias, published on the host in dev.
func proxyArgs(args *ProxyArgs, img pulumi.StringOutput) (*docker.ContainerArgs, error) {
	vars, err := proxyEnv(args)
	if err != nil {
		return nil, err
	}
	c := &docker.ContainerArgs{
		Name:  proxyName(args, vars, img),
		Image: img,
		Envs:  env(vars, nil),
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{
			docker.ContainerNetworksAdvancedArgs{Name: args.Host.EgressNetworkName, Aliases: pulumi.ToStringArray([]string{ProxyAlias})},
		},
	}
	if args.HostPort != 0 {
		c.Ports = docker.ContainerPortArray{docker.ContainerPortArgs{
			Internal: pulumi.Int(args.Port),
			External: pulumi.Int(args.HostPort),
			Ip:       pulumi.String("127.0.0.1"),
			Protocol: pulumi.String("tcp"),
		}}
	}
	return c, nil
}

// proxyEnv tells HAProxy where it listens, which replicas it tracks and how
// it asks them whether they are ready, and (with canaries) how it weights
// the canary against the stable replicas.
func proxyEnv(args *ProxyArgs) (map[string]string, error) {
	vars := map[string]string{
		proxy.EnvPort:        strconv.Itoa(args.Port),
		proxy.EnvBackendHost: BackendAlias,
		proxy.EnvBackendPort: strconv.Itoa(args.BackendPort),
		proxy.EnvHealthPath:  health.ReadyPath,
		proxy.EnvMaxServers:  strconv.Itoa(2 * args.MaxReplicas),
	}
	if args.MetricsPort != 0 {
		vars[proxy.EnvMetricsPort] = strconv.Itoa(args.MetricsPort)
	}
	if args.CanaryWeight != 0 {
		stable, canary, err := proxy.Weights(args.CanaryWeight, args.Replicas, 1)
		if err != nil {
			return nil, err
		}
		vars[proxy.EnvStableWeight] = strconv.Itoa(stable)
		vars[proxy.EnvCanaryWeight] = strconv.Itoa(canary)
	}
	return StopFor(labels.RoleProxy).withDrainEnv(vars), nil
}

// proxyName is the container's Docker name. Behind a tunnel it carries a
// fingerprint of the image and settings, so a changed proxy is created
// beside the old one; with a fixed host port it is fixed too, as only one
// container can hold the port.
func proxyName(args *ProxyArgs, vars map[string]string, img pulumi.StringOutput) pulumi.StringOutput {
	if args.HostPort != 0 {
		return pulumi.Sprintf("%s-proxy", args.Host.Prefix)
	}
	spec := fmt.Sprintf("%v %+v", vars, args.Limits)
	return pulumi.Sprintf("%s-proxy-%s", args.Host.Prefix, img.ApplyT(func(ref string) string {
		return fingerprint(spec, ref)
	}).(pulumi.StringOutput))
}
