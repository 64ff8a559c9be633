package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/helloagents/infra/contract"
	"github.com/helloagents/infra/stacks/config"
)

// prepare checks everything before the first change: the stack is free,
// a journal (if any) is this failover's, the config is valid, the target
// is a region and a standby close enough to the primary, and whether the
// old primary can be reached. ok is false when the run ended.
func (e *engine) prepare(ctx context.Context) bool {
	o := e.o
	if err := e.st.Busy(ctx, o.Stack); err != nil {
		e.end(Refused, fmt.Errorf("stack not free, nothing changed: %w", err))
		return false
	}
	j, err := loadJournal(e.r)
	if err != nil {
		e.end(ManualAction, err)
		return false
	}
	if j != nil {
		if j.Stack != o.Stack || j.To != o.To || o.DryRun {
			e.end(Refused, fmt.Errorf("an interrupted failover of stack %q from %s to %s is recorded at %s (step %s); "+
				"run `infra/failover --stack %s --to %s` to resume it before anything else", j.Stack, j.From, j.To, o.Journal, j.Step, j.Stack, j.To))
			return false
		}
		e.j, e.rep.Resumed, e.rep.From = j, true, j.From
		e.logf("resuming the failover recorded at %s after step %s", o.Journal, j.Step)
	}
	if !e.readConfig(ctx) {
		return false
	}
	if !e.j.Done(stepPromoted) && !e.checkTarget(ctx) {
		return false
	}
	if !e.j.Done(stepFenced) {
		e.checkOldPrimary(ctx)
	}
	return true
}

// readConfig parses the stack's config as the program does and checks
// the target names one of its regions.
func (e *engine) readConfig(ctx context.Context) bool {
	o := e.o
	raw, err := e.st.Config(ctx, o.Stack)
	if err != nil {
		e.end(Refused, err)
		return false
	}
	var db map[string]any
	_ = json.Unmarshal([]byte(raw[contract.KeyDatabase]), &db)
	_, e.explicit = db[contract.FieldPrimaryRegion]
	if e.cfg, err = config.Parse(o.Stack, raw); err != nil {
		e.end(Refused, fmt.Errorf("stack %q config is invalid, nothing changed: %w", o.Stack, err))
		return false
	}
	var names []string
	for _, r := range e.cfg.Regions {
		names = append(names, r.Name)
	}
	switch {
	case !slices.Contains(names, o.To):
		e.end(Usage, fmt.Errorf("--to %q: not a region of stack %q; allowed: %s", o.To, o.Stack, strings.Join(names, ", ")))
		return false
	case len(names) < 2:
		e.end(Refused, fmt.Errorf("stack %q has one region (%s), which is its only database: nothing to fail over to", o.Stack, names[0]))
		return false
	case e.j == nil && e.cfg.Primary().Name == o.To:
		e.end(Refused, fmt.Errorf("%s is already the primary of stack %q (%s); nothing changed", o.To, o.Stack, KeyPrimaryRegion))
		return false
	}
	if e.j == nil {
		e.rep.From = e.cfg.Primary().Name
	}
	e.rep.OldPrimary.Region = e.rep.From
	return true
}

// region returns the named region as the databases are reached.
func (e *engine) region(name string) Region {
	for _, r := range e.cfg.Regions {
		if r.Name == name {
			return Region{Name: r.Name, DockerHost: r.DockerHost}
		}
	}
	return Region{Name: name}
}

// checkTarget: the target must answer, be a standby, and be no further
// behind than --max-lag unless --accept-data-loss.
func (e *engine) checkTarget(ctx context.Context) bool {
	o := e.o
	start := time.Now()
	st, err := o.Databases.Status(ctx, e.region(o.To))
	if err != nil {
		e.step("check target", ResultFailed, err.Error(), start)
		e.end(Refused, fmt.Errorf("the target's database cannot be reached, nothing changed: %w", err))
		return false
	}
	e.rep.Target = &st
	lag, known := st.Lag()
	detail := fmt.Sprintf("role %s, timeline %d, lag %s", st.Role, st.Timeline, lagText(st))
	switch {
	case st.Role != RoleStandby || !st.InRecovery:
		e.step("check target", ResultFailed, detail, start)
		e.end(Refused, fmt.Errorf("%s's database is not a standby (role %q, in recovery %v): only a standby can be promoted; nothing changed",
			o.To, st.Role, st.InRecovery))
		return false
	case !o.AcceptDataLoss && (!known || lag > o.MaxLag):
		e.step("check target", ResultFailed, detail, start)
		e.end(TooFarBehind, fmt.Errorf("%s's standby replay lag is %s (bound --max-lag %s): promoting it would lose the transactions it has not replayed; "+
			"wait for it to catch up, or pass --accept-data-loss; nothing changed", o.To, lagText(st), o.MaxLag))
		return false
	}
	e.step("check target", ResultDone, detail, start)
	return true
}

// checkOldPrimary records whether the old primary answers; an unreachable
// one is not fenced (it cannot be), and its entrypoint re-seeds it as a
// standby when it comes back with PG_ROLE=standby.
func (e *engine) checkOldPrimary(ctx context.Context) {
	start := time.Now()
	st, err := e.o.Databases.Status(ctx, e.region(e.rep.From))
	old := &e.rep.OldPrimary
	old.Reachable, old.Detail = err == nil, ""
	if err != nil {
		old.Detail = err.Error()
		e.step("check old primary", ResultUnreachable, old.Detail, start)
	} else {
		old.Status = &st
		e.step("check old primary", ResultDone, fmt.Sprintf("role %s, timeline %d, fenced %v", st.Role, st.Timeline, st.Fenced), start)
	}
	if e.j != nil {
		e.j.OldPrimaryReachable, e.j.OldPrimaryDetail = old.Reachable, old.Detail
	}
}

// plan says what the failover will do, for the confirmation and dry runs.
func (e *engine) plan() string {
	o, from := e.o, e.rep.From
	fence := fmt.Sprintf("fence %s's Postgres (pgrole fence): it never takes a write on the old timeline again", from)
	if !e.rep.OldPrimary.Reachable {
		fence = fmt.Sprintf("%s's Postgres is unreachable (%s): it cannot be fenced; it is re-seeded as a standby when it is back", from, e.rep.OldPrimary.Detail)
	}
	lag := "unknown"
	if e.rep.Target != nil {
		lag = lagText(*e.rep.Target)
	}
	return strings.Join([]string{
		fmt.Sprintf("Fail over the database of stack %s (%s) from %s to %s:", o.Stack, e.cfg.Environment, from, o.To),
		"  1. " + fence,
		fmt.Sprintf("  2. promote %s's standby (replay lag %s, bound %s, accept data loss %v)", o.To, lag, o.MaxLag, o.AcceptDataLoss),
		fmt.Sprintf("  3. set %s=%s and pulumi up: the load balancer tries %s first, %s's Postgres restarts as a standby, the backup jobs move to %s",
			KeyPrimaryRegion, o.To, o.To, from, o.To),
		fmt.Sprintf("  4. wait up to %s for %s to replay as a standby of the new timeline", o.ReseedTimeout, from),
		"  5. gate every region's readiness URL",
	}, "\n")
}

// begin asks for confirmation (a production stack by its parsed
// environment, whatever its name) and writes the journal: the last moment
// at which nothing has changed.
func (e *engine) begin() bool {
	o := e.o
	if err := e.r.ConfirmProduction(e.cfg.Environment, e.plan()); err != nil {
		e.end(Refused, err)
		return false
	}
	e.j = &Journal{Version: 1, Stack: o.Stack, From: e.rep.From, To: o.To, Started: time.Now().UTC(),
		OldPrimaryReachable: e.rep.OldPrimary.Reachable, OldPrimaryDetail: e.rep.OldPrimary.Detail, r: e.r}
	if err := e.j.Record(stepStarted); err != nil {
		e.end(Refused, fmt.Errorf("nothing changed: %w", err))
		return false
	}
	return true
}
