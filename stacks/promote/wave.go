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

// errEnded is what a wave returns to the runner when it already ended the
// run (rolled back, interrupted, refused) and recorded how.
var errEnded = errors.New("the run ended")

// waves is the journal as the runner's Progress: a wave is done when its
// artifact is gated and the target's config still holds the new image.
type waves struct {
	e   *engine
	tgt target
	j   *Journal
}

// index returns the journal index of the wave named name.
func (w waves) index(name string) int {
	return slices.IndexFunc(w.j.Artifacts, func(a JournalArtifact) bool { return a.row() == name })
}

// Done implements operation.Progress.
func (w waves) Done(name string) bool {
	a := w.j.Artifacts[w.index(name)]
	cur, err := configuredImage(w.tgt, a)
	return err == nil && a.State == stateGated && cur == a.New
}

// Record implements operation.Progress.
func (w waves) Record(name string) error {
	return w.j.setState(w.e.r, w.index(name), stateGated)
}

// rollout runs the waves recorded in the journal, one per artifact, on the
// runner, which skips those a previous run of the same promotion already
// finished.
func (e *engine) rollout(ctx context.Context, tgt target, j *Journal) {
	e.deployed = slices.ContainsFunc(j.Artifacts, func(a JournalArtifact) bool {
		return a.State == stateCanaryDeployed || a.State == stateCanaryPassed || a.State == stateDeployed || a.State == stateGated
	})
	var steps []operation.Step
	for i, a := range j.Artifacts {
		steps = append(steps, operation.Step{Name: a.row(), Run: func(ctx context.Context) (operation.Result, error) {
			if !e.wave(ctx, &wave{tgt: tgt, j: j, i: i, start: time.Now()}) {
				return operation.Result{}, errEnded
			}
			return operation.Result{}, nil
		}})
	}
	err := e.r.Run(ctx, waves{e: e, tgt: tgt, j: j}, steps, func(s operation.Step, res operation.Result) {
		i := waves{j: j}.index(s.Name)
		a := j.Artifacts[i]
		rr := e.passed
		if res.Resumed {
			rr = RegionReport{Region: a.row(), OldImage: a.Old, NewImage: a.New,
				Update: ResultSkipped, Gate: ResultSkipped, Detail: "promoted by the interrupted run"}
		}
		e.rep.Regions = append(e.rep.Regions, rr)
		e.notifyRegion(ctx, rr)
		if !res.Resumed && a.Region != "" && e.o.AfterWave != nil {
			e.o.AfterWave(a.Region)
		}
	})
	if se, ok := errors.AsType[*operation.StepError](err); ok {
		if !errors.Is(se.Err, errEnded) {
			// The wave passed but its journal record failed.
			i := waves{j: j}.index(se.Step)
			e.failWave(ctx, &wave{j: j, i: i, rr: e.passed, start: time.Now().Add(-e.passed.Duration)}, se.Err)
		}
		return
	}
	if err := e.r.RemoveJournal(); err != nil {
		e.end(ManualAction, fmt.Errorf("every region promoted, but: %w", err))
		return
	}
	e.end(Promoted, nil)
}

// step journals the wave's new state and tells Options.AfterStep.
func (e *engine) step(w *wave, state string) error {
	if err := w.j.setState(e.r, w.i, state); err != nil {
		return err
	}
	if e.o.AfterStep != nil {
		e.o.AfterStep(w.artifact().row(), state)
	}
	return nil
}

// wave is one wave in progress: the arguments its parts share.
type wave struct {
	tgt target
	j   *Journal
	// i is the index of the wave's artifact in the journal.
	i int
	// rr is the wave's report row as it fills in.
	rr    RegionReport
	start time.Time
}

func (w *wave) artifact() JournalArtifact { return w.j.Artifacts[w.i] }

// wave moves one artifact: on a target that runs canaries a region's image
// is first its canary, baked and judged (canary.go); then the new image
// goes into the target's config, is deployed, and the artifact's region
// (every region for a stack-wide image) is gated. It returns false when
// the run ended (rolled back, interrupted, refused); on success e.passed
// is the wave's report row.
func (e *engine) wave(ctx context.Context, w *wave) bool {
	a := w.artifact()
	w.rr = RegionReport{Region: a.row(), OldImage: a.Old, NewImage: a.New}
	if _, err := configuredImage(w.tgt, a); err != nil {
		e.end(ManualAction, fmt.Errorf("%w; journal kept at %s", err, e.o.Journal))
		return false
	}
	if ctx.Err() != nil {
		e.interrupted(ctx, a.row())
		return false
	}
	if e.canaried(w) && !e.canary(ctx, w) {
		return false
	}
	if ctx.Err() != nil {
		e.interrupted(ctx, a.row())
		return false
	}
	out, ok := e.deploy(ctx, w)
	if !ok || !e.gateWave(ctx, w, out) {
		return false
	}
	w.rr.Duration = time.Since(w.start)
	w.rr.Seconds = w.rr.Duration.Seconds()
	e.passed = w.rr
	return true
}

// deploy writes the wave's new image into the config (and takes out the
// region's canary, which the new stable replicas replace) and runs up,
// journaling each step; ok is false when the run ended.
func (e *engine) deploy(ctx context.Context, w *wave) (map[string]any, bool) {
	o, a := e.o, w.artifact()
	e.logf("%s: %s = %s", a.what(), a.Key, a.New)
	if err := e.st.SetConfigPath(ctx, o.To, a.Key, a.New); err != nil {
		e.failWave(ctx, w, fmt.Errorf("%s: %w", a.what(), err))
		return nil, false
	}
	if a.Region != "" {
		if _, err := e.removeCanaries(ctx, a.Region); err != nil {
			e.failWave(ctx, w, fmt.Errorf("%s: %w", a.what(), err))
			return nil, false
		}
	}
	if err := e.step(w, stateConfigured); err != nil {
		e.failWave(ctx, w, err)
		return nil, false
	}
	out, ok := e.up(ctx, w, "up")
	if ok {
		if err := e.step(w, stateDeployed); err != nil {
			e.failWave(ctx, w, err)
			return nil, false
		}
	}
	return out, ok
}

// up runs the wave's update (step names it in the log) and records its
// time and result in the wave's row; ok is false when the run ended.
func (e *engine) up(ctx context.Context, w *wave, step string) (map[string]any, bool) {
	o, a := e.o, w.artifact()
	e.logf("%s: %s", a.what(), step)
	upStart := time.Now()
	out, err := e.st.Up(ctx, o.To, o.Policy)
	w.rr.UpSeconds += time.Since(upStart).Seconds()
	switch {
	case err != nil && ctx.Err() != nil:
		e.interrupted(ctx, a.row())
	case errors.Is(err, operation.ErrLocked) && !e.deployed:
		e.refuseLocked(ctx, a, err)
	case err != nil:
		w.rr.Update, w.rr.Gate = ResultFailed, ResultSkipped
		e.failWave(ctx, w, fmt.Errorf("update of %s failed: %w", a.what(), err))
	default:
		e.deployed = true
		w.rr.Update = ResultSucceeded
		return out, true
	}
	return nil, false
}

// gateWave gates the wave's region, or every journal region after a
// stack-wide image changed, from the outputs of its update; false when the
// run ended. The runner journals the pass.
func (e *engine) gateWave(ctx context.Context, w *wave, out map[string]any) bool {
	a := w.artifact()
	names := []string{a.Region}
	if a.Region == "" {
		names = w.j.regions()
	}
	for _, name := range names {
		e.logf("region %s: gate", name)
		err := e.gate(ctx, out, name, w.tgt)
		if err == nil {
			err = e.burn(ctx, w, out, name)
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			e.interrupted(ctx, a.row())
			return false
		}
		w.rr.Gate = ResultFailed
		why := fmt.Errorf("gate of region %s failed: %w", name, err)
		if a.Region == "" {
			why = fmt.Errorf("after the update of %s, %w", a.what(), why)
		}
		e.failWave(ctx, w, why)
		return false
	}
	w.rr.Gate = ResultPassed
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
func (e *engine) failWave(ctx context.Context, w *wave, why error) {
	rr := w.rr
	rr.Detail = why.Error()
	rr.Duration = time.Since(w.start)
	rr.Seconds = rr.Duration.Seconds()
	if rr.Update == "" {
		rr.Update = ResultFailed
	}
	if rr.Gate == "" {
		rr.Gate = ResultSkipped
	}
	e.rep.Regions = append(e.rep.Regions, rr)
	e.notifyRegion(ctx, rr)
	e.rollback(ctx, w.j, e.rep.Regions, why)
}
