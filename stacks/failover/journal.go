package failover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/helloagents/infra/internal/journal"
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
)

var stepOrder = []string{stepStarted, stepFenced, stepPromoted, stepConfigured, stepDeployed, stepReseeded}

// Journal is the durable record of one failover, written (and synced)
// before the first change, so an interrupted run is resumed by running the
// same command again, or at least reported: which step it reached and
// whether the old primary was reachable.
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
}

// done reports whether step is recorded as done.
func (j *Journal) done(step string) bool {
	return j != nil && slices.Index(stepOrder, j.Step) >= slices.Index(stepOrder, step)
}

// loadJournal reads the journal at path; a missing file is (nil, nil).
func loadJournal(path string) (*Journal, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read failover journal: %w", err)
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("failover journal %s is corrupt (%w); inspect it, check every region with pgrole status, then delete it", path, err)
	}
	if j.Version != 1 || !slices.Contains(stepOrder, j.Step) {
		return nil, fmt.Errorf("failover journal %s has version %d, step %q; this tool reads version 1", path, j.Version, j.Step)
	}
	return &j, nil
}

// record sets the step and saves the journal atomically, so a crash
// leaves the old or the new record, never half.
func (j *Journal) record(path, step string) error {
	j.Step = step
	if err := journal.Write(path, j); err != nil {
		return fmt.Errorf("failover %w", err)
	}
	return nil
}

// removeJournal deletes the journal once the failover is complete.
func removeJournal(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove failover journal: %w", err)
	}
	return nil
}
