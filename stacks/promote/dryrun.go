package promote

import (
	"context"
	"fmt"
	"time"

	"github.com/helloagents/infra/contract"
)

// dryRun previews each wave cumulatively (wave n includes waves 1..n-1)
// and restores every config value it set, whatever happens. images are
// the new digests by region name; backup is the
// backup job's new image, empty when the promotion does not include it.
func (e *engine) dryRun(ctx context.Context, sel []region, images map[string]string, oldBackup, backup string) {
	o := e.o
	type wave struct{ name, key, old, new string }
	var waves, set []wave
	for _, r := range sel {
		waves = append(waves, wave{r.Name, r.imageKey(), r.Image, images[r.Name]})
	}
	if backup != "" {
		waves = append(waves, wave{backupName, contract.KeyBackupImage, oldBackup, backup})
	}
	defer func() {
		for _, w := range set {
			if err := e.st.SetConfigPath(context.WithoutCancel(ctx), o.To, w.key, w.old); err != nil {
				e.end(ManualAction, fmt.Errorf("dry run: restoring %s to %s failed: %w", w.key, w.old, err))
			}
		}
	}()
	for _, w := range waves {
		start := time.Now()
		rr := RegionReport{Region: w.name, OldImage: w.old, NewImage: w.new, Gate: ResultSkipped}
		if err := e.st.SetConfigPath(ctx, o.To, w.key, w.new); err != nil {
			e.end(ManualAction, fmt.Errorf("dry run: %w", err))
			return
		}
		set = append(set, w)
		e.logf("%s: preview", w.name)
		diff, err := e.st.Preview(ctx, o.To, o.Policy)
		rr.Duration = time.Since(start)
		rr.Seconds = rr.Duration.Seconds()
		if err != nil {
			rr.Update, rr.Detail = ResultFailed, err.Error()
			e.rep.Regions = append(e.rep.Regions, rr)
			e.end(Refused, fmt.Errorf("dry run: preview of wave %s failed: %w", w.name, err))
			return
		}
		rr.Update = ResultPreviewed
		rr.Diff = fmt.Sprintf("config %s: %s -> %s\n%s", w.key, w.old, w.new, diff)
		e.rep.Regions = append(e.rep.Regions, rr)
	}
	e.end(Promoted, nil)
}
