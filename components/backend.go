package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/proxy"
	"github.com/helloagents/infra/backend/server"
	"github.com/helloagents/infra/healthcheck"
)

// BackendAlias is the backend replicas' shared name on the region's egress
// network: the region's proxy resolves it to every replica, old and new.
const BackendAlias = "backend"

// BackendServiceArgs configure the API replicas of one region.
type BackendServiceArgs struct {
	// Host is the region's engine, networks and identity.
	Host *Region
	// Image is the reference to run; Pull fetches it onto the region's
	// engine first (pushed or digest-pinned images).
	Image    pulumi.StringInput
	Pull     bool
	Replicas int
	// Port is the container port. No replica publishes a host port: traffic
	// arrives through the region's Proxy.
	Port   int
	User   string
	Limits Limits
	// HealthCheck paces the Docker healthcheck. HealthcheckCommand is its
	// test without the path: the backend's liveness path (health.LivePath)
	// is appended (`/server healthcheck /health/live`), so a database
	// outage does not mark every replica unhealthy.
	HealthCheck        healthcheck.Settings
	HealthcheckCommand []string
	// MetricsPort, when non-zero, turns on the replicas' Prometheus
	// listener (METRICS_PORT, BackendMetricsPort), on the networks only.
	MetricsPort int
	// Env are plain variables; SecretEnv are secret ones (DATABASE_URL,
	// AI_API_KEY, SENTRY_DSN).
	Env       map[string]string
	SecretEnv map[string]pulumi.StringInput
	// Canary, when set, runs one canary replica beside the stable ones.
	Canary *CanaryArgs
}

// CanaryArgs configure a region's canary: one replica of a candidate image
// beside the stable replicas, set up exactly like them (hardening,
// variables, secrets, healthcheck, limits) except for its image, its
// network alias (proxy.CanaryHost instead of BackendAlias, so the proxy
// weights it as a canary) and the label labels.Canary.
type CanaryArgs struct {
	// Image is the candidate's digest-pinned reference; Pull fetches it onto
	// the region's engine first.
	Image pulumi.StringInput
	Pull  bool
}

// BackendService runs the backend replicas of one region: hardened
// containers (see harden) with a healthcheck on the liveness path, on the
// private network (to reach Postgres) and the egress network (where the
// proxy finds them).
//
// A release never deletes a serving replica before its successor is
// healthy. Each replica's Docker name carries a fingerprint of everything
// that would replace it (image, variables, limits, healthcheck), so the new
// replica can exist beside the old one; the replacement is create-before-
// delete, and creation returns only once Docker reports the new container
// healthy (wait). The engine deletes the old replicas at the end of the
// update, by which time the proxy already sends traffic to the new ones.
type BackendService struct {
	pulumi.ResourceState

	// InternalURL is how the region's proxy reaches the replicas.
	InternalURL string
	// Containers are the replicas' Docker names.
	Containers pulumi.StringArrayOutput
	// Fingerprint names the current generation of replicas (10 hex digits).
	Fingerprint pulumi.StringOutput
	// CanaryContainer is the canary replica's Docker name ("" when none
	// runs).
	CanaryContainer pulumi.StringOutput
}

// NewBackendService creates the region's replicas.
func NewBackendService(ctx *pulumi.Context, name string, args *BackendServiceArgs, opts ...pulumi.ResourceOption) (*BackendService, error) {
	s := &BackendService{InternalURL: fmt.Sprintf("http://%s:%d", BackendAlias, args.Port)}
	if err := ctx.RegisterComponentResource("helloagents:backend:BackendService", name, s, opts...); err != nil {
		return nil, err
	}
	if err := requireDocker(&s.ResourceState, "backend", name); err != nil {
		return nil, err
	}
	in := []pulumi.ResourceOption{pulumi.Parent(s)}
	img, err := image(ctx, name+"-image", args.Image, args.Pull, in...)
	if err != nil {
		return nil, err
	}
	s.Fingerprint = replicaFingerprint(img, args)
	var names pulumi.StringArray
	for i := range args.Replicas {
		ctr, err := docker.NewContainer(ctx, fmt.Sprintf("%s-%d", name, i), replicaArgs(args, img, s.Fingerprint, i),
			append(in, pulumi.DeleteBeforeReplace(false))...)
		if err != nil {
			return nil, fmt.Errorf("backend replica %d in region %s: %w", i, args.Host.Region, err)
		}
		names = append(names, ctr.Name)
	}
	s.Containers = names.ToStringArrayOutput()
	s.CanaryContainer = pulumi.String("").ToStringOutput()
	outputs := pulumi.Map{
		"containers":  s.Containers,
		"fingerprint": s.Fingerprint,
		"internalUrl": pulumi.String(s.InternalURL),
	}
	if args.Canary != nil {
		if s.CanaryContainer, err = canary(ctx, name, args, in); err != nil {
			return nil, err
		}
		outputs["canaryContainer"] = s.CanaryContainer
	}
	if err := ctx.RegisterResourceOutputs(s, outputs); err != nil {
		return nil, err
	}
	return s, nil
}

// canary creates the region's canary replica (resource <name>-canary-0)
// and returns its Docker name. Like a stable replica, it is created under
// a new name beside the one it replaces and is healthy before the old one
// goes.
func canary(ctx *pulumi.Context, name string, args *BackendServiceArgs, in []pulumi.ResourceOption) (pulumi.StringOutput, error) {
	img, err := image(ctx, name+"-canary-image", args.Canary.Image, args.Canary.Pull, in...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	ctr, err := docker.NewContainer(ctx, name+"-canary-0", canaryArgs(args, img, replicaFingerprint(img, args)),
		append(in, pulumi.DeleteBeforeReplace(false))...)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("backend canary in region %s: %w", args.Host.Region, err)
	}
	return ctr.Name, nil
}

// replicaArgs is replica i of the current generation.
func replicaArgs(args *BackendServiceArgs, img, fingerprint pulumi.StringOutput, i int) *docker.ContainerArgs {
	return replica(args, img, args.Image, pulumi.Sprintf("%s-backend-%s-%d", args.Host.Prefix, fingerprint, i), BackendAlias, i)
}

// canaryArgs is the canary replica: a replica of the canary's image, named
// by the fingerprint over its inputs, under proxy.CanaryHost and labelled
// labels.Canary.
func canaryArgs(args *BackendServiceArgs, img, fingerprint pulumi.StringOutput) *docker.ContainerArgs {
	return replica(args, img, args.Canary.Image, pulumi.Sprintf("%s-backend-canary-%s-0", args.Host.Prefix, fingerprint), proxy.CanaryHost, 0,
		docker.ContainerLabelArgs{Label: pulumi.String(labels.Canary), Value: pulumi.String("true")})
}

// replica is one backend container: img (whose reference ref names the
// digest in IMAGE_FINGERPRINT) under name, answering to alias on the
// egress network, replica index i, with extra labels.
func replica(args *BackendServiceArgs, img pulumi.StringOutput, ref pulumi.StringInput, name pulumi.StringOutput, alias string, i int,
	extra ...docker.ContainerLabelArgs) *docker.ContainerArgs {
	c := &docker.ContainerArgs{
		Name:        name,
		Image:       img,
		Envs:        append(env(backendEnv(args), args.SecretEnv), imageFingerprintEnv(ref)),
		Healthcheck: dockerHealthcheck(args.HealthCheck, backendHealthTest(args)),
		// Creation returns once Docker reports the replica healthy; a replica
		// that never gets there fails the update before any old one goes.
		Wait:        pulumi.Bool(true),
		WaitTimeout: pulumi.Int(WaitSeconds(args.HealthCheck)),
		NetworksAdvanced: docker.ContainerNetworksAdvancedArray{
			docker.ContainerNetworksAdvancedArgs{Name: args.Host.PrivateNetworkName},
			docker.ContainerNetworksAdvancedArgs{Name: args.Host.EgressNetworkName, Aliases: pulumi.ToStringArray([]string{alias})},
		},
		Labels: docker.ContainerLabelArray{
			docker.ContainerLabelArgs{Label: pulumi.String(labels.Replica), Value: pulumi.Sprintf("%d", i)},
		},
	}
	for _, l := range extra {
		c.Labels = append(c.Labels.(docker.ContainerLabelArray), l)
	}
	harden(c, args.User, args.Limits, args.Host.Identity(labels.RoleBackend))
	return c
}

func backendEnv(args *BackendServiceArgs) map[string]string {
	plain := StopFor(labels.RoleBackend).withDrainEnv(map[string]string{server.EnvHost: "0.0.0.0", server.EnvPort: fmt.Sprint(args.Port)})
	if args.MetricsPort != 0 {
		plain[server.EnvMetricsPort] = fmt.Sprint(args.MetricsPort)
	}
	maps.Copy(plain, args.Env)
	return plain
}

// imageFingerprintEnv is IMAGE_FINGERPRINT, the fingerprint label of the
// replicas' helloagents_build_info: the digest of the image they run, as
// the stack names it (sha256:<hex>: the repo digest of a pushed or pinned
// image, the local image ID in dev), so a series says which image served it
// and the value is the one infra/status and the promotion journal show. It
// changes with the image, which the replica fingerprint already covers.
func imageFingerprintEnv(ref pulumi.StringInput) pulumi.StringOutput {
	return ref.ToStringOutput().ApplyT(func(r string) string {
		return server.EnvImageFingerprint + "=" + server.ImageFingerprint(r)
	}).(pulumi.StringOutput)
}

func backendHealthTest(args *BackendServiceArgs) []string {
	return append(slices.Clone(args.HealthcheckCommand), health.LivePath)
}

// replicaFingerprint digests every input that would make the docker provider
// replace a replica: the image, the variables (secret ones included, since
// rotating a key replaces the containers too) and the container settings.
// The digest is not secret: it is a truncated SHA-256 and reveals nothing
// of the values in it.
func replicaFingerprint(img pulumi.StringOutput, args *BackendServiceArgs) pulumi.StringOutput {
	spec := fmt.Sprintf("%q %v %d %q %+v %s %q", args.Host.Prefix, backendEnv(args), args.Port, args.User,
		args.Limits, healthSpec(args.HealthCheck), backendHealthTest(args))
	parts := pulumi.Array{img}
	keys := slices.Sorted(maps.Keys(args.SecretEnv))
	for _, k := range keys {
		parts = append(parts, args.SecretEnv[k])
	}
	digest := parts.ToArrayOutput().ApplyT(func(vals []any) string {
		strs := []string{strings.Join(keys, ",")}
		for _, v := range vals {
			strs = append(strs, fmt.Sprint(v))
		}
		return fingerprint(spec, strs...)
	}).(pulumi.StringOutput)
	return pulumi.Unsecret(digest).(pulumi.StringOutput)
}

// healthSpec renders hc as the fingerprint has always seen it, in the form
// of the settings type that also held the probed paths, so that moving the
// paths into the backend's contract renames no running replica.
func healthSpec(hc healthcheck.Settings) string {
	return fmt.Sprintf("{Path:%s LivenessPath:%s Interval:%s Timeout:%s Retries:%d StartPeriod:%s ExpectedCodes:%v}",
		health.ReadyPath, health.LivePath, hc.Interval, hc.Timeout, hc.Retries, hc.StartPeriod, hc.ExpectedCodes)
}

// fingerprint is 10 hex digits of SHA-256 over spec and values, each value
// length-prefixed so no two lists collide.
func fingerprint(spec string, values ...string) string {
	h := sha256.New()
	fmt.Fprintln(h, spec)
	for _, v := range values {
		fmt.Fprintf(h, "%d:%s\n", len(v), v)
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}
