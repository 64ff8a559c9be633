package failover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/helloagents/infra/contract"
)

// fail ends the run after a change: the journal stays, and the same
// command resumes after the last step done.
func (e *engine) fail(name string, start time.Time, err error) bool {
	e.step(name, ResultFailed, err.Error(), start)
	e.end(ManualAction, fmt.Errorf("%s failed after step %q: %w; run the same command again to resume", name, e.j.Step, err))
	return false
}

// advance records a done step in the journal.
func (e *engine) advance(name, step, result, detail string, start time.Time) bool {
	if err := e.j.record(e.o.Journal, step); err != nil {
		return e.fail(name, start, err)
	}
	e.step(name, result, detail, start)
	return true
}

// resumed reports (and records in the report) a step the journal says
// is done.
func (e *engine) resumed(name, step string) bool {
	if !e.j.done(step) {
		return false
	}
	e.step(name, ResultResumed, "", time.Now())
	return true
}

// fence stops the old primary for good when it can be reached.
func (e *engine) fence(ctx context.Context) bool {
	const name = "fence old primary"
	if e.resumed(name, stepFenced) {
		return true
	}
	start := time.Now()
	if !e.j.OldPrimaryReachable {
		return e.advance(name, stepFenced, ResultSkipped, "unreachable: "+e.j.OldPrimaryDetail, start)
	}
	if err := e.o.Databases.Fence(ctx, e.region(e.j.From)); err != nil {
		return e.fail(name, start, fmt.Errorf("%s was reachable but could not be fenced, nothing promoted: %w", e.j.From, err))
	}
	return e.advance(name, stepFenced, ResultDone, e.j.From, start)
}

// promote makes the target the primary on a new timeline.
func (e *engine) promote(ctx context.Context) bool {
	const name = "promote target"
	if e.resumed(name, stepPromoted) {
		return true
	}
	start := time.Now()
	st, err := e.o.Databases.Promote(ctx, e.region(e.o.To), e.o.MaxLag, e.o.AcceptDataLoss)
	if errors.Is(err, ErrPromoteRefused) {
		err = fmt.Errorf("%w; the old primary is fenced: re-run with --accept-data-loss to promote %s anyway", err, e.o.To)
	}
	if err == nil && st.Role != RolePrimary {
		err = fmt.Errorf("pgrole promote succeeded but %s reports role %q", e.o.To, st.Role)
	}
	if err != nil {
		return e.fail(name, start, err)
	}
	return e.advance(name, stepPromoted, ResultDone, fmt.Sprintf("%s: timeline %d", e.o.To, st.Timeline), start)
}

// configure rewrites primaryRegion in the stack file.
func (e *engine) configure(ctx context.Context) bool {
	const name = "set primaryRegion"
	if e.resumed(name, stepConfigured) {
		return true
	}
	start := time.Now()
	if err := e.st.SetConfigPath(ctx, e.o.Stack, KeyPrimaryRegion, e.o.To); err != nil {
		return e.fail(name, start, err)
	}
	return e.advance(name, stepConfigured, ResultDone, KeyPrimaryRegion+"="+e.o.To, start)
}

// deploy runs up under the policy packs: the edge order, the database
// roles and the backup jobs follow primaryRegion.
func (e *engine) deploy(ctx context.Context) bool {
	const name = "pulumi up"
	if e.resumed(name, stepDeployed) {
		return true
	}
	start := time.Now()
	if !e.j.OldPrimaryReachable {
		// The lost region's resources cannot change until its host is
		// back; everything else must, so the error is reported, not fatal.
		detail := e.o.Stack
		if err := e.st.UpContinueOnError(ctx, e.o.Stack, e.o.Policy); err != nil {
			detail = fmt.Sprintf("partly: %v; run pulumi up when %s is back", err, e.j.From)
		}
		return e.advance(name, stepDeployed, ResultDone, detail, start)
	}
	if _, err := e.st.Up(ctx, e.o.Stack, e.o.Policy); err != nil {
		return e.fail(name, start, err)
	}
	return e.advance(name, stepDeployed, ResultDone, e.o.Stack, start)
}

// reseed waits, bounded, until the old primary replays as a standby of the
// new timeline: the up restarted it with PG_ROLE=standby and its
// entrypoint re-seeds it from the repository.
func (e *engine) reseed(ctx context.Context) bool {
	const name = "old primary replays"
	if e.resumed(name, stepReseeded) {
		return true
	}
	start := time.Now()
	if !e.j.OldPrimaryReachable {
		return e.advance(name, stepReseeded, ResultSkipped, "unreachable at the start: it is re-seeded when it is back", start)
	}
	old := e.region(e.j.From)
	deadline := time.Now().Add(e.o.ReseedTimeout)
	for {
		st, err := e.o.Databases.Status(ctx, old)
		if err == nil && st.Replaying() {
			e.rep.OldPrimary.Status = &st
			return e.advance(name, stepReseeded, ResultDone, fmt.Sprintf("%s: standby on timeline %d, lag %s", old.Name, st.Timeline, lagText(st)), start)
		}
		last := fmt.Sprintf("role %q, in recovery %v, fenced %v", st.Role, st.InRecovery, st.Fenced)
		if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return e.fail(name, start, fmt.Errorf("%s did not replay as a standby within %s (last: %s)", old.Name, e.o.ReseedTimeout, last))
		}
		select {
		case <-ctx.Done():
			return e.fail(name, start, ctx.Err())
		case <-time.After(e.o.PollInterval):
		}
	}
}

// gate checks every region's readiness URL (and the smoke suite, with
// operation.VerifyGates) from the stack's outputs, primary first.
func (e *engine) gate(ctx context.Context) bool {
	const name = "gate regions"
	start := time.Now()
	raw, err := e.st.Outputs(ctx, e.o.Stack)
	if err != nil {
		return e.fail(name, start, err)
	}
	out, err := contract.DecodeOutputs(raw)
	if err != nil {
		return e.fail(name, start, fmt.Errorf("stack %q: %w", e.o.Stack, err))
	}
	order := append([]string{e.o.To}, e.others()...)
	if !e.j.OldPrimaryReachable {
		// A lost region cannot pass a gate; it is checked when it is back.
		order = slices.DeleteFunc(order, func(r string) bool { return r == e.j.From })
	}
	for _, r := range order {
		url := out.HealthURLs[r]
		if url == "" {
			return e.fail(name, start, fmt.Errorf("stack %q output %s has no entry for region %q", e.o.Stack, contract.OutputHealthURLs, r))
		}
		if err := e.o.Gates.Region(ctx, url, out.FrontendURL, e.cfg.HealthCheck); err != nil {
			return e.fail(name, start, fmt.Errorf("region %s: %w", r, err))
		}
	}
	e.step(name, ResultDone, fmt.Sprintf("%v", order), start)
	return true
}

// others are the regions other than the target, in configured order.
func (e *engine) others() []string {
	var names []string
	for _, r := range e.cfg.Regions {
		if r.Name != e.o.To {
			names = append(names, r.Name)
		}
	}
	return names
}

// dryRun shows the plan and previews the update with the new
// primaryRegion, then restores the stack file whatever happens: the old
// value, or no value when it had none; nothing else changes.
func (e *engine) dryRun(ctx context.Context) {
	o := e.o
	e.logf("dry run:\n%s", e.plan())
	start := time.Now()
	if err := e.st.SetConfigPath(ctx, o.Stack, KeyPrimaryRegion, o.To); err != nil {
		e.end(Refused, fmt.Errorf("dry run: %w", err))
		return
	}
	defer func() {
		ctx := context.WithoutCancel(ctx)
		var err error
		if e.explicit {
			err = e.st.SetConfigPath(ctx, o.Stack, KeyPrimaryRegion, e.rep.From)
		} else {
			err = e.st.RemoveConfigPath(ctx, o.Stack, KeyPrimaryRegion)
		}
		if err != nil {
			e.end(ManualAction, fmt.Errorf("dry run: restoring %s (%s) failed: %w", KeyPrimaryRegion, e.rep.From, err))
		}
	}()
	diff, err := e.st.Preview(ctx, o.Stack, o.Policy)
	if err != nil {
		e.step("preview", ResultFailed, err.Error(), start)
		e.end(Refused, fmt.Errorf("dry run: the preview failed: %w", err))
		return
	}
	e.rep.Diff = e.plan() + "\n" + diff
	e.step("preview", ResultPreview, KeyPrimaryRegion+"="+o.To, start)
	e.end(FailedOver, nil)
}
