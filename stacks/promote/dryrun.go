package promote

import (
	"context"
	"fmt"
	"time"
)

// dryRun previews each wave cumulatively (wave n includes waves 1..n-1)
// and restores every config value it set, whatever happens. arts are the
// changes in wave order.
func (e *engine) dryRun(ctx context.Context, arts []JournalArtifact) {
	o := e.o
	var set []JournalArtifact
	defer func() {
		for _, w := range set {
			if err := e.st.SetConfigPath(context.WithoutCancel(ctx), o.To, w.Key, w.Old); err != nil {
				e.end(ManualAction, fmt.Errorf("dry run: restoring %s to %s failed: %w", w.Key, w.Old, err))
			}
		}
	}()
	for _, w := range arts {
		start := time.Now()
		rr := RegionReport{Region: w.row(), OldImage: w.Old, NewImage: w.New, Gate: ResultSkipped}
		if err := e.st.SetConfigPath(ctx, o.To, w.Key, w.New); err != nil {
			e.end(ManualAction, fmt.Errorf("dry run: %w", err))
			return
		}
		set = append(set, w)
		e.logf("%s: preview", w.row())
		diff, err := e.st.Preview(ctx, o.To, o.Policy)
		rr.Duration = time.Since(start)
		rr.Seconds = rr.Duration.Seconds()
		if err != nil {
			rr.Update, rr.Detail = ResultFailed, err.Error()
			e.rep.Regions = append(e.rep.Regions, rr)
			e.end(Refused, fmt.Errorf("dry run: preview of wave %s failed: %w", w.row(), err))
			return
		}
		rr.Update = ResultPreviewed
		rr.Diff = fmt.Sprintf("config %s: %s -> %s\n%s", w.Key, w.Old, w.New, diff)
		e.rep.Regions = append(e.rep.Regions, rr)
	}
	e.end(Promoted, nil)
}
