package failover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/operation"
)

// fence stops the old primary for good when it can be reached.
func (e *engine) fence(ctx context.Context) (operation.Result, error) {
	if !e.j.OldPrimaryReachable {
		return operation.Result{Skipped: true, Detail: "unreachable: " + e.j.OldPrimaryDetail}, nil
	}
	if err := e.o.Databases.Fence(ctx, e.region(e.j.From)); err != nil {
		return operation.Result{}, fmt.Errorf("%s was reachable but could not be fenced, nothing promoted: %w", e.j.From, err)
	}
	return operation.Result{Detail: e.j.From}, nil
}

// promote makes the target the primary on a new timeline.
func (e *engine) promote(ctx context.Context) (operation.Result, error) {
	st, err := e.o.Databases.Promote(ctx, e.region(e.o.To), e.o.MaxLag, e.o.AcceptDataLoss)
	if errors.Is(err, ErrPromoteRefused) {
		err = fmt.Errorf("%w; the old primary is fenced: re-run with --accept-data-loss to promote %s anyway", err, e.o.To)
	}
	if err == nil && st.Role != RolePrimary {
		err = fmt.Errorf("pgrole promote succeeded but %s reports role %q", e.o.To, st.Role)
	}
	if err != nil {
		return operation.Result{}, err
	}
	return operation.Result{Detail: fmt.Sprintf("%s: timeline %d", e.o.To, st.Timeline)}, nil
}

// configure rewrites primaryRegion in the stack file.
func (e *engine) configure(ctx context.Context) (operation.Result, error) {
	if err := e.st.SetConfigPath(ctx, e.o.Stack, KeyPrimaryRegion, e.o.To); err != nil {
		return operation.Result{}, err
	}
	return operation.Result{Detail: KeyPrimaryRegion + "=" + e.o.To}, nil
}

// deploy runs up under the policy packs: the edge order, the database
// roles and the backup jobs follow primaryRegion.
func (e *engine) deploy(ctx context.Context) (operation.Result, error) {
	if !e.j.OldPrimaryReachable {
		// The lost region's resources cannot change until its host is
		// back; everything else must, so the error is reported, not fatal.
		detail := e.o.Stack
		if err := e.st.UpContinueOnError(ctx, e.o.Stack, e.o.Policy); err != nil {
			detail = fmt.Sprintf("partly: %v; run pulumi up when %s is back", err, e.j.From)
		}
		return operation.Result{Detail: detail}, nil
	}
	if _, err := e.st.Up(ctx, e.o.Stack, e.o.Policy); err != nil {
		return operation.Result{}, err
	}
	return operation.Result{Detail: e.o.Stack}, nil
}

// reseed waits, bounded, until the old primary replays as a standby of the
// new timeline: the up restarted it with PG_ROLE=standby and its
// entrypoint re-seeds it from the repository.
func (e *engine) reseed(ctx context.Context) (operation.Result, error) {
	if !e.j.OldPrimaryReachable {
		return operation.Result{Skipped: true, Detail: "unreachable at the start: it is re-seeded when it is back"}, nil
	}
	old := e.region(e.j.From)
	deadline := time.Now().Add(e.o.ReseedTimeout)
	for {
		st, err := e.o.Databases.Status(ctx, old)
		if err == nil && st.Replaying() {
			e.rep.OldPrimary.Status = &st
			return operation.Result{Detail: fmt.Sprintf("%s: standby on timeline %d, lag %s", old.Name, st.Timeline, lagText(st))}, nil
		}
		last := fmt.Sprintf("role %q, in recovery %v, fenced %v", st.Role, st.InRecovery, st.Fenced)
		if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return operation.Result{}, fmt.Errorf("%s did not replay as a standby within %s (last: %s)", old.Name, e.o.ReseedTimeout, last)
		}
		select {
		case <-ctx.Done():
			return operation.Result{}, ctx.Err()
		case <-time.After(e.o.PollInterval):
		}
	}
}

// gate checks every region's readiness URL (and the smoke suite, with
// operation.VerifyGates) from the stack's outputs, primary first.
func (e *engine) gate(ctx context.Context) (operation.Result, error) {
	raw, err := e.st.Outputs(ctx, e.o.Stack)
	if err != nil {
		return operation.Result{}, err
	}
	out, err := contract.DecodeOutputs(raw)
	if err != nil {
		return operation.Result{}, fmt.Errorf("stack %q: %w", e.o.Stack, err)
	}
	order := append([]string{e.o.To}, e.others()...)
	if !e.j.OldPrimaryReachable {
		// A lost region cannot pass a gate; it is checked when it is back.
		order = slices.DeleteFunc(order, func(r string) bool { return r == e.j.From })
	}
	for _, r := range order {
		url := out.HealthURLs[r]
		if url == "" {
			return operation.Result{}, fmt.Errorf("stack %q output %s has no entry for region %q", e.o.Stack, contract.OutputHealthURLs, r)
		}
		if err := e.o.Gates.Region(ctx, url, out.FrontendURL, e.cfg.HealthCheck); err != nil {
			return operation.Result{}, fmt.Errorf("region %s: %w", r, err)
		}
	}
	return operation.Result{Detail: fmt.Sprintf("%v", order)}, nil
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
