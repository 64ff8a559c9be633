package components

import (
	"maps"
	"slices"
	"strconv"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
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

// harden applies the platform's container baseline to args: a numeric
// non-root user, a read-only root filesystem with a small private /tmp, every
// Linux capability dropped, no privilege escalation through setuid binaries,
// memory and CPU limits, restart on failure with a bounded retry count, and
// rotated logs. Every container of the platform goes through it, so the
// policy pack and the tests check one baseline.
func harden(args *docker.ContainerArgs, user string, l Limits) {
	args.User = pulumi.String(user)
	args.ReadOnly = pulumi.Bool(true)
	args.Capabilities = &docker.ContainerCapabilitiesArgs{Drops: pulumi.StringArray{pulumi.String("ALL")}}
	args.SecurityOpts = pulumi.StringArray{pulumi.String("no-new-privileges:true")}
	args.Privileged = pulumi.Bool(false)
	args.Memory = pulumi.Int(l.MemoryMB)
	args.Cpus = pulumi.String(strconv.FormatFloat(l.CPUs, 'f', -1, 64))
	args.Restart = pulumi.String("on-failure")
	args.MaxRetryCount = pulumi.Int(l.MaxRestarts)
	if args.Tmpfs == nil {
		args.Tmpfs = pulumi.StringMap{"/tmp": pulumi.String("rw,noexec,nosuid,size=64m")}
	}
	args.LogDriver = pulumi.String("json-file")
	args.LogOpts = pulumi.StringMap{"max-size": pulumi.String("10m"), "max-file": pulumi.String("3")}
}

// dockerHealthcheck renders the shared settings as a Docker healthcheck
// running test.
func dockerHealthcheck(hc HealthCheck, test []string) *docker.ContainerHealthcheckArgs {
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
