package failover

import (
	"fmt"
	"slices"
	"time"

	"github.com/helloagents/infra/stacks/operation"
)

// The steps of a failover in order; the journal records the last one done,
// so a run that died resumes after it.
const (
	stepStarted    = "started"    // checks passed, the operator agreed
	stepFenced     = "fenced"     // the old primary is fenced, or was unreachable
	stepPromoted   = "promoted"   // the target is the primary on a new timeline
	stepConfigured = "configured" // primaryRegion names the target in the stack file
	stepDeployed   = "deployed"   // up succeeded: edge order, roles, backup jobs
	stepReseeded   = "reseeded"   // the old primary replays as a standby (or was unreachable)
	stepGated      = "gated"      // every reachable region passed its gate
)

// stepOrder is every step in order.
func stepOrder() []string {
	return []string{stepStarted, stepFenced, stepPromoted, stepConfigured, stepDeployed, stepReseeded, stepGated}
}

// title names a step in the report.
func title(step string) string {
	switch step {
	case stepFenced:
		return "fence old primary"
	case stepPromoted:
		return "promote target"
	case stepConfigured:
		return "set primaryRegion"
	case stepDeployed:
		return "pulumi up"
	case stepReseeded:
		return "old primary replays"
	case stepGated:
		return "gate regions"
	}
	return step
}

// Journal is the durable record of one failover, written (and synced)
// before the first change, so an interrupted run is resumed by running the
// same command again, or at least reported: which step it reached and
// whether the old primary was reachable. It is the runner's Progress.
type Journal struct {
	Version int       `json:"version"`
	Stack   string    `json:"stack"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Started time.Time `json:"started"`
	// Step is the last step done (stepOrder).
	Step string `json:"step"`
	// OldPrimaryReachable says whether the old primary answered before the
	// fence; OldPrimaryDetail says why it did not.
	OldPrimaryReachable bool   `json:"oldPrimaryReachable"`
	OldPrimaryDetail    string `json:"oldPrimaryDetail,omitempty"`

	// r writes the journal.
	r operation.Runner
}

// Done implements operation.Progress.
func (j *Journal) Done(step string) bool {
	return j != nil && slices.Index(stepOrder(), j.Step) >= slices.Index(stepOrder(), step)
}

// Record implements operation.Progress: it sets the step and saves the
// journal atomically, so a crash leaves the old or the new record, never
// half.
func (j *Journal) Record(step string) error {
	j.Step = step
	return j.r.SaveJournal(j)
}

// loadJournal reads the run's journal; none is (nil, nil).
func loadJournal(r operation.Runner) (*Journal, error) {
	j := &Journal{r: r}
	found, err := r.LoadJournal(j)
	if err != nil {
		return nil, fmt.Errorf("%w; inspect it, check every region with pgrole status, then delete it", err)
	}
	if !found {
		return nil, nil
	}
	if j.Version != 1 || !slices.Contains(stepOrder(), j.Step) {
		return nil, fmt.Errorf("failover journal %s has version %d, step %q; this tool reads version 1", r.Journal, j.Version, j.Step)
	}
	return j, nil
}
