package promote

import (
	"context"
	"fmt"
	"strings"

	"github.com/helloagents/infra/notify"
)

// Notifications of a promotion (Options.Notify), in the order they are sent:
//
//	start     once, when the first wave is about to change the target
//	region    once per wave (a region or a stack-wide image): outcome passed, failed or skipped
//	rollback  when a rollback begins; detail says why
//	finish    once, always (refused runs too): outcome is the report's outcome
//
// Dry runs change nothing and send nothing. The notifier gets a context
// that survives an interrupt, so an interrupted run still reports how it
// ended; notify.Webhook bounds each event's attempts.

// notify sends one event through the runner, naming the promoted image
// when the event names none.
func (e *engine) notify(ctx context.Context, ev notify.Event) {
	if ev.Image == "" {
		ev.Image = e.rep.Image
	}
	e.r.Send(ctx, ev)
}

func (e *engine) notifyStart(ctx context.Context, j *Journal) {
	names := j.regions()
	verb := "started"
	if e.rep.Resumed {
		verb = "resumed"
	}
	e.notify(ctx, notify.Event{Event: notify.Start, Image: j.Image, Outcome: verb,
		Text: fmt.Sprintf("Promotion of %s from %s to %s %s (regions: %s)", short(j.Image), e.o.From, e.o.To, verb, strings.Join(names, ", "))})
}

// notifyRegion reports one wave's row.
func (e *engine) notifyRegion(ctx context.Context, rr RegionReport) {
	outcome := ResultPassed
	switch {
	case rr.Update == ResultSkipped && rr.Gate == ResultSkipped:
		outcome = ResultSkipped
	case rr.Update != ResultSucceeded || rr.Gate != ResultPassed:
		outcome = ResultFailed
	}
	text := fmt.Sprintf("%s: region %s %s (update %s, gate %s)", e.o.To, rr.Region, outcome, rr.Update, rr.Gate)
	if rr.Detail != "" {
		text += ": " + rr.Detail
	}
	e.notify(ctx, notify.Event{Event: notify.Region, Region: rr.Region, Image: rr.NewImage, Outcome: outcome, Detail: rr.Detail, Text: text})
}

func (e *engine) notifyRollback(ctx context.Context, why error) {
	e.notify(ctx, notify.Event{Event: notify.Rollback, Outcome: "started", Detail: why.Error(),
		Text: fmt.Sprintf("%s: rolling back the promotion of %s: %v", e.o.To, short(e.rep.Image), why)})
}

func (e *engine) notifyFinish(ctx context.Context) {
	text := fmt.Sprintf("Promotion of %s from %s to %s: %s", short(e.rep.Image), e.o.From, e.o.To, e.rep.Outcome)
	if e.rep.Reason != "" {
		text += ": " + e.rep.Reason
	}
	e.notify(ctx, notify.Event{Event: notify.Finish, Outcome: e.rep.Outcome.String(), Detail: e.rep.Reason, Text: text})
}
