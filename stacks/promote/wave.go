package promote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/helloagents/infra/contract"
)

// rollout runs the waves recorded in the journal, skipping regions a
// previous run of the same promotion already finished.
func (e *engine) rollout(ctx context.Context, tgt target, j *Journal) {
	o := e.o
	deployed := slices.ContainsFunc(j.Regions, func(r JournalRegion) bool {
		return r.State == stateDeployed || r.State == stateGated
	})
	for _, jr := range j.Regions {
		image := jr.target(j)
		rr := RegionReport{Region: jr.Name, OldImage: jr.Previous, NewImage: image}
		cur, err := configuredImage(tgt, jr)
		if err != nil {
			e.end(ManualAction, fmt.Errorf("%w; journal kept at %s", err, o.Journal))
			return
		}
		if jr.State == stateGated && cur == image {
			rr.Update, rr.Gate, rr.Detail = ResultSkipped, ResultSkipped, "promoted by the interrupted run"
			e.rep.Regions = append(e.rep.Regions, rr)
			e.notifyRegion(ctx, rr)
			continue
		}
		if ctx.Err() != nil {
			e.interrupted(ctx, jr.Name)
			return
		}
		start := time.Now()
		e.logf("region %s: %s = %s", jr.Name, regionKey(jr.Index), image)
		if err := e.st.SetConfigPath(ctx, o.To, regionKey(jr.Index), image); err != nil {
			e.failWave(ctx, j, rr, start, fmt.Errorf("region %s: %w", jr.Name, err))
			return
		}
		if err := j.setState(o.Journal, jr.Name, stateConfigured); err != nil {
			e.failWave(ctx, j, rr, start, err)
			return
		}
		e.logf("region %s: up", jr.Name)
		upStart := time.Now()
		out, err := e.st.Up(ctx, o.To, o.Policy)
		rr.UpSeconds = time.Since(upStart).Seconds()
		if err != nil {
			if ctx.Err() != nil {
				e.interrupted(ctx, jr.Name)
				return
			}
			if errors.Is(err, ErrLocked) && !deployed {
				e.refuseLocked(ctx, jr, err)
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
				e.interrupted(ctx, jr.Name)
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
		e.notifyRegion(ctx, rr)
		if o.AfterWave != nil {
			o.AfterWave(jr.Name)
		}
	}
	if j.Backup != nil && !e.backupWave(ctx, tgt, j) {
		return
	}
	if err := removeJournal(o.Journal); err != nil {
		e.end(ManualAction, fmt.Errorf("every region promoted, but: %w", err))
		return
	}
	e.end(Promoted, nil)
}

// backupName is the report row of the backup-image wave.
const backupName = "(backup job)"

// backupWave promotes the backup job's image after every region passed:
// one update changes it in all regions, after which every region is gated
// again. It returns false when the run ended (rolled back, interrupted).
func (e *engine) backupWave(ctx context.Context, tgt target, j *Journal) bool {
	o, b := e.o, j.Backup
	rr := RegionReport{Region: backupName, OldImage: b.Previous, NewImage: b.Image}
	if b.State == stateGated && tgt.BackupImage == b.Image {
		rr.Update, rr.Gate, rr.Detail = ResultSkipped, ResultSkipped, "promoted by the interrupted run"
		e.rep.Regions = append(e.rep.Regions, rr)
		e.notifyRegion(ctx, rr)
		return true
	}
	if ctx.Err() != nil {
		e.interrupted(ctx, backupName)
		return false
	}
	start := time.Now()
	e.logf("backup job: %s = %s", contract.KeyBackupImage, b.Image)
	if err := e.st.SetConfigPath(ctx, o.To, contract.KeyBackupImage, b.Image); err != nil {
		e.failWave(ctx, j, rr, start, err)
		return false
	}
	b.State = stateConfigured
	if err := j.save(o.Journal); err != nil {
		e.failWave(ctx, j, rr, start, err)
		return false
	}
	upStart := time.Now()
	out, err := e.st.Up(ctx, o.To, o.Policy)
	rr.UpSeconds = time.Since(upStart).Seconds()
	if err != nil {
		if ctx.Err() != nil {
			e.interrupted(ctx, backupName)
			return false
		}
		rr.Update, rr.Gate = ResultFailed, ResultSkipped
		e.failWave(ctx, j, rr, start, fmt.Errorf("update of the backup job image failed: %w", err))
		return false
	}
	rr.Update = ResultSucceeded
	for _, jr := range j.Regions {
		if err := e.gate(ctx, out, jr.Name, tgt); err != nil {
			if ctx.Err() != nil {
				e.interrupted(ctx, backupName)
				return false
			}
			rr.Gate = ResultFailed
			e.failWave(ctx, j, rr, start, fmt.Errorf("after the backup job update, gate of region %s failed: %w", jr.Name, err))
			return false
		}
	}
	rr.Gate = ResultPassed
	b.State = stateGated
	if err := j.save(o.Journal); err != nil {
		e.failWave(ctx, j, rr, start, err)
		return false
	}
	rr.Duration = time.Since(start)
	rr.Seconds = rr.Duration.Seconds()
	e.rep.Regions = append(e.rep.Regions, rr)
	e.notifyRegion(ctx, rr)
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
	e.notifyRegion(ctx, rr)
	e.rollback(ctx, j, e.rep.Regions, why)
}

// configuredImage returns the digest the target's config holds for a
// journal region, checking the region is still where the journal says.
func configuredImage(tgt target, jr JournalRegion) (string, error) {
	i := slices.IndexFunc(tgt.Regions, func(r region) bool { return r.Index == jr.Index })
	if i < 0 || tgt.Regions[i].Name != jr.Name {
		return "", fmt.Errorf("the journal's region %s is no longer %s[%d] in the target config", jr.Name, contract.KeyRegions, jr.Index)
	}
	return tgt.Regions[i].Image, nil
}

func regionKey(index int) string { return region{Index: index}.imageKey() }
