package promote_test

import (
	"context"
	"sync"
	"time"

	"github.com/helloagents/infra/canary"
)

// judge is the tests' promote.Judge: a region's canary passes unless the
// region is in verdicts, and its burn is quiet unless it is in burning. It
// records every call, and calls seen (when set) at each judgement so a
// test can look at the stacks while the canary bakes.
type judge struct {
	mu       sync.Mutex
	verdicts map[string]canary.Outcome // region -> outcome other than passed
	burning  map[string]bool
	seen     func(region string)
	canaries []judged
	burns    []string // regions whose burn was read, in order
}

// judged is one Canary call.
type judged struct {
	region, fingerprint string
	bake                canary.Bake
}

// The figures a failing canary reports: 5 % errors against the stable
// replicas' 0.1 %.
var (
	badRatio    = 0.05
	stableRatio = 0.001
)

func (j *judge) Canary(ctx context.Context, _ map[string]any, region, fingerprint string, b canary.Bake) (canary.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return canary.Verdict{}, err
	}
	j.mu.Lock()
	j.canaries = append(j.canaries, judged{region, fingerprint, b})
	outcome, ok := j.verdicts[region]
	seen := j.seen
	j.mu.Unlock()
	if seen != nil {
		seen(region)
	}
	if !ok {
		outcome = canary.Passed
	}
	v := canary.Verdict{Outcome: outcome, Window: b.Bake, WindowSeconds: b.Bake.Seconds(),
		Canary: canary.Figures{Requests: 400, ErrorRatio: &stableRatio},
		Stable: canary.Figures{Requests: 3600, ErrorRatio: &stableRatio}}
	switch outcome {
	case canary.Failed:
		v.Canary.ErrorRatio = &badRatio
		v.Reasons = []string{"error ratio 5.00 % is above the limit 1.00 %"}
	case canary.TooLittleTraffic:
		v.Window, v.WindowSeconds = b.MaxBake, b.MaxBake.Seconds()
		v.Canary = canary.Figures{Requests: 3}
		v.Reasons = []string{"3 requests, fewer than the 200 needed to judge"}
	}
	return v, nil
}

func (j *judge) Burn(ctx context.Context, _ map[string]any, region string, _ time.Duration) (canary.Burn, error) {
	if err := ctx.Err(); err != nil {
		return canary.Burn{}, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.burns = append(j.burns, region)
	if j.burning[region] {
		return canary.Burn{ErrorRatio: &badRatio, Firing: []string{"HelloAgentsErrorBudgetBurnFast"}}, nil
	}
	return canary.Burn{ErrorRatio: &stableRatio}, nil
}

// calls returns the regions of the Canary calls, in order.
func (j *judge) calls() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var regions []string
	for _, c := range j.canaries {
		regions = append(regions, c.region)
	}
	return regions
}
