package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/backend/labels"
	"github.com/helloagents/infra/backend/proxy"
	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/policy/restype"
	"github.com/helloagents/infra/stacks/config"
)

// canaryDigest is the candidate a test region runs as its canary.
var canaryDigest = "ghcr.io/helloagents/backend@sha256:" + strings.Repeat("c", 64)

// withRegionCanary is raw with regions[i].canaryImage set to img.
func withRegionCanary(t *testing.T, raw map[string]string, i int, img string) map[string]string {
	t.Helper()
	var regions []map[string]any
	if err := json.Unmarshal([]byte(raw[config.FullKey(config.KeyRegions)]), &regions); err != nil {
		t.Fatal(err)
	}
	regions[i]["canaryImage"] = img
	text, _ := json.Marshal(regions)
	raw[config.FullKey(config.KeyRegions)] = string(text)
	return raw
}

// runRaw runs the program for stack's raw config under mocks and returns
// the mock and the (awaited) stack outputs.
func runRaw(t *testing.T, stack string, raw map[string]string) (*mocktest.Monitor, map[string]any) {
	t.Helper()
	cfg, err := config.Parse(stack, raw)
	if err != nil {
		t.Fatal(err)
	}
	m := mocktest.New()
	outputs := map[string]any{}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		out, err := Platform(ctx, cfg)
		if err != nil {
			return err
		}
		for name, o := range out.Exports() {
			v, _, _, err := mocktest.Await(o)
			if err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			outputs[name] = v
		}
		return nil
	}, pulumi.WithMocks("helloagents", stack, m))
	if err != nil {
		t.Fatalf("program failed: %v", err)
	}
	return m, outputs
}

// containers returns the mock's containers by resource name.
func containers(m *mocktest.Monitor) map[string]mocktest.Resource {
	out := map[string]mocktest.Resource{}
	for _, r := range m.ByType(restype.DockerContainer) {
		out[r.Name] = r
	}
	return out
}

func keyOf(k string) resource.PropertyKey { return resource.PropertyKey(k) }

// envOf is a container's variables.
func envOf(r mocktest.Resource) []string { return mocktest.Strings(r.Inputs["envs"]) }

// TestProductionCanary: production's committed config weights every proxy
// for a 10 % canary without running one; a region with canaryImage gains
// exactly one container, the canary, and the canaries output lists it.
func TestProductionCanary(t *testing.T) {
	stableW, canaryW, err := proxy.Weights(10, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	weights := []string{fmt.Sprintf("%s=%d", proxy.EnvStableWeight, stableW), fmt.Sprintf("%s=%d", proxy.EnvCanaryWeight, canaryW)}

	base, baseOut := runRaw(t, "production", stackRaw(t, "production"))
	for _, region := range []string{"eu-west", "us-east"} {
		p, ok := containers(base)["proxy-"+region]
		if !ok {
			t.Fatalf("no proxy in %s", region)
		}
		for _, w := range weights {
			if !slices.Contains(envOf(p), w) {
				t.Errorf("%s proxy env %v lacks %s (proxy.Weights(10, 2, 1))", region, envOf(p), w)
			}
		}
	}
	if got := fmt.Sprint(baseOut[contract.OutputCanaries]); got != "map[]" {
		t.Errorf("canaries output %s with no canary running, want an empty map", got)
	}

	m, out := runRaw(t, "production", withRegionCanary(t, stackRaw(t, "production"), 1, canaryDigest))
	before, after := containers(base), containers(m)
	var added []string
	for name := range after {
		if _, ok := before[name]; !ok {
			added = append(added, name)
		}
	}
	if !slices.Equal(added, []string{"backend-us-east-canary-0"}) || len(after) != len(before)+1 {
		t.Fatalf("containers added %v (%d → %d), want exactly backend-us-east-canary-0", added, len(before), len(after))
	}
	// Starting a canary changes no other container, the proxies included.
	for name, r := range before {
		if !r.Inputs.DeepEquals(after[name].Inputs) {
			t.Errorf("%s changed when the canary started", name)
		}
	}
	c := after["backend-us-east-canary-0"]
	stable := after["backend-us-east-0"]
	if got := mocktest.Unwrap(c.Inputs["image"]).StringValue(); !strings.HasPrefix(got, "sha256:") {
		t.Errorf("canary image %q, want the pulled image's id", got)
	}
	if !slices.Contains(envOf(c), "IMAGE_FINGERPRINT=sha256:"+strings.Repeat("c", 64)) {
		t.Errorf("canary env lacks its image fingerprint: %v", envOf(c))
	}
	var aliases []string
	for _, n := range mocktest.Unwrap(c.Inputs["networksAdvanced"]).ArrayValue() {
		if a, ok := mocktest.Unwrap(n).ObjectValue()["aliases"]; ok && mocktest.Unwrap(a).IsArray() {
			aliases = append(aliases, mocktest.Strings(a)...)
		}
	}
	if !slices.Equal(aliases, []string{proxy.CanaryHost}) {
		t.Errorf("canary aliases %v, want only %s", aliases, proxy.CanaryHost)
	}
	labelsOf := func(r mocktest.Resource) map[string]string {
		out := map[string]string{}
		for _, l := range mocktest.Unwrap(r.Inputs["labels"]).ArrayValue() {
			o := mocktest.Unwrap(l).ObjectValue()
			out[mocktest.Unwrap(o["label"]).StringValue()] = mocktest.Unwrap(o["value"]).StringValue()
		}
		return out
	}
	if got := labelsOf(c); got[labels.Canary] != "true" || got[labels.Role] != string(labels.RoleBackend) || got[labels.Region] != "us-east" {
		t.Errorf("canary labels %v", got)
	}
	for _, k := range []string{"user", "readOnly", "capabilities", "securityOpts", "privileged", "destroyGraceSeconds",
		"stopSignal", "stopTimeout", "memory", "memorySwap", "cpus", "healthcheck", "wait", "waitTimeout", "tmpfs", "restart", "maxRetryCount"} {
		if !c.Inputs[keyOf(k)].DeepEquals(stable.Inputs[keyOf(k)]) {
			t.Errorf("canary %s = %v, stable replicas' %v", k, c.Inputs[keyOf(k)], stable.Inputs[keyOf(k)])
		}
	}
	d, err := contract.DecodeOutputs(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]contract.Canary{"us-east": {Image: canaryDigest, Weight: 10, Bake: 10 * time.Minute, MaxBake: 30 * time.Minute}}
	if !maps.Equal(d.Canaries, want) {
		t.Errorf("canaries output %+v, want %+v", d.Canaries, want)
	}
}

// TestNoCanaryConfigNoWeights: dev and staging (no backend.canary) give
// the proxy no weight variables: the image's defaults stand.
func TestNoCanaryConfigNoWeights(t *testing.T) {
	for _, stack := range []string{"dev", "staging"} {
		m, _ := runRaw(t, stack, stackRaw(t, stack))
		for name, r := range containers(m) {
			for _, e := range envOf(r) {
				if strings.HasPrefix(e, proxy.EnvStableWeight+"=") || strings.HasPrefix(e, proxy.EnvCanaryWeight+"=") {
					t.Errorf("%s: %s sets %s without backend.canary", stack, name, e)
				}
			}
		}
	}
}
