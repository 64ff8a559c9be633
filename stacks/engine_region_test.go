package stacks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/helloagents/infra/stacks"
	"github.com/helloagents/infra/stacks/config"
)

// TestRegionComponentKeepsURNs deploys each stack's program (dev: one
// region, no tunnel; production: two regions, every component) in the shape
// it had before the Region component parented the regions' components
// (stacks.PlatformFlat: database, backend, proxy and tunnel at the stack's
// root), then the program as it is over the same state. The aliases carry
// every resource over: nothing is created, deleted, replaced or updated, and
// no provider is called; afterwards each of those components sits under its
// region.
func TestRegionComponentKeepsURNs(t *testing.T) {
	for _, tc := range []struct {
		stack string
		cfg   func(t *testing.T) config.Config
		moved int // region components: 3 or 4 per region
	}{
		{"dev", devConfig, 3},
		{"production", func(t *testing.T) config.Config { return productionConfig(t, "eu-west") }, 8},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			dir := engineEnv(t, "region-test")
			sim := &dockerSim{echoProvider: echoProvider{version: "4.10.0"}, source: "generation 1"}
			cf := &dockerSim{echoProvider: echoProvider{version: "5.49.1"}}
			random := &dockerSim{echoProvider: echoProvider{version: "4.18.3"}}
			t.Setenv("PULUMI_DEBUG_PROVIDERS", fmt.Sprintf("docker:%d,cloudflare:%d,random:%d", serve(t, sim), serve(t, cf), serve(t, random)))
			cfg := tc.cfg(t)
			platform := stacks.PlatformFlat
			up, export := inlineStack(t, tc.stack, dir, func(ctx *pulumi.Context) error {
				_, err := platform(ctx, cfg)
				return err
			})
			up()
			sim.take()
			cf.take()
			random.take()
			before := export()

			platform = stacks.Platform
			for op, n := range *up().Summary.ResourceChanges {
				if op != "same" && n != 0 {
					t.Errorf("moving the components under their regions: %d %s", n, op)
				}
			}
			if calls := append(append(sim.take(), cf.take()...), random.take()...); len(calls) != 0 {
				t.Errorf("moving the components under their regions called the providers: %v", calls)
			}
			after := export()
			if len(after) != len(before) {
				t.Errorf("%d resources before the move, %d after", len(before), len(after))
			}
			checkRegionParents(t, before, after, tc.moved)
		})
	}
}

// devConfig is the committed dev stack.
func devConfig(t *testing.T) config.Config {
	t.Helper()
	raw, err := config.ReadStackFile(filepath.Join("..", "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("dev", raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// inlineStack creates stack name running program in a private backend and
// returns its up and its state (each resource's URN to its parent's).
func inlineStack(t *testing.T, name, dir string, program pulumi.RunFunc) (up func() auto.UpResult, export func() map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	stack, err := auto.UpsertStackInlineSource(ctx, name, project, program, auto.WorkDir(filepath.Join(dir, "work")))
	if err != nil {
		t.Fatalf("create stack: %v", err)
	}
	up = func() auto.UpResult {
		t.Helper()
		var out lockedBuilder
		res, err := stack.Up(ctx, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out))
		if err != nil {
			t.Fatalf("up: %v\n%s", err, out.String())
		}
		return res
	}
	return up, func() map[string]string { return parents(ctx, t, stack) }
}

// checkRegionParents checks the region components sat at the root before
// and sit under their Region after.
func checkRegionParents(t *testing.T, before, after map[string]string, want int) {
	t.Helper()
	moved := 0
	for urn, parent := range after {
		kind := urn[strings.LastIndex(urn, "$")+1 : strings.LastIndex(urn, "::")]
		switch kind {
		case "helloagents:database:Database", "helloagents:backend:BackendService", "helloagents:backend:Proxy", "helloagents:edge:Tunnel":
		default:
			continue
		}
		moved++
		if !strings.Contains(parent, "::helloagents:region:Host::region-") {
			t.Errorf("%s: parent %q, not its region", urn, parent)
		}
	}
	if moved != want {
		t.Errorf("%d region components after the move, want %d", moved, want)
	}
	for urn, parent := range before {
		if strings.Contains(parent, "helloagents:region:Host") && !strings.Contains(urn, "helloagents:region:Host$") {
			t.Errorf("before the move %s already sat under %s", urn, parent)
		}
	}
}

// parents maps each resource of the stack's state to its parent's URN.
func parents(ctx context.Context, t *testing.T, stack auto.Stack) map[string]string {
	t.Helper()
	dep, err := stack.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Resources []struct{ URN, Parent string }
	}
	if err := json.Unmarshal(dep.Deployment, &state); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range state.Resources {
		out[r.URN] = r.Parent
	}
	return out
}
