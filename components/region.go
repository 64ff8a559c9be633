package components

import (
	"fmt"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
)

// RegistryAuth lets a Docker engine pull private images.
type RegistryAuth struct {
	Server   string
	Username string
	Password pulumi.StringInput
}

// RegionArgs describe one region's Docker engine.
type RegionArgs struct {
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

// Region is one region of the stack: its Docker engine (the provider every
// container of the region is created through), its two networks, and the
// parent of the region's database, backend, proxy and tunnel (see Child).
// The private network is internal (no route out): Postgres sits only
// there. The egress network gives the backend, the backup job and
// cloudflared their way out (Sentry, the AI API, R2, Cloudflare).
type Region struct {
	pulumi.ResourceState

	Provider           *docker.Provider
	PrivateNetworkName pulumi.StringOutput
	EgressNetworkName  pulumi.StringOutput

	// Prefix, Stack and Region are the arguments the region was made with.
	Prefix string
	Stack  string
	Region string
}

// Identity is the label set of a container of this region with role r.
func (h *Region) Identity(r labels.ContainerRole) Identity {
	return Identity{Stack: h.Stack, Region: h.Region, Role: r}
}

// regionType is the Region's type token. It keeps the name it had when the
// component only held the engine and networks: the token is part of every
// URN below it, so renaming it would move all of the region's resources.
const regionType = "helloagents:region:Host"

// NewRegion creates the region's provider and networks; the region's
// components are then created with its Child option.
func NewRegion(ctx *pulumi.Context, name string, args *RegionArgs, opts ...pulumi.ResourceOption) (*Region, error) {
	h := &Region{Prefix: args.Prefix, Stack: args.Stack, Region: args.Region}
	if err := ctx.RegisterComponentResource(regionType, name, h, opts...); err != nil {
		return nil, err
	}
	p, err := docker.NewProvider(ctx, name+"-docker", providerArgs(args), pulumi.Parent(h))
	if err != nil {
		return nil, fmt.Errorf("docker provider for region %s: %w", args.Region, err)
	}
	h.Provider = p
	if err := h.networks(ctx, name, args); err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(h, pulumi.Map{
		"privateNetwork": h.PrivateNetworkName,
		"egressNetwork":  h.EgressNetworkName,
	}); err != nil {
		return nil, err
	}
	return h, nil
}

// providerArgs reach the region's engine, over ssh(1) when DockerHost says
// so, logged in to the registry when one is set.
func providerArgs(args *RegionArgs) *docker.ProviderArgs {
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
	return pargs
}

// networks creates the internal private network and the egress network on
// the region's engine.
func (h *Region) networks(ctx *pulumi.Context, name string, args *RegionArgs) error {
	in := []pulumi.ResourceOption{pulumi.Parent(h), pulumi.Provider(h.Provider)}
	private, err := docker.NewNetwork(ctx, name+"-private", &docker.NetworkArgs{
		Name:     pulumi.Sprintf("%s-private", args.Prefix),
		Driver:   pulumi.String("bridge"),
		Internal: pulumi.Bool(true),
	}, in...)
	if err != nil {
		return fmt.Errorf("private network for region %s: %w", args.Region, err)
	}
	egress, err := docker.NewNetwork(ctx, name+"-egress", &docker.NetworkArgs{
		Name:   pulumi.Sprintf("%s-egress", args.Prefix),
		Driver: pulumi.String("bridge"),
	}, in...)
	if err != nil {
		return fmt.Errorf("egress network for region %s: %w", args.Region, err)
	}
	h.PrivateNetworkName = private.Name
	h.EgressNetworkName = egress.Name
	return nil
}

// Child is the option a component of the region is created with: the
// region is its parent, and the component's own Docker resources inherit
// the region's provider (pulumi.Providers) instead of naming it. The alias
// to the root keeps the URNs the components had before the region parented
// them (they sat at the stack's root), so the move changes nothing in state.
func (h *Region) Child() pulumi.ResourceOption {
	return pulumi.Composite(
		pulumi.Parent(h),
		pulumi.Providers(h.Provider),
		pulumi.Aliases([]pulumi.Alias{{NoParent: pulumi.Bool(true)}}),
	)
}

// requireDocker fails when component c of kind was created without a
// Docker provider to inherit (not through Region.Child): its containers
// would otherwise go to the default provider, the local engine.
func requireDocker(c *pulumi.ResourceState, kind, name string) error {
	if c.GetProvider("docker:index:Container") == nil {
		return fmt.Errorf("%s %q: no docker provider to inherit: create it with its region's Child option", kind, name)
	}
	return nil
}
