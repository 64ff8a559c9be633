// Package failover moves a stack's database primary to another region: the
// engine behind `infra/failover`.
//
// A failover checks that the target region's Postgres is a standby close
// enough to the primary, fences the old primary when it can be reached
// (it must never take a write on the old timeline again), promotes the
// target, rewrites helloagents:database.primaryRegion in the stack file and
// runs `pulumi up` under the policy pack, so the load balancer's order, the
// role of every database and the backup jobs follow. It then waits until
// the old primary replays as a standby of the new timeline (its entrypoint
// re-seeds it when the up restarts it with PG_ROLE=standby) and gates on
// every region's readiness, as a promotion wave does. Failback is the same
// run towards the other region.
//
// Promotion stays an explicit operator action: no consensus store spans
// the regions, so nothing here runs by itself (docs/DEPLOYMENT.md).
package failover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/helloagents/infra/stacks/config"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/notify"
	"github.com/helloagents/infra/stacks/operation"
)

// KeyPrimaryRegion is the config key the failover rewrites.
const KeyPrimaryRegion = contract.KeyPrimaryRegion

// Defaults of the bounds.
const (
	DefaultMaxLag        = 60 * time.Second
	DefaultReseedTimeout = 10 * time.Minute
	DefaultPollInterval  = 5 * time.Second
)

// Stacks is the slice of Pulumi the failover needs: every operation's,
// plus removing a path config value, so a dry run leaves a stack file that
// never named primaryRegion exactly as it was, and an update that goes on
// past a lost region. operation.Workspace implements it.
type Stacks interface {
	operation.Stacks
	// RemoveConfigPath removes one path config value such as
	// "helloagents:database.primaryRegion" (pulumi config rm --path).
	RemoveConfigPath(ctx context.Context, stack, path string) error
	// UpContinueOnError deploys what it can (pulumi up --continue-on-error)
	// and returns the error of what it could not: with a lost region, its
	// resources fail and everything else (the load balancer, the new
	// primary, its backup jobs) still changes.
	UpContinueOnError(ctx context.Context, stack string, p operation.Policy) error
}

// Options describe one failover.
type Options struct {
	// Stack is the stack whose primary moves; To the region that becomes
	// the primary.
	Stack, To string
	// MaxLag bounds the target's replay lag; AcceptDataLoss promotes a
	// target further behind (or whose lag is unknown).
	MaxLag         time.Duration
	AcceptDataLoss bool
	// DryRun checks, shows the plan and previews the update with the new
	// primaryRegion (restored afterwards); nothing else changes and no
	// journal is written.
	DryRun bool
	// Policy is enforced on the update and the preview.
	Policy operation.Policy
	// Journal is the path of the failover journal; required.
	Journal string
	// Gates judge every region after the update (operation.VerifyGates).
	Gates operation.Gates
	// Databases reach each region's Postgres (Docker).
	Databases Databases
	// Confirm is asked to approve the plan before the first change of a
	// production stack (cli.Confirm: it asks on a terminal unless --yes);
	// nil approves.
	Confirm func(plan string) error
	// ReseedTimeout bounds the wait for the old primary to replay as a
	// standby; PollInterval paces its status checks.
	ReseedTimeout, PollInterval time.Duration
	// Log receives one line per step; nil discards them.
	Log io.Writer
	// Notify, when set, is told the start, each step's result and the
	// outcome, as a promotion's notifier is (notify.go); it never fails
	// the failover.
	Notify notify.Notifier
}

func (o Options) check() error {
	var errs []error
	if o.Stack == "" {
		errs = append(errs, errors.New("the stack (--stack) is required"))
	}
	if o.To == "" {
		errs = append(errs, errors.New("the target region (--to) is required"))
	}
	if o.MaxLag <= 0 {
		errs = append(errs, fmt.Errorf("--max-lag %s: allowed: a positive duration such as 60s", o.MaxLag))
	}
	if o.Journal == "" {
		errs = append(errs, errors.New("a journal path is required"))
	}
	if o.Gates == nil || o.Databases == nil {
		errs = append(errs, errors.New("gates and databases are required"))
	}
	return errors.Join(errs...)
}

// engine is the state of one run.
type engine struct {
	st  Stacks
	o   Options
	r   operation.Runner
	rep *Report
	cfg config.Config
	j   *Journal
	// explicit is whether the stack file sets primaryRegion (a dry run
	// restores it, or removes its own).
	explicit bool
}

// Run performs the failover o describes against st and returns its report;
// Report.Outcome says how it ended and is the exit code.
func Run(ctx context.Context, st Stacks, o Options) *Report {
	start := time.Now()
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.ReseedTimeout <= 0 {
		o.ReseedTimeout = DefaultReseedTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	r := operation.Runner{Kind: "failover", Prefix: "failover", Stack: o.Stack, Journal: o.Journal,
		Confirm: o.Confirm, Notify: o.Notify, Log: o.Log}
	if o.DryRun {
		r.Notify = nil // a dry run changes nothing and tells no one
	}
	e := &engine{st: st, o: o, r: r, rep: &Report{Stack: o.Stack, To: o.To, DryRun: o.DryRun}}
	e.run(ctx)
	e.notifyFinish(ctx)
	if !o.DryRun {
		e.rep.Journal = r.Kept()
	}
	if e.rep.Steps == nil {
		e.rep.Steps = []StepReport{}
	}
	e.rep.Seconds = time.Since(start).Seconds()
	e.rep.ExitCode = int(e.rep.Outcome)
	return e.rep
}

func (e *engine) logf(format string, args ...any) { e.r.Logf(format, args...) }

// end records the outcome and its reason.
func (e *engine) end(o Outcome, reason error) {
	e.rep.Outcome = o
	if reason != nil {
		e.rep.Reason = reason.Error()
	}
}

// step records the result of one step that started at start.
func (e *engine) step(name, result, detail string, start time.Time) {
	e.addStep(name, result, detail, time.Since(start))
}

// addStep records one step's result.
func (e *engine) addStep(name, result, detail string, d time.Duration) {
	e.rep.Steps = append(e.rep.Steps, StepReport{Step: name, Result: result, Detail: detail, Seconds: d.Seconds()})
	e.logf("%s: %s %s", name, result, detail)
}

func (e *engine) run(ctx context.Context) {
	if err := e.o.check(); err != nil {
		e.end(Usage, err)
		return
	}
	unlock, err := e.r.Lock()
	if err != nil {
		e.end(Refused, err)
		return
	}
	defer unlock()
	if !e.prepare(ctx) {
		return
	}
	if e.o.DryRun {
		e.dryRun(ctx)
		return
	}
	if e.j == nil && !e.begin() {
		return
	}
	e.notifyStart(ctx)
	steps := []operation.Step{
		{Name: stepFenced, Run: e.fence},
		{Name: stepPromoted, Run: e.promote},
		{Name: stepConfigured, Run: e.configure},
		{Name: stepDeployed, Run: e.deploy},
		{Name: stepReseeded, Run: e.reseed},
		{Name: stepGated, Run: e.gate},
	}
	last := e.j.Step
	err = e.r.Run(ctx, e.j, steps, func(s operation.Step, res operation.Result) {
		last = s.Name
		result := ResultDone
		switch {
		case res.Resumed:
			result = ResultResumed
		case res.Skipped:
			result = ResultSkipped
		}
		e.addStep(title(s.Name), result, res.Detail, res.Duration)
		e.notifyStep(ctx, title(s.Name), result, res.Detail)
	})
	if se, ok := errors.AsType[*operation.StepError](err); ok {
		// The journal stays, and the same command resumes after the last
		// step done.
		name := title(se.Step)
		e.addStep(name, ResultFailed, se.Err.Error(), se.Duration)
		e.notifyStep(ctx, name, ResultFailed, se.Err.Error())
		e.end(ManualAction, fmt.Errorf("%s failed after step %q: %w; run the same command again to resume", name, last, se.Err))
		return
	}
	if err := e.r.RemoveJournal(); err != nil {
		e.end(ManualAction, err)
		return
	}
	e.end(FailedOver, nil)
}
