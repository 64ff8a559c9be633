package failover

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Outcome is how a failover ended; its value is the exit code of
// infra/failover.
type Outcome int

// The outcomes and their exit codes.
const (
	// FailedOver: the target is the primary, the stack is deployed, the
	// old primary replays (or was unreachable) and every region passed its
	// gate; with --dry-run, the plan was shown and nothing changed.
	FailedOver Outcome = 0
	// Refused: nothing was changed (busy stack, target not a standby or
	// unreachable, already the primary, invalid config, declined).
	Refused Outcome = 1
	// Usage: the command line was wrong.
	Usage Outcome = 2
	// TooFarBehind: the target standby lags more than --max-lag (or its
	// lag is unknown); nothing was changed. --accept-data-loss overrides.
	TooFarBehind Outcome = 3
	// ManualAction: a step after the first change failed or the run was
	// interrupted; the journal is kept, and running the same command again
	// resumes after the last step done.
	ManualAction Outcome = 4
)

func (o Outcome) String() string {
	switch o {
	case FailedOver:
		return "failed over"
	case Refused:
		return "refused"
	case Usage:
		return "usage"
	case TooFarBehind:
		return "refused: target too far behind"
	case ManualAction:
		return "error, manual action needed"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// MarshalText renders the outcome by name in JSON.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Step results.
const (
	ResultDone        = "done"
	ResultSkipped     = "skipped"
	ResultFailed      = "failed"
	ResultResumed     = "done before (journal)"
	ResultPlanned     = "planned"
	ResultPreview     = "previewed"
	ResultUnreachable = "unreachable"
)

// StepReport is one step of the run.
type StepReport struct {
	Step    string  `json:"step"`
	Result  string  `json:"result"`
	Detail  string  `json:"detail,omitempty"`
	Seconds float64 `json:"durationSeconds"`
}

// OldPrimary is what the run knows of the region that was the primary.
type OldPrimary struct {
	Region    string  `json:"region"`
	Reachable bool    `json:"reachable"`
	Detail    string  `json:"detail,omitempty"`
	Status    *Status `json:"status,omitempty"`
}

// Report is the result of a failover, for humans (WriteText) and machines
// (WriteJSON).
type Report struct {
	Stack   string `json:"stack"`
	From    string `json:"from"`
	To      string `json:"to"`
	DryRun  bool   `json:"dryRun"`
	Resumed bool   `json:"resumed"`
	// Target is the target's status as checked before the promotion.
	Target     *Status      `json:"target,omitempty"`
	OldPrimary OldPrimary   `json:"oldPrimary"`
	Steps      []StepReport `json:"steps"`
	Outcome    Outcome      `json:"outcome"`
	ExitCode   int          `json:"exitCode"`
	Reason     string       `json:"reason,omitempty"`
	Journal    string       `json:"journal,omitempty"`
	// Diff is the preview of the update (dry runs).
	Diff    string  `json:"diff,omitempty"`
	Seconds float64 `json:"durationSeconds"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	r.ExitCode = int(r.Outcome)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the target's replay position, the steps and the outcome.
func (r *Report) WriteText(w io.Writer) error {
	if r.Target != nil {
		at := "never"
		if r.Target.LastReplayAt != nil {
			at = r.Target.LastReplayAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "target %s: role %s, timeline %d, last replayed transaction %s, lag %s\n",
			r.To, r.Target.Role, r.Target.Timeline, at, lagText(*r.Target))
	}
	if r.OldPrimary.Region != "" && !r.OldPrimary.Reachable {
		fmt.Fprintf(w, "old primary %s: unreachable (%s); its entrypoint re-seeds it as a standby when it is back\n",
			r.OldPrimary.Region, r.OldPrimary.Detail)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Steps) > 0 {
		fmt.Fprintf(tw, "STEP\tRESULT\tDURATION\tDETAIL\n")
	}
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Step, s.Result, time.Duration(s.Seconds*float64(time.Second)).Round(10*time.Millisecond), s.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Diff != "" {
		fmt.Fprintf(w, "--- preview ---\n%s\n", r.Diff)
	}
	outcome := r.Outcome.String()
	if r.DryRun && r.Outcome == FailedOver {
		outcome = "planned (dry run: nothing changed)"
	}
	fmt.Fprintf(w, "%s: database primary %s -> %s: %s, exit code %d\n", r.Stack, r.From, r.To, outcome, int(r.Outcome))
	if r.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", r.Reason)
	}
	if r.Journal != "" {
		fmt.Fprintf(w, "journal: %s (run the same command again to resume)\n", r.Journal)
	}
	return nil
}
