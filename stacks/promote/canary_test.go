package promote_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/helloagents/infra/canary"
	"github.com/helloagents/infra/stacks/promote"
)

var twoRegions = []string{"eu-west", "us-east"}

// The repository's Pulumi.production.yaml runs a canary in every region:
// each region's new image first runs as its canary (canaryImage beside the
// old image), is judged, and only then replaces the stable replicas; the
// canary is gone once the region is released.
func TestCanaryRunsBeforeEachRegionsRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t, twoRegions...)
	o := e.options()
	j := o.Judge.(*judge)
	type snapshot struct{ images, canaryConfig, canaryDeployed []string }
	var mu sync.Mutex
	during := map[string]snapshot{}
	j.seen = func(region string) {
		cfg, dep := e.canaryImages(t)
		mu.Lock()
		during[region] = snapshot{e.configImages(t), cfg, dep}
		mu.Unlock()
	}
	rep := promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.Promoted {
		t.Fatalf("outcome %s (%s), want promoted", rep.Outcome, rep.Reason)
	}
	if got := j.calls(); !slices.Equal(got, twoRegions) {
		t.Fatalf("canaries judged in %q, want one per region in order %q", got, twoRegions)
	}
	want := map[string]snapshot{
		// While eu-west's canary bakes, eu-west's stable replicas still run
		// the old image; only the canary runs the new one.
		"eu-west": {[]string{oldImage, oldImage}, []string{newImage, ""}, []string{newImage, ""}},
		// eu-west is released (its canary gone) before us-east's canary.
		"us-east": {[]string{newImage, oldImage}, []string{"", newImage}, []string{"", newImage}},
	}
	for region, w := range want {
		got := during[region]
		if !same(got.images, w.images) || !same(got.canaryConfig, w.canaryConfig) || !same(got.canaryDeployed, w.canaryDeployed) {
			t.Errorf("while %s's canary baked: images %q, canary config %q, canaries deployed %q; want %q, %q, %q",
				region, got.images, got.canaryConfig, got.canaryDeployed, w.images, w.canaryConfig, w.canaryDeployed)
		}
	}
	for _, c := range j.canaries {
		if c.fingerprint != strings.TrimPrefix(newImage, "ghcr.io/helloagents/backend@") {
			t.Errorf("canary of %s judged on fingerprint %q, want the new image's digest", c.region, c.fingerprint)
		}
		if c.bake.Bake <= 0 || c.bake.MaxBake < c.bake.Bake || c.bake.Limits.MinRequests <= 0 {
			t.Errorf("canary of %s judged with bake %+v: the stack's backend.canary did not reach the judge", c.region, c.bake)
		}
	}
	// Each region after its release, then every region again after the
	// backup job's wave (a stack-wide image is gated in every region).
	if want := append(slices.Clone(twoRegions), twoRegions...); !slices.Equal(j.burns, want) {
		t.Errorf("SLO burn read for %q, want %q", j.burns, want)
	}
	cfg, dep := e.canaryImages(t)
	if !same(cfg, []string{"", ""}) || !same(dep, []string{"", ""}) {
		t.Errorf("after the promotion canaries in config %q, deployed %q; want none", cfg, dep)
	}
	if got := e.deployedImages(t); !same(got, []string{newImage, newImage}) {
		t.Errorf("deployed %q, want the new image everywhere", got)
	}
	for _, r := range rep.Regions[:2] {
		if r.Canary == nil || r.Canary.Verdict.Outcome != canary.Passed || r.Canary.Weight <= 0 || r.Burn == nil {
			t.Errorf("report row %s: canary %+v, burn %+v; want a passed canary with its weight and the burn read", r.Region, r.Canary, r.Burn)
		}
	}
}

// A canary that fails, or cannot be judged for lack of traffic, ends the
// promotion: its region's canary is removed and its stable replicas were
// never touched; the regions released before it go back; the report and
// the reason carry the figures that failed.
func TestFailedCanaryRollsBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		outcome canary.Outcome
		reason  string
	}{
		{canary.Failed, "error ratio 5.00 % is above the limit 1.00 %"},
		{canary.TooLittleTraffic, "was not judged (too little traffic)"},
	} {
		t.Run(string(tc.outcome), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, twoRegions...)
			o := e.options()
			j := o.Judge.(*judge)
			j.verdicts = map[string]canary.Outcome{"us-east": tc.outcome}
			before := e.regions[1].probes(tagOf(oldImage))
			rep := promote.Run(t.Context(), e.stacks, o)
			if rep.Outcome != promote.RolledBack || !strings.Contains(rep.Reason, tc.reason) {
				t.Fatalf("outcome %s (%s), want rolled back because %q", rep.Outcome, rep.Reason, tc.reason)
			}
			old := []string{oldImage, oldImage}
			if got := e.configImages(t); !same(got, old) {
				t.Errorf("config images %q, want the old ones", got)
			}
			if got := e.deployedImages(t); !same(got, old) {
				t.Errorf("deployed images %q, want the old ones", got)
			}
			cfg, dep := e.canaryImages(t)
			if !same(cfg, []string{"", ""}) || !same(dep, []string{"", ""}) {
				t.Errorf("after the rollback canaries in config %q, deployed %q; want none", cfg, dep)
			}
			if e.regions[1].probes(tagOf(newImage)) != 0 {
				t.Error("us-east's stable replicas were gated on the new image: its release ran after a failed canary")
			}
			if e.regions[1].probes(tagOf(oldImage)) == before {
				t.Error("us-east was not gated after its canary was removed")
			}
			row := rep.Regions[1]
			if row.Canary == nil || row.Canary.Verdict.Outcome != tc.outcome || row.Gate != promote.ResultFailed || !row.RolledBack {
				t.Errorf("us-east row %+v (canary %+v), want its failed canary, gate failed, rolled back", row, row.Canary)
			}
			if journalExists(t, o) {
				t.Error("journal left behind after the rollback")
			}
		})
	}
}

// The gate after a region's release also reads the region's SLO burn: a
// burn-rate alert that fired during the bake fails it like a failed health
// gate.
func TestBurnAlertFailsTheGate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, twoRegions...)
	o := e.options()
	o.Judge.(*judge).burning = map[string]bool{"eu-west": true}
	rep := promote.Run(t.Context(), e.stacks, o)
	if rep.Outcome != promote.RolledBack || !strings.Contains(rep.Reason, "HelloAgentsErrorBudgetBurnFast fired") {
		t.Fatalf("outcome %s (%s), want rolled back on the burn alert", rep.Outcome, rep.Reason)
	}
	if got := e.deployedImages(t); !same(got, []string{oldImage, oldImage}) {
		t.Errorf("deployed %q, want the old images", got)
	}
	if r := rep.Regions[0]; r.Burn == nil || len(r.Burn.Firing) != 1 || r.Gate != promote.ResultFailed {
		t.Errorf("eu-west row %+v (burn %+v), want the firing alert and a failed gate", r, r.Burn)
	}
}

// A run killed after any step of a canaried wave leaves a journal from
// which --abort restores the old image and removes the canary, and from
// which a re-run resumes to a promoted target with no canary left.
func TestCanaryStepsInterruptedResumeOrAbort(t *testing.T) {
	t.Parallel()
	for _, state := range []string{"canary configured", "canary deployed", "canary passed", "configured", "deployed"} {
		t.Run(state, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, twoRegions...)
			interrupt := func() {
				t.Helper()
				o := e.options()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				o.AfterStep = func(row, s string) {
					if row == "us-east" && s == state {
						cancel()
					}
				}
				rep := promote.Run(ctx, e.stacks, o)
				if rep.Outcome != promote.ManualAction || !strings.Contains(rep.Reason, "interrupted") || !journalExists(t, o) {
					t.Fatalf("run interrupted at %s: outcome %s (%s), want manual action with the journal kept", state, rep.Outcome, rep.Reason)
				}
			}

			interrupt()
			o := e.options()
			o.Abort = true
			if rep := promote.Run(t.Context(), e.stacks, o); rep.Outcome != promote.RolledBack {
				t.Fatalf("--abort after %s: outcome %s (%s), want rolled back", state, rep.Outcome, rep.Reason)
			}
			old := []string{oldImage, oldImage}
			cfg, dep := e.canaryImages(t)
			if got := e.deployedImages(t); !same(got, old) || !same(cfg, []string{"", ""}) || !same(dep, []string{"", ""}) {
				t.Errorf("after --abort at %s: deployed %q, canaries in config %q, deployed %q; want the old images and no canary", state, got, cfg, dep)
			}

			interrupt()
			o = e.options()
			rep := promote.Run(t.Context(), e.stacks, o)
			if rep.Outcome != promote.Promoted || !rep.Resumed {
				t.Fatalf("re-run after %s: outcome %s (resumed %v, %s), want a resumed promotion", state, rep.Outcome, rep.Resumed, rep.Reason)
			}
			cfg, dep = e.canaryImages(t)
			if got := e.deployedImages(t); !same(got, []string{newImage, newImage}) || !same(cfg, []string{"", ""}) || !same(dep, []string{"", ""}) {
				t.Errorf("after resuming at %s: deployed %q, canaries in config %q, deployed %q; want the new image and no canary", state, got, cfg, dep)
			}
			judged := o.Judge.(*judge).calls()
			if wantJudged := !strings.HasPrefix(state, "canary passed") && strings.HasPrefix(state, "canary"); wantJudged != slices.Contains(judged, "us-east") {
				t.Errorf("resumed at %s: us-east's canary judged again = %v, want %v (a passed canary is not judged twice)", state, !wantJudged, wantJudged)
			}
		})
	}
}
