package components

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// BackendAlias is the backend replicas' shared name on the region's networks;
// Docker's DNS spreads cloudflared's connections over the replicas.
const BackendAlias = "backend"

// BackendServiceArgs configure the API replicas of one region.
type BackendServiceArgs struct {
	// Prefix names the Docker objects ("helloagents-production").
	Prefix string
	Region string
	Host   *RegionHost
	// Image is the reference to run; Pull fetches it onto the region's
	// engine first (pushed or digest-pinned images).
	Image    pulumi.StringInput
	Pull     bool
	Replicas int
	// Port is the container port; HostPort, when non-zero, publishes
	// replica i on 127.0.0.1:HostPort+i (dev only; elsewhere traffic arrives
	// through the tunnel and no host port is published).
	Port     int
	HostPort int
	User     string
	Limits   Limits
	// HealthCheck paces the Docker healthcheck. HealthcheckCommand is its
	// test without the path: HealthCheck.LivenessPath is appended, so the
	// probe follows the shared settings (`/server healthcheck /health/live`).
	HealthCheck        HealthCheck
	HealthcheckCommand []string
	// Env are plain variables; SecretEnv are secret ones (DATABASE_URL,
	// AI_API_KEY, SENTRY_DSN).
	Env       map[string]string
	SecretEnv map[string]pulumi.StringInput
}

// BackendService runs the backend replicas of one region: hardened
// containers (see harden) with a healthcheck on the liveness path, on the
// private network (to reach Postgres) and the egress network.
type BackendService struct {
	pulumi.ResourceState

	// InternalURL is how other containers of the region reach the API.
	InternalURL string
	// Containers are the replicas' Docker names.
	Containers pulumi.StringArrayOutput
}

// NewBackendService creates the region's replicas.
func NewBackendService(ctx *pulumi.Context, name string, args *BackendServiceArgs, opts ...pulumi.ResourceOption) (*BackendService, error) {
	s := &BackendService{InternalURL: fmt.Sprintf("http://%s:%d", BackendAlias, args.Port)}
	if err := ctx.RegisterComponentResource("helloagents:backend:BackendService", name, s, opts...); err != nil {
		return nil, err
	}
	in := []pulumi.ResourceOption{pulumi.Parent(s), pulumi.Provider(args.Host.Provider)}
	img, err := image(ctx, name+"-image", args.Image, args.Pull, in...)
	if err != nil {
		return nil, err
	}
	plain := map[string]string{"HOST": "0.0.0.0", "PORT": fmt.Sprint(args.Port)}
	for k, v := range args.Env {
		plain[k] = v
	}
	var names pulumi.StringArray
	for i := range args.Replicas {
		c := &docker.ContainerArgs{
			Name:        pulumi.Sprintf("%s-backend-%d", args.Prefix, i),
			Image:       img,
			Envs:        env(plain, args.SecretEnv),
			Healthcheck: dockerHealthcheck(args.HealthCheck, append(slices.Clone(args.HealthcheckCommand), args.HealthCheck.LivenessPath)),
			NetworksAdvanced: docker.ContainerNetworksAdvancedArray{
				docker.ContainerNetworksAdvancedArgs{Name: args.Host.PrivateNetworkName, Aliases: pulumi.ToStringArray([]string{BackendAlias})},
				docker.ContainerNetworksAdvancedArgs{Name: args.Host.EgressNetworkName, Aliases: pulumi.ToStringArray([]string{BackendAlias})},
			},
			Labels: docker.ContainerLabelArray{
				docker.ContainerLabelArgs{Label: pulumi.String("helloagents.region"), Value: pulumi.String(args.Region)},
				docker.ContainerLabelArgs{Label: pulumi.String("helloagents.replica"), Value: pulumi.Sprintf("%d", i)},
			},
			// Let in-flight requests drain on SIGTERM.
			StopSignal:  pulumi.String("SIGTERM"),
			StopTimeout: pulumi.Int(30),
		}
		if args.HostPort != 0 {
			c.Ports = docker.ContainerPortArray{docker.ContainerPortArgs{
				Internal: pulumi.Int(args.Port),
				External: pulumi.Int(args.HostPort + i),
				Ip:       pulumi.String("127.0.0.1"),
				Protocol: pulumi.String("tcp"),
			}}
		}
		harden(c, args.User, args.Limits)
		ctr, err := docker.NewContainer(ctx, fmt.Sprintf("%s-%d", name, i), c, in...)
		if err != nil {
			return nil, fmt.Errorf("backend replica %d in region %s: %w", i, args.Region, err)
		}
		names = append(names, ctr.Name)
	}
	s.Containers = names.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"containers":  s.Containers,
		"internalUrl": pulumi.String(s.InternalURL),
	}); err != nil {
		return nil, err
	}
	return s, nil
}
