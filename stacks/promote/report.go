package promote

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/helloagents/infra/canary"
)

// Outcome is how a promotion ended. Its value is the exit code of the
// promote command.
type Outcome int

// The outcomes and their exit codes.
const (
	// Promoted: every selected region runs the new image and passed its
	// gates (or, with --dry-run, every wave was previewed).
	Promoted Outcome = 0
	// Refused: nothing was changed (unpinned image, failed source gate,
	// locked stack, invalid config, conflicting journal).
	Refused Outcome = 1
	// Usage: the command line was wrong (set by the CLI, and by the engine
	// for options it cannot act on, such as an unknown region).
	Usage Outcome = 2
	// RolledBack: a gate or an update failed and every touched region runs
	// its previous digest again.
	RolledBack Outcome = 3
	// ManualAction: the run was interrupted or a rollback failed; the
	// journal is kept and names the previous digests.
	ManualAction Outcome = 4
)

func (o Outcome) String() string {
	switch o {
	case Promoted:
		return "promoted"
	case Refused:
		return "refused"
	case Usage:
		return "usage"
	case RolledBack:
		return "rolled back"
	case ManualAction:
		return "error, manual action needed"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// MarshalText renders the outcome by name in JSON.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Results of one region's update and gate.
const (
	ResultSucceeded = "succeeded"
	ResultFailed    = "failed"
	ResultSkipped   = "skipped"
	ResultPreviewed = "previewed"
	ResultPassed    = "passed"
)

// RegionReport is one row of the per-region report.
type RegionReport struct {
	Region   string `json:"region"`
	OldImage string `json:"oldImage"`
	NewImage string `json:"newImage"`
	Update   string `json:"update"`
	Gate     string `json:"gate"`
	// RolledBack is true when a rollback restored the region's old digest.
	RolledBack bool          `json:"rolledBack"`
	Duration   time.Duration `json:"-"`
	// Seconds is Duration for JSON readers.
	Seconds float64 `json:"durationSeconds"`
	// UpSeconds is the part of Duration spent in `pulumi up`; the rest is
	// the promotion's own overhead (config writes, journal, gates).
	UpSeconds float64 `json:"upSeconds"`
	// Detail says why an update or gate failed.
	Detail string `json:"detail,omitempty"`
	// Canary is the region's canary and its verdict, when one ran.
	Canary *CanaryReport `json:"canary,omitempty"`
	// Burn is the region's SLO burn the gate read after the release, on a
	// target that runs canaries.
	Burn *canary.Burn `json:"burn,omitempty"`
	// Diff is the preview output of the region's wave (dry runs).
	Diff string `json:"diff,omitempty"`
}

// Report is the result of a promotion, for humans (WriteText) and
// machines (JSON).
type Report struct {
	From    string  `json:"from"`
	To      string  `json:"to"`
	Image   string  `json:"image"`
	DryRun  bool    `json:"dryRun"`
	Resumed bool    `json:"resumed"`
	Outcome Outcome `json:"outcome"`
	// ExitCode is int(Outcome), spelled out for scripts.
	ExitCode int `json:"exitCode"`
	// Reason says why the promotion did not simply succeed.
	Reason  string         `json:"reason,omitempty"`
	Journal string         `json:"journal,omitempty"`
	Regions []RegionReport `json:"regions"`
	Seconds float64        `json:"durationSeconds"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	r.ExitCode = int(r.Outcome)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as a table followed by the outcome.
func (r *Report) WriteText(w io.Writer) error {
	if err := r.writeTable(w); err != nil {
		return err
	}
	for _, g := range r.Regions {
		if c := g.Canary; c != nil {
			fmt.Fprintf(w, "%s: canary at %d %% for %.0fs: %s\n", g.Region, c.Weight, c.Seconds, c.Verdict)
		}
		if g.Detail != "" {
			fmt.Fprintf(w, "%s: %s\n", g.Region, g.Detail)
		}
		if g.Diff != "" {
			fmt.Fprintf(w, "--- preview of the %s wave ---\n%s\n", g.Region, strings.TrimRight(g.Diff, "\n"))
		}
	}
	outcome := r.Outcome.String()
	if r.DryRun && r.Outcome == Promoted {
		outcome = "previewed (dry run: nothing changed)"
	}
	from := r.From
	if from == "" {
		from = r.Image // a rollout of a named digest (--image)
	}
	fmt.Fprintf(w, "%s -> %s: %s, exit code %d\n", from, r.To, outcome, int(r.Outcome))
	if r.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", r.Reason)
	}
	return nil
}

// writeTable writes one row per region; nothing when no region was reached.
func (r *Report) writeTable(w io.Writer) error {
	if len(r.Regions) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "REGION\tOLD DIGEST\tNEW DIGEST\tUPDATE\tGATE\tROLLED BACK\tDURATION\n")
	for _, g := range r.Regions {
		rolled := "no"
		if g.RolledBack {
			rolled = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Region, short(g.OldImage), short(g.NewImage),
			g.Update, g.Gate, rolled, g.Duration.Round(10*time.Millisecond))
	}
	return tw.Flush()
}

// short renders a digest reference compactly: the repository and the
// first 12 hex digits, enough to tell digests apart in a table.
func short(ref string) string {
	if ref == "" {
		return "-"
	}
	repo, digest, ok := strings.Cut(ref, "@sha256:")
	if !ok || len(digest) < 12 {
		return ref
	}
	return repo + "@sha256:" + digest[:12]
}
