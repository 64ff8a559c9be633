package promote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// rollout runs the waves recorded in the journal, skipping regions a
// previous run of the same promotion already finished.
func (e *engine) rollout(ctx context.Context, tgt target, j *Journal) {
	o := e.o
	deployed := slices.ContainsFunc(j.Regions, func(r JournalRegion) bool {
		return r.State == stateDeployed || r.State == stateGated
	})
	for i, jr := range j.Regions {
		rr := RegionReport{Region: jr.Name, OldImage: jr.Previous, NewImage: j.Image}
		cur, err := configuredImage(tgt, jr)
		if err != nil {
			e.end(ManualAction, fmt.Errorf("%w; journal kept at %s", err, o.Journal))
			return
		}
		if jr.State == stateGated && cur == j.Image {
			rr.Update, rr.Gate, rr.Detail = ResultSkipped, ResultSkipped, "promoted by the interrupted run"
			e.rep.Regions = append(e.rep.Regions, rr)
			continue
		}
		if ctx.Err() != nil {
			e.interrupted(ctx, j, i)
			return
		}
		start := time.Now()
		e.logf("region %s: %s = %s", jr.Name, regionKey(jr.Index), j.Image)
		if err := e.st.SetConfigPath(ctx, o.To, regionKey(jr.Index), j.Image); err != nil {
			e.failWave(ctx, j, rr, start, fmt.Errorf("region %s: %w", jr.Name, err))
			return
		}
		if err := j.setState(o.Journal, jr.Name, stateConfigured); err != nil {
			e.failWave(ctx, j, rr, start, err)
			return
		}
		e.logf("region %s: up", jr.Name)
		upStart := time.Now()
		out, err := e.st.Up(ctx, o.To, o.PolicyPacks)
		rr.UpSeconds = time.Since(upStart).Seconds()
		if err != nil {
			if ctx.Err() != nil {
				e.interrupted(ctx, j, i)
				return
			}
			if errors.Is(err, ErrLocked) && !deployed {
				e.refuseLocked(ctx, j, jr, err)
				return
			}
			rr.Update, rr.Gate = ResultFailed, ResultSkipped
			e.failWave(ctx, j, rr, start, fmt.Errorf("update of region %s failed: %w", jr.Name, err))
			return
		}
		deployed = true
		rr.Update = ResultSucceeded
		if err := j.setState(o.Journal, jr.Name, stateDeployed); err != nil {
			e.failWave(ctx, j, rr, start, err)
			return
		}
		e.logf("region %s: gate", jr.Name)
		if err := e.gate(ctx, out, jr.Name, tgt); err != nil {
			if ctx.Err() != nil {
				e.interrupted(ctx, j, i)
				return
			}
			rr.Gate = ResultFailed
			e.failWave(ctx, j, rr, start, fmt.Errorf("gate of region %s failed: %w", jr.Name, err))
			return
		}
		rr.Gate = ResultPassed
		if err := j.setState(o.Journal, jr.Name, stateGated); err != nil {
			e.failWave(ctx, j, rr, start, err)
			return
		}
		rr.Duration = time.Since(start)
		rr.Seconds = rr.Duration.Seconds()
		e.rep.Regions = append(e.rep.Regions, rr)
		if o.AfterWave != nil {
			o.AfterWave(jr.Name)
		}
	}
	if err := removeJournal(o.Journal); err != nil {
		e.end(ManualAction, fmt.Errorf("every region promoted, but: %w", err))
		return
	}
	e.end(Promoted, nil)
}

// gate checks one region through the healthUrls output of the update.
func (e *engine) gate(ctx context.Context, out map[string]any, name string, tgt target) error {
	urls, _ := out["healthUrls"].(map[string]any)
	url, _ := urls[name].(string)
	if url == "" {
		return fmt.Errorf("stack %q output healthUrls has no entry for region %q", e.o.To, name)
	}
	return e.o.Gates.Region(ctx, url, tgt.HealthCheck)
}

// failWave records the failed region and rolls back.
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
	e.rollback(ctx, j, e.rep.Regions, why)
}

// rollback restores the previous digest of every journal region whose
// config differs from it, deploys once, and gates the restored regions.
// rows are the report rows of this run; journal regions without a row get
// one (marked skipped when the run never reached them).
func (e *engine) rollback(ctx context.Context, j *Journal, rows []RegionReport, why error) {
	o := e.o
	e.logf("rolling back: %v", why)
	raw, err := e.st.Config(ctx, o.To)
	var tgt target
	if err == nil {
		tgt, err = readTarget(o.To, raw)
	}
	if err != nil {
		e.end(ManualAction, fmt.Errorf("%w; rollback could not read the target config: %w; journal kept at %s", why, err, o.Journal))
		return
	}
	var restored []string
	for _, jr := range j.Regions {
		cur, err := configuredImage(tgt, jr)
		if err != nil {
			e.end(ManualAction, fmt.Errorf("%w; rollback: %w; journal kept at %s", why, err, o.Journal))
			return
		}
		if cur != jr.Previous || jr.State != statePending {
			restored = append(restored, jr.Name)
		}
		if cur == jr.Previous {
			continue
		}
		e.logf("region %s: restore %s", jr.Name, jr.Previous)
		if err := e.st.SetConfigPath(ctx, o.To, regionKey(jr.Index), jr.Previous); err != nil {
			e.end(ManualAction, fmt.Errorf("%w; rollback: %w; journal kept at %s", why, err, o.Journal))
			return
		}
	}
	e.rep.Regions = rollbackRows(j, rows, restored)
	if len(restored) > 0 {
		e.logf("rollback: up")
		out, err := e.st.Up(ctx, o.To, o.PolicyPacks)
		if err != nil {
			e.end(ManualAction, fmt.Errorf("%w; the rollback update failed: %w; the config holds the previous digests, run `pulumi up` on %q; journal kept at %s", why, err, o.To, o.Journal))
			return
		}
		for _, name := range restored {
			if err := e.gate(ctx, out, name, tgt); err != nil {
				e.end(ManualAction, fmt.Errorf("%w; after the rollback region %s is still unhealthy: %w; journal kept at %s", why, name, err, o.Journal))
				return
			}
		}
	}
	if err := removeJournal(o.Journal); err != nil {
		e.end(ManualAction, fmt.Errorf("%w; rolled back, but: %w", why, err))
		return
	}
	e.end(RolledBack, why)
}

// rollbackRows completes the report after a rollback: restored regions are
// marked, regions never reached appear as skipped.
func rollbackRows(j *Journal, rows []RegionReport, restored []string) []RegionReport {
	var out []RegionReport
	for _, jr := range j.Regions {
		i := slices.IndexFunc(rows, func(r RegionReport) bool { return r.Region == jr.Name })
		var rr RegionReport
		if i >= 0 {
			rr = rows[i]
		} else {
			rr = RegionReport{Region: jr.Name, OldImage: jr.Previous, NewImage: j.Image, Update: ResultSkipped, Gate: ResultSkipped}
		}
		if slices.Contains(restored, jr.Name) {
			rr.RolledBack = true
			rr.Detail = strings.TrimPrefix(rr.Detail+"; restored to "+short(jr.Previous), "; ")
		} else if i < 0 {
			rr.Detail = "not reached, unchanged"
		}
		out = append(out, rr)
	}
	return out
}

// interrupted ends a run whose context was cancelled: it changes nothing
// more (a rollback would be cut short as well) and keeps the journal.
func (e *engine) interrupted(ctx context.Context, j *Journal, wave int) {
	e.end(ManualAction, fmt.Errorf("interrupted (%v) at region %s; the journal at %s keeps the previous digests: "+
		"re-run the same promotion to resume it, or run with --abort to roll it back", context.Cause(ctx), j.Regions[wave].Name, e.o.Journal))
}

// refuseLocked undoes the only change made so far (one config value) when
// the first update found the stack locked by someone else.
func (e *engine) refuseLocked(ctx context.Context, j *Journal, jr JournalRegion, lockErr error) {
	if err := e.st.SetConfigPath(context.WithoutCancel(ctx), e.o.To, regionKey(jr.Index), jr.Previous); err != nil {
		e.end(ManualAction, fmt.Errorf("%w; restoring %s failed: %w; journal kept at %s", lockErr, regionKey(jr.Index), err, e.o.Journal))
		return
	}
	if err := removeJournal(e.o.Journal); err != nil {
		e.end(ManualAction, err)
		return
	}
	e.end(Refused, fmt.Errorf("target not free, nothing deployed: %w", lockErr))
}

// dryRun previews each wave cumulatively (wave n includes waves 1..n-1)
// and restores every config value it set, whatever happens.
func (e *engine) dryRun(ctx context.Context, sel []region, image string) {
	o := e.o
	var set []region
	defer func() {
		for _, r := range set {
			if err := e.st.SetConfigPath(context.WithoutCancel(ctx), o.To, r.imageKey(), r.Image); err != nil {
				e.end(ManualAction, fmt.Errorf("dry run: restoring %s to %s failed: %w", r.imageKey(), r.Image, err))
			}
		}
	}()
	for _, r := range sel {
		start := time.Now()
		rr := RegionReport{Region: r.Name, OldImage: r.Image, NewImage: image, Gate: ResultSkipped}
		if err := e.st.SetConfigPath(ctx, o.To, r.imageKey(), image); err != nil {
			e.end(ManualAction, fmt.Errorf("dry run: %w", err))
			return
		}
		set = append(set, r)
		e.logf("region %s: preview", r.Name)
		diff, err := e.st.Preview(ctx, o.To, o.PolicyPacks)
		rr.Duration = time.Since(start)
		rr.Seconds = rr.Duration.Seconds()
		if err != nil {
			rr.Update, rr.Detail = ResultFailed, err.Error()
			e.rep.Regions = append(e.rep.Regions, rr)
			e.end(Refused, fmt.Errorf("dry run: preview of region %s failed: %w", r.Name, err))
			return
		}
		rr.Update = ResultPreviewed
		rr.Diff = fmt.Sprintf("config %s: %s -> %s\n%s", r.imageKey(), r.Image, image, diff)
		e.rep.Regions = append(e.rep.Regions, rr)
	}
	e.end(Promoted, nil)
}

// configuredImage returns the digest the target's config holds for a
// journal region, checking the region is still where the journal says.
func configuredImage(tgt target, jr JournalRegion) (string, error) {
	i := slices.IndexFunc(tgt.Regions, func(r region) bool { return r.Index == jr.Index })
	if i < 0 || tgt.Regions[i].Name != jr.Name {
		return "", fmt.Errorf("the journal's region %s is no longer %s[%d] in the target config", jr.Name, keyRegions, jr.Index)
	}
	return tgt.Regions[i].Image, nil
}

func regionKey(index int) string { return region{Index: index}.imageKey() }
