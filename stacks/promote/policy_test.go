package promote_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helloagents/infra/policy/analyzertest"
	"github.com/helloagents/infra/stacks/operation"
	"github.com/helloagents/infra/stacks/promote"
)

// TestPromoteUnderThePolicyPack promotes with the repository's policy pack
// and its example config on every update: the engine must start the pack
// in each wave (and the rollback-free run must pass it). The pack is given
// as a built binary beside its PulumiPolicy.yaml, because the directory
// form needs the pulumi-language-go host, which cannot be downloaded here.
func TestPromoteUnderThePolicyPack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "eu-west", "us-east")
	bin := analyzertest.Build(t)
	spec, err := os.ReadFile(filepath.Join(analyzertest.PackDir(), "PulumiPolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(bin), "PulumiPolicy.yaml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	o := e.options()
	o.Policy = operation.Policy{
		Packs:   []string{bin},
		Configs: []string{filepath.Join(analyzertest.PackDir(), "policy-config.example.json")},
	}
	rep := promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.Promoted {
		t.Fatalf("outcome %s (%s), want promoted under the policy pack", rep.Outcome, rep.Reason)
	}
	if got := e.deployedImages(t); !same(got, []string{newImage, newImage}) {
		t.Errorf("deployed images %q, want the new image everywhere", got)
	}

	// A pack that cannot load would fail the rollback as well: the
	// preflight preview refuses the promotion before any change.
	o.Policy = operation.Policy{Packs: []string{filepath.Join(t.TempDir(), "no-such-pack")}}
	e.setSource(t, digest("c0ffeec0ffee"), newBackup)
	before := e.updates(t)
	rep = promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.Refused || !strings.Contains(rep.Reason, "preflight") {
		t.Fatalf("missing pack: outcome %s (%s), want refused by the preflight", rep.Outcome, rep.Reason)
	}
	if got := e.configImages(t); !same(got, []string{newImage, newImage}) {
		t.Errorf("config images %q changed by a refused promotion", got)
	}
	if got := e.updates(t); got != before {
		t.Errorf("%d updates, was %d", got, before)
	}
}
