package promote

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// rollback restores the old image of every journal artifact whose config
// differs from it, removes every running canary (the stable replicas of
// its region were never changed), deploys once, and gates the restored
// regions. rows are
// the report rows of this run; journal artifacts without a row get one
// (marked skipped when the run never reached them).
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
	restored, err := e.restore(ctx, tgt, j)
	if err == nil {
		var removed []string
		removed, err = e.removeCanaries(ctx, "")
		for _, name := range removed {
			if !slices.Contains(restored, name) {
				restored = append(restored, name)
			}
		}
	}
	if err != nil {
		e.end(ManualAction, fmt.Errorf("%w; rollback: %w; journal kept at %s", why, err, o.Journal))
		return
	}
	e.rep.Regions = rollbackRows(j, rows, restored)
	if len(restored) > 0 && !e.redeploy(ctx, tgt, j, restored, why) {
		return
	}
	if err := e.r.RemoveJournal(); err != nil {
		e.end(ManualAction, fmt.Errorf("%w; rolled back, but: %w", why, err))
		return
	}
	e.end(RolledBack, why)
}

// restore writes the old image back into every config path that differs
// from it and returns the rows (region names or stack-wide artifact rows)
// the promotion touched.
func (e *engine) restore(ctx context.Context, tgt target, j *Journal) ([]string, error) {
	var restored []string
	for _, a := range j.Artifacts {
		cur, err := configuredImage(tgt, a)
		if err != nil {
			return nil, err
		}
		if cur != a.Old || a.State != statePending {
			restored = append(restored, a.row())
		}
		if cur == a.Old {
			continue
		}
		e.logf("%s: restore %s", a.what(), a.Old)
		if err := e.st.SetConfigPath(ctx, e.o.To, a.Key, a.Old); err != nil {
			return nil, err
		}
	}
	return restored, nil
}

// redeploy runs the rollback's update and gates the restored regions;
// false when the run ended.
func (e *engine) redeploy(ctx context.Context, tgt target, j *Journal, restored []string, why error) bool {
	o := e.o
	e.logf("rollback: up")
	out, err := e.st.Up(ctx, o.To, o.Policy)
	if err != nil {
		e.end(ManualAction, fmt.Errorf("%w; the rollback update failed: %w; the config holds the previous digests, run `pulumi up` on %q; journal kept at %s", why, err, o.To, o.Journal))
		return false
	}
	for _, name := range j.regions() {
		if !slices.Contains(restored, name) {
			continue
		}
		if err := e.gate(ctx, out, name, tgt); err != nil {
			e.end(ManualAction, fmt.Errorf("%w; after the rollback region %s is still unhealthy: %w; journal kept at %s", why, name, err, o.Journal))
			return false
		}
	}
	return true
}

// rollbackRows completes the report after a rollback: restored waves are
// marked, waves never reached appear as skipped.
func rollbackRows(j *Journal, rows []RegionReport, restored []string) []RegionReport {
	var out []RegionReport
	for _, a := range j.Artifacts {
		i := slices.IndexFunc(rows, func(r RegionReport) bool { return r.Region == a.row() })
		var rr RegionReport
		if i >= 0 {
			rr = rows[i]
		} else {
			rr = RegionReport{Region: a.row(), OldImage: a.Old, NewImage: a.New, Update: ResultSkipped, Gate: ResultSkipped}
		}
		if slices.Contains(restored, a.row()) {
			rr.RolledBack = true
			rr.Detail = strings.TrimPrefix(rr.Detail+"; restored to "+short(a.Old), "; ")
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
func (e *engine) refuseLocked(ctx context.Context, a JournalArtifact, lockErr error) {
	if e.rep.Resumed {
		e.end(Refused, fmt.Errorf("target not free, nothing deployed by this run: %w; the journal at %s is kept: re-run when the stack is free", lockErr, e.o.Journal))
		return
	}
	if err := e.st.SetConfigPath(context.WithoutCancel(ctx), e.o.To, a.Key, a.Old); err != nil {
		e.end(ManualAction, fmt.Errorf("%w; restoring %s failed: %w; journal kept at %s", lockErr, a.Key, err, e.o.Journal))
		return
	}
	if err := e.r.RemoveJournal(); err != nil {
		e.end(ManualAction, err)
		return
	}
	e.end(Refused, fmt.Errorf("target not free, nothing deployed: %w", lockErr))
}
