package failover

import (
	"context"
	"fmt"

	"github.com/helloagents/infra/notify"
)

// Notifications of a failover (Options.Notify), in the order they are sent,
// through the same notifier and webhook as a promotion's:
//
//	start   once, when the first step is about to change the stack (or a run resumes)
//	step    once per step: outcome done, skipped, failed or done before (journal)
//	finish  once, always (refused runs too): outcome is the report's outcome
//
// Dry runs change nothing and send nothing.

func (e *engine) notifyStart(ctx context.Context) {
	verb := "started"
	if e.rep.Resumed {
		verb = "resumed"
	}
	e.r.Send(ctx, notify.Event{Event: notify.Start, Outcome: verb,
		Text: fmt.Sprintf("Failover of the database of %s from %s to %s %s", e.o.Stack, e.rep.From, e.o.To, verb)})
}

func (e *engine) notifyStep(ctx context.Context, name, result, detail string) {
	text := fmt.Sprintf("%s: failover step %s: %s", e.o.Stack, name, result)
	if detail != "" {
		text += ": " + detail
	}
	e.r.Send(ctx, notify.Event{Event: notify.Step, Region: e.o.To, Outcome: result, Detail: detail, Text: text})
}

func (e *engine) notifyFinish(ctx context.Context) {
	text := fmt.Sprintf("Failover of the database of %s from %s to %s: %s", e.o.Stack, e.rep.From, e.o.To, e.rep.Outcome)
	if e.rep.Reason != "" {
		text += ": " + e.rep.Reason
	}
	e.r.Send(ctx, notify.Event{Event: notify.Finish, Outcome: e.rep.Outcome.String(), Detail: e.rep.Reason, Text: text})
}
