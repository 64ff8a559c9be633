package operation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/helloagents/infra/internal/journal"
	"github.com/helloagents/infra/notify"
	"github.com/helloagents/infra/stacks/config"
)

// Runner is what one run of an operation does around its steps: the lock
// and the journal that make it resumable, the production confirmation,
// notifications and the log. Each engine fills one in per run and drives
// it with its own checks and steps.
type Runner struct {
	// Kind names the operation in the lock, logs and errors: "promotion",
	// "failover".
	Kind string
	// Stack is the stack the operation changes; every notification names it.
	Stack string
	// Journal is the path of the run's journal.
	Journal string
	// Confirm, when set, is shown the plan before the first change to a
	// production stack and may decline it.
	Confirm func(plan string) error
	// Notify, when set, is told how the run goes; it never fails the run.
	// An engine leaves it nil on a dry run, which changes nothing.
	Notify notify.Notifier
	// Log receives one line per step; nil discards them.
	Log io.Writer
	// Prefix starts every log line ("promote", "failover").
	Prefix string
}

// Step is one step of an operation.
type Step struct {
	// Name is what the journal records the step as once it is done.
	Name string
	// Run performs the step. An error ends the run with the journal
	// naming the last step done, so the same command resumes after it
	// (or, for a promotion, the engine has already rolled back).
	Run func(ctx context.Context) (Result, error)
}

// Result is how a step ended, for the engine's report.
type Result struct {
	// Skipped is true when the step had nothing to do.
	Skipped bool
	// Resumed is true when the journal of an interrupted run recorded the
	// step as done, so this run did not run it again.
	Resumed bool
	// Detail says what the step did or why it skipped.
	Detail string
	// Duration is how long the step ran.
	Duration time.Duration
}

// Progress is the part of an engine's journal the runner reads and
// advances; each engine keeps its own format.
type Progress interface {
	// Done reports whether the step is recorded as done.
	Done(step string) bool
	// Record marks the step done and writes the journal durably.
	Record(step string) error
}

// Logf writes one line to the log.
func (r Runner) Logf(format string, args ...any) {
	if r.Log == nil {
		return
	}
	fmt.Fprintf(r.Log, r.Prefix+": "+format+"\n", args...)
}

// Lock takes the journal's lock for the life of the run: one run per
// journal, and a journal found unlocked is known to be interrupted.
func (r Runner) Lock() (unlock func(), err error) {
	unlock, err = journal.Lock(r.Journal, r.Kind)
	if err != nil {
		return nil, fmt.Errorf("nothing changed: %w", err)
	}
	return unlock, nil
}

// ConfirmProduction asks Confirm to approve plan when env, the target's
// parsed environment, is production: a stack named "prod" or
// "org/production" is as much production as one named "production".
func (r Runner) ConfirmProduction(env config.Environment, plan string) error {
	if r.Confirm == nil || env != config.Production {
		return nil
	}
	return r.Confirm(plan)
}

// Send tells the notifier ev, naming the stack. The notifier gets a context
// that survives an interrupt, so an interrupted run still reports how it
// ended.
func (r Runner) Send(ctx context.Context, ev notify.Event) {
	if r.Notify == nil {
		return
	}
	ev.Stack = r.Stack
	r.Notify.Notify(context.WithoutCancel(ctx), ev)
}

// StepError is how Run reports the step that failed.
type StepError struct {
	// Step is the name of the step that failed.
	Step string
	Err  error
	// Duration is how long the step ran before it failed.
	Duration time.Duration
}

func (e *StepError) Error() string { return "step " + e.Step + ": " + e.Err.Error() }

func (e *StepError) Unwrap() error { return e.Err }

// Run runs steps in order. A step p records as done is not run again; each
// other step runs and, when it succeeds, is recorded before the next one
// starts. report, when set, is given every step's result in order. Run
// returns a *StepError for the step that failed (or whose record did),
// and nil when every step is done.
func (r Runner) Run(ctx context.Context, p Progress, steps []Step, report func(Step, Result)) error {
	if report == nil {
		report = func(Step, Result) {}
	}
	for _, s := range steps {
		if p.Done(s.Name) {
			report(s, Result{Resumed: true})
			continue
		}
		start := time.Now()
		res, err := s.Run(ctx)
		if err == nil {
			err = p.Record(s.Name)
		}
		if err != nil {
			return &StepError{Step: s.Name, Err: err, Duration: time.Since(start)}
		}
		res.Duration = time.Since(start)
		report(s, res)
	}
	return nil
}

// ErrNoJournal is what Abort returns when no interrupted run is recorded.
var ErrNoJournal = errors.New("nothing to abort")

// Abort undoes the interrupted run recorded in the journal instead of
// resuming it: recorded says whether LoadJournal found one. It returns the
// error of undo, or ErrNoJournal.
func (r Runner) Abort(ctx context.Context, recorded bool, undo func(context.Context) error) error {
	if !recorded {
		return fmt.Errorf("--abort: no interrupted %s recorded at %s: %w", r.Kind, r.Journal, ErrNoJournal)
	}
	r.Logf("aborting the interrupted %s recorded at %s", r.Kind, r.Journal)
	return undo(ctx)
}

// LoadJournal decodes the journal into v; found is false, and v untouched,
// when there is none.
func (r Runner) LoadJournal(v any) (found bool, err error) {
	b, err := os.ReadFile(r.Journal)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s journal: %w", r.Kind, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s journal %s is corrupt: %w", r.Kind, r.Journal, err)
	}
	return true, nil
}

// SaveJournal writes v as the journal atomically, so a crash leaves the
// old or the new record, never half of one.
func (r Runner) SaveJournal(v any) error {
	if err := journal.Write(r.Journal, v); err != nil {
		return fmt.Errorf("%s %w", r.Kind, err)
	}
	return nil
}

// RemoveJournal deletes the journal once the stack is consistent again.
func (r Runner) RemoveJournal() error {
	if err := os.Remove(r.Journal); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s journal: %w", r.Kind, err)
	}
	return nil
}

// Kept returns the journal's path when the run leaves it behind, "" when
// it does not: only a kept journal is worth naming in a report.
func (r Runner) Kept() string {
	if _, err := os.Stat(r.Journal); err != nil {
		return ""
	}
	return r.Journal
}
