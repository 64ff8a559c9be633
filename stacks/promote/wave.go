package promote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/operation"
)

// rollout runs the waves recorded in the journal, one per artifact,
// skipping those a previous run of the same promotion already finished.
func (e *engine) rollout(ctx context.Context, tgt target, j *Journal) {
	e.deployed = slices.ContainsFunc(j.Artifacts, func(a JournalArtifact) bool {
		return a.State == stateDeployed || a.State == stateGated
	})
	for i := range j.Artifacts {
		if !e.wave(ctx, tgt, j, i) {
			return
		}
	}
	if err := removeJournal(e.o.Journal); err != nil {
		e.end(ManualAction, fmt.Errorf("every region promoted, but: %w", err))
		return
	}
	e.end(Promoted, nil)
}

// wave moves artifact i of the journal: it writes the new image into the
// target's config, deploys, and gates the artifact's region (every region
// for a stack-wide image). It returns false when the run ended (rolled
// back, interrupted, refused).
func (e *engine) wave(ctx context.Context, tgt target, j *Journal, i int) bool {
	a := j.Artifacts[i]
	rr := RegionReport{Region: a.row(), OldImage: a.Old, NewImage: a.New}
	cur, err := configuredImage(tgt, a)
	if err != nil {
		e.end(ManualAction, fmt.Errorf("%w; journal kept at %s", err, e.o.Journal))
		return false
	}
	if a.State == stateGated && cur == a.New {
		rr.Update, rr.Gate, rr.Detail = ResultSkipped, ResultSkipped, "promoted by the interrupted run"
		e.passWave(ctx, rr)
		return true
	}
	if ctx.Err() != nil {
		e.interrupted(ctx, a.row())
		return false
	}
	start := time.Now()
	out, ok := e.deploy(ctx, j, i, &rr, start)
	if !ok || !e.gateWave(ctx, tgt, j, i, out, &rr, start) {
		return false
	}
	rr.Duration = time.Since(start)
	rr.Seconds = rr.Duration.Seconds()
	e.passWave(ctx, rr)
	if a.Region != "" && e.o.AfterWave != nil {
		e.o.AfterWave(a.Region)
	}
	return true
}

// passWave reports a wave that needs nothing more.
func (e *engine) passWave(ctx context.Context, rr RegionReport) {
	e.rep.Regions = append(e.rep.Regions, rr)
	e.notifyRegion(ctx, rr)
}

// deploy writes artifact i's new image into the config and runs up,
// journaling each step; ok is false when the run ended.
func (e *engine) deploy(ctx context.Context, j *Journal, i int, rr *RegionReport, start time.Time) (map[string]any, bool) {
	o, a := e.o, j.Artifacts[i]
	e.logf("%s: %s = %s", a.what(), a.Key, a.New)
	if err := e.st.SetConfigPath(ctx, o.To, a.Key, a.New); err != nil {
		e.failWave(ctx, j, *rr, start, fmt.Errorf("%s: %w", a.what(), err))
		return nil, false
	}
	if err := j.setState(o.Journal, i, stateConfigured); err != nil {
		e.failWave(ctx, j, *rr, start, err)
		return nil, false
	}
	e.logf("%s: up", a.what())
	upStart := time.Now()
	out, err := e.st.Up(ctx, o.To, o.Policy)
	rr.UpSeconds = time.Since(upStart).Seconds()
	switch {
	case err != nil && ctx.Err() != nil:
		e.interrupted(ctx, a.row())
	case errors.Is(err, operation.ErrLocked) && !e.deployed:
		e.refuseLocked(ctx, a, err)
	case err != nil:
		rr.Update, rr.Gate = ResultFailed, ResultSkipped
		e.failWave(ctx, j, *rr, start, fmt.Errorf("update of %s failed: %w", a.what(), err))
	default:
		e.deployed = true
		rr.Update = ResultSucceeded
		if err := j.setState(o.Journal, i, stateDeployed); err != nil {
			e.failWave(ctx, j, *rr, start, err)
			return nil, false
		}
		return out, true
	}
	return nil, false
}

// gateWave gates artifact i's region, or every journal region after a
// stack-wide image changed, and journals the pass; false when the run
// ended.
func (e *engine) gateWave(ctx context.Context, tgt target, j *Journal, i int, out map[string]any, rr *RegionReport, start time.Time) bool {
	a := j.Artifacts[i]
	names := []string{a.Region}
	if a.Region == "" {
		names = j.regions()
	}
	for _, name := range names {
		e.logf("region %s: gate", name)
		err := e.gate(ctx, out, name, tgt)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			e.interrupted(ctx, a.row())
			return false
		}
		rr.Gate = ResultFailed
		why := fmt.Errorf("gate of region %s failed: %w", name, err)
		if a.Region == "" {
			why = fmt.Errorf("after the update of %s, %w", a.what(), why)
		}
		e.failWave(ctx, j, *rr, start, why)
		return false
	}
	rr.Gate = ResultPassed
	if err := j.setState(e.o.Journal, i, stateGated); err != nil {
		e.failWave(ctx, j, *rr, start, err)
		return false
	}
	return true
}

// gate checks one region through the healthUrls output of the update.
func (e *engine) gate(ctx context.Context, out map[string]any, name string, tgt target) error {
	deployed, err := contract.DecodeOutputs(out)
	if err != nil {
		return fmt.Errorf("stack %q: %w", e.o.To, err)
	}
	url := deployed.HealthURLs[name]
	if url == "" {
		return fmt.Errorf("stack %q output %s has no entry for region %q", e.o.To, contract.OutputHealthURLs, name)
	}
	return e.o.Gates.Region(ctx, url, deployed.FrontendURL, tgt.HealthCheck)
}

// failWave records the failed wave and rolls back.
func (e *engine) failWave(ctx context.Context, j *Journal, rr RegionReport, start time.Time, why error) {
	rr.Detail = why.Error()
	rr.Duration = time.Since(start)
	rr.Seconds = rr.Duration.Seconds()
	if rr.Update == "" {
		rr.Update = ResultFailed
	}
	if rr.Gate == "" {
		rr.Gate = ResultSkipped
	}
	e.rep.Regions = append(e.rep.Regions, rr)
	e.notifyRegion(ctx, rr)
	e.rollback(ctx, j, e.rep.Regions, why)
}
