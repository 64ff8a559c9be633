package components

import (
	"fmt"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RegistryAuth lets a Docker engine pull private images.
type RegistryAuth struct {
	Server   string
	Username string
	Password pulumi.StringInput
}

// RegionHostArgs describe one region's Docker engine.
type RegionHostArgs struct {
	// Prefix names the Docker objects ("helloagents-production").
	Prefix string
	// Stack is the Pulumi stack and Region the region's name; with a
	// container's role they label every container of the region.
	Stack  string
	Region string
	// DockerHost is unix:///... or ssh://user@host[:port].
	DockerHost string
	// SSHOpts are extra ssh(1) options.
	SSHOpts []string
	// Registry, when set, authenticates pulls of the pinned images.
	Registry *RegistryAuth
}

// RegionHost is a region's Docker engine: the explicit provider every
// container of the region is created through, and the region's two
// networks. The private network is internal (no route out): Postgres sits
// only there. The egress network gives the backend, the backup job and
// cloudflared their way out (Sentry, the AI API, R2, Cloudflare).
type RegionHost struct {
	pulumi.ResourceState

	Provider           *docker.Provider
	PrivateNetworkName pulumi.StringOutput
	EgressNetworkName  pulumi.StringOutput

	// Prefix, Stack and Region are the arguments the host was made with.
	Prefix string
	Stack  string
	Region string
}

// Identity is the label set of a container of this region with role r.
func (h *RegionHost) Identity(r Role) Identity {
	return Identity{Stack: h.Stack, Region: h.Region, Role: r}
}

// NewRegionHost creates the region's provider and networks.
func NewRegionHost(ctx *pulumi.Context, name string, args *RegionHostArgs, opts ...pulumi.ResourceOption) (*RegionHost, error) {
	h := &RegionHost{Prefix: args.Prefix, Stack: args.Stack, Region: args.Region}
	if err := ctx.RegisterComponentResource("helloagents:region:Host", name, h, opts...); err != nil {
		return nil, err
	}
	pargs := &docker.ProviderArgs{Host: pulumi.String(args.DockerHost)}
	if len(args.SSHOpts) > 0 {
		pargs.SshOpts = pulumi.ToStringArray(args.SSHOpts)
	}
	if r := args.Registry; r != nil {
		pargs.RegistryAuth = docker.ProviderRegistryAuthArray{docker.ProviderRegistryAuthArgs{
			Address:  pulumi.String(r.Server),
			Username: pulumi.String(r.Username),
			Password: r.Password,
		}}
	}
	p, err := docker.NewProvider(ctx, name+"-docker", pargs, pulumi.Parent(h))
	if err != nil {
		return nil, fmt.Errorf("docker provider for region %s: %w", args.Region, err)
	}
	h.Provider = p
	in := []pulumi.ResourceOption{pulumi.Parent(h), pulumi.Provider(p)}
	private, err := docker.NewNetwork(ctx, name+"-private", &docker.NetworkArgs{
		Name:     pulumi.Sprintf("%s-private", args.Prefix),
		Driver:   pulumi.String("bridge"),
		Internal: pulumi.Bool(true),
	}, in...)
	if err != nil {
		return nil, fmt.Errorf("private network for region %s: %w", args.Region, err)
	}
	egress, err := docker.NewNetwork(ctx, name+"-egress", &docker.NetworkArgs{
		Name:   pulumi.Sprintf("%s-egress", args.Prefix),
		Driver: pulumi.String("bridge"),
	}, in...)
	if err != nil {
		return nil, fmt.Errorf("egress network for region %s: %w", args.Region, err)
	}
	h.PrivateNetworkName = private.Name
	h.EgressNetworkName = egress.Name
	if err := ctx.RegisterResourceOutputs(h, pulumi.Map{
		"privateNetwork": private.Name,
		"egressNetwork":  egress.Name,
	}); err != nil {
		return nil, err
	}
	return h, nil
}
