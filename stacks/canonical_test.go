package stacks

// TestIdempotent*: every value the program hands the docker provider is in
// the form the provider reads back from the engine, so `pulumi preview` on a
// deployed stack with no change shows no change. The reference is
// terraform-provider-docker's read functions (resource_docker_container_
// funcs.go resourceDockerContainerRead, resource_docker_network_funcs.go,
// resource_docker_volume.go), which pulumi-docker wraps:
//
//   - cpus: nanoInt64ToDecimalString(HostConfig.NanoCPUs) ("1.0", "0.5");
//   - memory, memory_swap, shm_size: bytes / 1 MiB; an unset memory_swap
//     reads back as Docker's default, twice the memory limit;
//   - healthcheck interval/timeout/start_period: time.Duration.String();
//   - image: the engine's image ID when the input is "sha256:...", else the
//     configured reference;
//   - capabilities: as the engine stores them ("ALL" or "CAP_*");
//   - env and labels are not read back (no drift possible).

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/helloagents/infra/components/canonical"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
)

// readBackCPUs is what the provider reads for an input cpus value: Docker
// parses it as NanoCPUs (docker/cli opts.ParseCPUs) and the provider renders
// the integer back as a decimal string.
func readBackCPUs(t *testing.T, in string) string {
	t.Helper()
	r, ok := new(big.Rat).SetString(in)
	if !ok {
		t.Errorf("cpus %q does not parse as Docker's NanoCPUs", in)
		return ""
	}
	nano := r.Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		t.Errorf("cpus %q is finer than a nanoCPU", in)
		return ""
	}
	f, _ := new(big.Rat).SetFrac(nano.Num(), big.NewInt(1e9)).Float64()
	return canonical.DockerCPUs(f)
}

func TestIdempotentCanonicalForms(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			m, _, _ := runStack(t, stack)
			for _, c := range m.ByType(restype.DockerContainer) {
				checkContainerCanonical(t, c)
			}
			for _, n := range m.ByType(restype.DockerNetwork) {
				if d := mocktest.Unwrap(n.Inputs["driver"]); d.IsString() && d.StringValue() != "bridge" {
					t.Errorf("%s: driver %q; the engine reports the driver it ran", n.Name, d.StringValue())
				}
				if _, ok := n.Inputs["ipamDriver"]; ok && mocktest.Unwrap(n.Inputs["ipamDriver"]).StringValue() != "default" {
					t.Errorf("%s: ipamDriver %v", n.Name, n.Inputs["ipamDriver"])
				}
			}
			for _, v := range m.ByType(restype.DockerVolume) {
				if d, ok := v.Inputs["driver"]; ok && mocktest.Unwrap(d).StringValue() != "local" {
					t.Errorf("%s: driver %v", v.Name, d)
				}
			}
			for _, img := range m.ByType(restype.DockerRemoteImage) {
				if name := mocktest.Unwrap(img.Inputs["name"]).StringValue(); !strings.Contains(name, "@sha256:") && !strings.Contains(name, ":") {
					t.Errorf("%s: %q pins no tag or digest", img.Name, name)
				}
			}
		})
	}
}

func checkContainerCanonical(t *testing.T, c mocktest.Resource) {
	t.Helper()
	in := c.Inputs
	if cpus := mocktest.Unwrap(in["cpus"]); cpus.IsString() {
		if back := readBackCPUs(t, cpus.StringValue()); back != cpus.StringValue() {
			t.Errorf("%s: cpus %q reads back as %q: a replacement on every up", c.Name, cpus.StringValue(), back)
		}
	}
	mem, swap := mocktest.Unwrap(in["memory"]), mocktest.Unwrap(in["memorySwap"])
	switch {
	case mem.IsNumber() && !swap.IsNumber():
		t.Errorf("%s: memory without memorySwap reads back as twice the memory: a diff on every up", c.Name)
	case mem.IsNumber() && swap.NumberValue() != mem.NumberValue():
		t.Errorf("%s: memorySwap %v, want %v (no swap)", c.Name, swap.NumberValue(), mem.NumberValue())
	}
	if hc := mocktest.Unwrap(in["healthcheck"]); hc.IsObject() {
		for _, k := range []resource.PropertyKey{"interval", "timeout", "startPeriod", "startInterval"} {
			v := mocktest.Unwrap(hc.ObjectValue()[k])
			if !v.IsString() {
				continue
			}
			d, err := time.ParseDuration(v.StringValue())
			if err != nil || d.String() != v.StringValue() {
				t.Errorf("%s: healthcheck %s %q reads back as %q", c.Name, k, v.StringValue(), d.String())
			}
		}
	}
	if img := mocktest.Unwrap(in["image"]); img.IsString() && !strings.HasPrefix(img.StringValue(), "sha256:") {
		t.Errorf("%s: image %q: run the pulled or built image ID (sha256:...), which the provider compares as is", c.Name, img.StringValue())
	}
	for _, d := range mocktest.Strings(obj(in["capabilities"])["drops"]) {
		if d != "ALL" && !strings.HasPrefix(d, "CAP_") {
			t.Errorf("%s: capability %q; the engine stores CAP_%s", c.Name, d, d)
		}
	}
}
