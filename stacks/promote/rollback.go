package promote

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/helloagents/infra/contract"
)

// rollback restores the previous digest of every journal region whose
// config differs from it, deploys once, and gates the restored regions.
// rows are the report rows of this run; journal regions without a row get
// one (marked skipped when the run never reached them).
func (e *engine) rollback(ctx context.Context, j *Journal, rows []RegionReport, why error) {
	o := e.o
	e.logf("rolling back: %v", why)
	e.notifyRollback(ctx, why)
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
	if b := j.Backup; b != nil {
		if tgt.BackupImage != b.Previous || b.State != statePending {
			restored = append(restored, backupName)
		}
		if tgt.BackupImage != b.Previous {
			e.logf("backup job: restore %s", b.Previous)
			if err := e.st.SetConfigPath(ctx, o.To, contract.KeyBackupImage, b.Previous); err != nil {
				e.end(ManualAction, fmt.Errorf("%w; rollback: %w; journal kept at %s", why, err, o.Journal))
				return
			}
		}
	}
	e.rep.Regions = rollbackRows(j, rows, restored)
	if len(restored) > 0 {
		e.logf("rollback: up")
		out, err := e.st.Up(ctx, o.To, o.Policy)
		if err != nil {
			e.end(ManualAction, fmt.Errorf("%w; the rollback update failed: %w; the config holds the previous digests, run `pulumi up` on %q; journal kept at %s", why, err, o.To, o.Journal))
			return
		}
		for _, name := range restored {
			if name == backupName {
				continue
			}
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
	waves := slices.Clone(j.Regions)
	if j.Backup != nil {
		waves = append(waves, JournalRegion{Name: backupName, Previous: j.Backup.Previous})
	}
	for _, jr := range waves {
		i := slices.IndexFunc(rows, func(r RegionReport) bool { return r.Region == jr.Name })
		var rr RegionReport
		if i >= 0 {
			rr = rows[i]
		} else {
			rr = RegionReport{Region: jr.Name, OldImage: jr.Previous, NewImage: jr.target(j), Update: ResultSkipped, Gate: ResultSkipped}
			if jr.Name == backupName {
				rr.NewImage = j.Backup.Image
			}
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
func (e *engine) interrupted(ctx context.Context, wave string) {
	e.end(ManualAction, fmt.Errorf("interrupted (%w) at wave %s; the journal at %s keeps the previous digests: "+
		"re-run the same promotion to resume it, or run with --abort to roll it back", context.Cause(ctx), wave, e.o.Journal))
}

// refuseLocked undoes the only change made so far (one config value) when
// the first update found the stack locked by someone else. A resumed run
// keeps everything as it found it: the journal and the half-changed config
// are exactly what the next re-run needs.
func (e *engine) refuseLocked(ctx context.Context, jr JournalRegion, lockErr error) {
	if e.rep.Resumed {
		e.end(Refused, fmt.Errorf("target not free, nothing deployed by this run: %w; the journal at %s is kept: re-run when the stack is free", lockErr, e.o.Journal))
		return
	}
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
