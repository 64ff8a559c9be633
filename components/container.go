package components

import (
	"maps"
	"slices"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/alert"
	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/components/canonical"
	"github.com/helloagents/infra/healthcheck"
)

// Limits are the resources and restart bounds of one container.
type Limits struct {
	// MemoryMB is the hard memory limit.
	MemoryMB int
	// CPUs is the CPU limit in (fractional) cores.
	CPUs float64
	// MaxRestarts bounds the on-failure restart policy.
	MaxRestarts int
}

// Identity names the stack, region and role a container belongs to.
type Identity struct {
	Stack  string
	Region string
	Role   labels.ContainerRole
}

// harden applies the platform's container baseline to args: a numeric
// non-root user, a read-only root filesystem with a small private /tmp, every
// Linux capability dropped, no privilege escalation through setuid binaries,
// memory (without swap) and CPU limits, restart on failure with a bounded
// retry count, rotated logs, the identity labels, and the stop of its role
// (StopFor: signal, stop timeout and the provider's grace period). Every
// container of the platform goes through it, so the policy pack and the
// tests check one baseline.
//
// Every value is written in the form the docker provider reads back from the
// engine, so a no-change `pulumi up` is a no-op (see canonical_test.go).
func harden(args *docker.ContainerArgs, user string, l Limits, id Identity) {
	args.User = pulumi.String(user)
	args.ReadOnly = pulumi.Bool(true)
	args.Capabilities = &docker.ContainerCapabilitiesArgs{Drops: pulumi.StringArray{pulumi.String("ALL")}}
	args.SecurityOpts = pulumi.StringArray{pulumi.String("no-new-privileges:true")}
	args.Privileged = pulumi.Bool(false)
	args.Memory = pulumi.Int(l.MemoryMB)
	// Unset, Docker reports a swap limit of twice the memory limit, which the
	// provider reads back as a change; equal to Memory means no swap at all,
	// and so predictable latency.
	args.MemorySwap = pulumi.Int(l.MemoryMB)
	args.Cpus = pulumi.String(canonical.DockerCPUs(l.CPUs))
	args.Restart = pulumi.String("on-failure")
	args.MaxRetryCount = pulumi.Int(l.MaxRestarts)
	if args.Tmpfs == nil {
		args.Tmpfs = pulumi.StringMap{"/tmp": pulumi.String(tmpOptions)}
	}
	StopFor(id.Role).apply(args)
	args.LogDriver = pulumi.String("json-file")
	args.LogOpts = pulumi.StringMap{"max-size": pulumi.String("10m"), "max-file": pulumi.String("3")}
	set, _ := args.Labels.(docker.ContainerLabelArray)
	args.Labels = append(set,
		docker.ContainerLabelArgs{Label: pulumi.String(labels.Stack), Value: pulumi.String(id.Stack)},
		docker.ContainerLabelArgs{Label: pulumi.String(labels.Region), Value: pulumi.String(id.Region)},
		docker.ContainerLabelArgs{Label: pulumi.String(labels.Role), Value: pulumi.String(string(id.Role))},
	)
}

// tmpOptions are the mount options of every container's private /tmp.
const tmpOptions = "rw,noexec,nosuid,size=64m"

// dockerHealthcheck renders the shared settings as a Docker healthcheck
// running test.
func dockerHealthcheck(hc healthcheck.Settings, test []string) *docker.ContainerHealthcheckArgs {
	return &docker.ContainerHealthcheckArgs{
		Tests:       pulumi.ToStringArray(test),
		Interval:    pulumi.String(DockerDuration(hc.Interval)),
		Timeout:     pulumi.String(DockerDuration(hc.Timeout)),
		Retries:     pulumi.Int(hc.Retries),
		StartPeriod: pulumi.String(DockerDuration(hc.StartPeriod)),
	}
}

// env renders plain and secret variables as Docker's KEY=value list. Each
// secret entry is itself a Pulumi secret (encrypted in the state, masked in
// diffs) while plain entries stay readable in previews.
func env(plain map[string]string, secret map[string]pulumi.StringInput) pulumi.StringArray {
	var items pulumi.StringArray
	for _, k := range slices.Sorted(maps.Keys(plain)) {
		items = append(items, pulumi.String(k+"="+plain[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(secret)) {
		items = append(items, pulumi.ToSecret(pulumi.Sprintf("%s=%s", k, secret[k])).(pulumi.StringOutput))
	}
	return items
}

// secretVars copies a component's configured secret variables into the map
// it adds its own to (the caller's map may be shared between regions).
func secretVars(configured map[string]pulumi.StringInput) map[string]pulumi.StringInput {
	vars := make(map[string]pulumi.StringInput, len(configured)+1)
	maps.Copy(vars, configured)
	return vars
}

// alertRegion names region in the alerts of a job that has the webhook.
func alertRegion(plain map[string]string, secret map[string]pulumi.StringInput, region string) {
	if _, ok := secret[alert.EnvURL]; ok {
		plain[alert.EnvRegion] = region
	}
}

// image returns the image a region's containers run: ref itself when the
// region's engine already has it (dev builds on the same engine), otherwise a
// RemoteImage pulled onto the region's engine, which pins the exact ID.
func image(ctx *pulumi.Context, name string, ref pulumi.StringInput, pull bool, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if !pull {
		return ref.ToStringOutput(), nil
	}
	img, err := docker.NewRemoteImage(ctx, name, &docker.RemoteImageArgs{
		Name:        ref,
		KeepLocally: pulumi.Bool(true),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return img.ImageId, nil
}
