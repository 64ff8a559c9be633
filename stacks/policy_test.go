package stacks_test

// The policy pack against the real resource graphs: the dev, staging and
// production programs run under pulumi.RunWithMocks with the capturing mock,
// every registered resource becomes an analyzer resource (secrets stay
// secrets), and the whole pack runs over it, in process and over gRPC through
// the built pack binary. Then one property of a real graph is mutated per
// policy and exactly that policy must report it.

import (
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/helloagents/infra/internal/mocktest"
	"github.com/helloagents/infra/internal/stacktest"
	"github.com/helloagents/infra/policy/analyzertest"
	"github.com/helloagents/infra/policy/pack"
	"github.com/helloagents/infra/policy/rules"
	"github.com/helloagents/infra/stacks"
	"github.com/helloagents/infra/stacks/config"
)

const project = "helloagents"

// graph is one stack's captured resources.
type graph struct {
	stack     string
	env       rules.Env
	resources []analyzertest.Resource
}

// capture runs the committed stack's program under mocks.
func capture(t *testing.T, stack string) graph {
	t.Helper()
	return captureWith(t, stack, nil)
}

// captureWith is capture with edit applied to the filled stack file first
// (nil: none).
func captureWith(t *testing.T, stack string, edit func(raw map[string]string)) graph {
	t.Helper()
	raw, err := config.ReadStackFile(filepath.Join("..", "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stacktest.Fill(raw, config.Placeholders())
	if stack != "dev" {
		maps.Copy(raw, stacktest.OperatorSecrets())
	}
	if edit != nil {
		edit(raw)
	}
	cfg, err := config.Parse(stack, raw)
	if err != nil {
		t.Fatal(err)
	}
	m := mocktest.New()
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := stacks.Platform(ctx, cfg)
		return err
	}, pulumi.WithMocks(project, stack, m))
	if err != nil {
		t.Fatalf("%s program: %v", stack, err)
	}
	env, err := rules.DetectEnv(stack, raw[pack.EnvironmentKey])
	if err != nil {
		t.Fatal(err)
	}
	g := graph{stack: stack, env: env}
	for _, r := range m.Resources() {
		g.resources = append(g.resources, analyzertest.Resource{
			Type: r.Type, Name: r.Name, URN: urn(stack, r), Parent: r.Parent,
			ProviderURN: providerURN(r.Provider), Inputs: r.Inputs,
		})
	}
	if len(g.resources) < 10 {
		t.Fatalf("%s: only %d resources captured", stack, len(g.resources))
	}
	return g
}

// urn rebuilds the URN the engine gives a resource: children of the stack
// have no parent type in their URN, children of components do.
func urn(stack string, r mocktest.Resource) string {
	var parentType tokens.Type
	if r.Parent != "" {
		if p, err := resource.ParseURN(r.Parent); err == nil && p.Type() != resource.RootStackType {
			parentType = p.QualifiedType()
		}
	}
	return string(resource.NewURN(tokens.QName(stack), project, parentType, tokens.Type(r.Type), r.Name))
}

// providerURN strips the id from a provider reference ("urn::id").
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i >= 0 {
		return ref[:i]
	}
	return ref
}

// analyzerResources converts the graph the way policyx converts what the
// engine sends (resource.FromResourcePropertyMap keeps secrets as secrets).
func (g graph) analyzerResources() []policyx.AnalyzerResource {
	out := make([]policyx.AnalyzerResource, 0, len(g.resources))
	for _, r := range g.resources {
		out = append(out, policyx.AnalyzerResource{
			Type: r.Type, Name: r.Name, URN: r.URN, Parent: r.Parent,
			Properties: resource.FromResourcePropertyMap(r.Inputs),
			Provider:   policyx.AnalyzerProviderResource{URN: r.ProviderURN},
		})
	}
	return out
}

func evaluate(t *testing.T, g graph, resources []policyx.AnalyzerResource) []pack.Diagnostic {
	t.Helper()
	p, err := pack.New(g.env, pack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := pack.Evaluate(context.Background(), p, resources, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestPolicyRealGraphsPass(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			g := capture(t, stack)
			ds := evaluate(t, g, g.analyzerResources())
			t.Logf("%s: %d resources analyzed, %d findings", stack, len(g.resources), len(ds))
			if m := pack.Mandatory(ds); len(m) > 0 {
				t.Errorf("%s: %d mandatory violations:\n%s", stack, len(m), diagnostics(m))
			}
			for _, d := range ds {
				t.Logf("advisory: %s", d)
			}
		})
	}
}

// TestPolicyCanaryGraphPasses: a production region running a canary
// replica (a hardened, non-root backend container under another alias)
// passes the pack like the stable replicas.
func TestPolicyCanaryGraphPasses(t *testing.T) {
	g := captureWith(t, "production", func(raw map[string]string) {
		key := config.FullKey(config.KeyRegions)
		var regions []map[string]any
		if err := json.Unmarshal([]byte(raw[key]), &regions); err != nil {
			t.Fatal(err)
		}
		regions[0]["canaryImage"] = "ghcr.io/helloagents/backend@sha256:" + strings.Repeat("c", 64)
		text, _ := json.Marshal(regions)
		raw[key] = string(text)
	})
	found := slices.ContainsFunc(g.resources, func(r analyzertest.Resource) bool { return r.Name == "backend-eu-west-canary-0" })
	if !found {
		t.Fatal("no canary container in the graph")
	}
	ds := evaluate(t, g, g.analyzerResources())
	if m := pack.Mandatory(ds); len(m) > 0 {
		t.Errorf("production with a canary: %d mandatory violations:\n%s", len(m), diagnostics(m))
	}
	for _, d := range ds {
		if strings.Contains(d.String(), "canary") {
			t.Errorf("advisory about the canary: %s", d)
		}
	}
}

// TestPolicyRealGraphsOverGRPC drives the built pack binary with the real
// dev, staging and production graphs, as `pulumi preview --policy-pack
// ./policy` would, from the program's directory (infra/).
func TestPolicyRealGraphsOverGRPC(t *testing.T) {
	bin := analyzertest.Build(t)
	for _, stack := range []string{"dev", "staging", "production"} {
		t.Run(stack, func(t *testing.T) {
			g := capture(t, stack)
			srv := analyzertest.Start(t, bin, filepath.Join("..", "infra"))
			res := srv.Run(t, analyzertest.Stack{Name: stack, Project: project, DryRun: true}, nil, g.resources)
			if m := res.Mandatory(); len(m) > 0 {
				t.Errorf("%s over gRPC: %d mandatory violations:\n%s", stack, len(m), analyzertest.Format(m))
			}
			if len(res.Info.GetPolicies()) != len(pack.Specs()) {
				t.Errorf("pack reports %d policies, want %d", len(res.Info.GetPolicies()), len(pack.Specs()))
			}
		})
	}
}

func diagnostics(ds []pack.Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}

// mandatoryPolicies returns the sorted, distinct names of the policies with
// mandatory findings.
func mandatoryPolicies(ds []pack.Diagnostic) []string {
	var names []string
	for _, d := range pack.Mandatory(ds) {
		if !slices.Contains(names, d.Policy) {
			names = append(names, d.Policy)
		}
	}
	slices.Sort(names)
	return names
}
