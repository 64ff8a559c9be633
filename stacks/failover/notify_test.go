package failover_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/helloagents/infra/notify"
	"github.com/helloagents/infra/stacks/failover"
)

// recorder is a notify.Notifier that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []notify.Event
}

func (r *recorder) Notify(_ context.Context, e notify.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var k []string
	for _, e := range r.events {
		k = append(k, e.Event+" "+e.Outcome)
	}
	return k
}

// TestFailoverNotifies: a failover tells the promotion's notifier its
// start, every step and its outcome, each naming the stack; a failed step
// and a refused run are told too, a dry run is not.
func TestFailoverNotifies(t *testing.T) {
	t.Run("failed over", func(t *testing.T) {
		w := newWorld(t)
		rec := &recorder{}
		w.o.Notify = rec
		if rep := w.run(); rep.Outcome != failover.FailedOver {
			t.Fatalf("outcome %v (%s)", rep.Outcome, rep.Reason)
		}
		want := []string{"start started", "step done", "step done", "step done", "step done", "step done", "step done", "finish failed over"}
		if got := rec.kinds(); !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
		for _, e := range rec.events {
			if e.Stack != "production" {
				t.Errorf("event %+v does not name the stack", e)
			}
		}
		if s := rec.events[1].Text; !strings.Contains(s, "fence old primary") {
			t.Errorf("first step's text %q does not name it", s)
		}
	})
	t.Run("step failed", func(t *testing.T) {
		w := newWorld(t)
		rec := &recorder{}
		w.o.Notify = rec
		w.st.upErr = []error{errors.New("provider exploded")}
		if rep := w.run(); rep.Outcome != failover.ManualAction {
			t.Fatalf("outcome %v (%s)", rep.Outcome, rep.Reason)
		}
		got := rec.kinds()
		want := []string{"start started", "step done", "step done", "step done", "step failed", "finish error, manual action needed"}
		if !slices.Equal(got, want) {
			t.Errorf("events %q, want %q", got, want)
		}
		if last := rec.events[len(rec.events)-1]; !strings.Contains(last.Detail, "provider exploded") {
			t.Errorf("finish detail %q lacks the cause", last.Detail)
		}
	})
	t.Run("refused", func(t *testing.T) {
		w := newWorld(t)
		rec := &recorder{}
		w.o.Notify = rec
		w.o.To = "eu-west" // already the primary
		if rep := w.run(); rep.Outcome != failover.Refused {
			t.Fatalf("outcome %v (%s)", rep.Outcome, rep.Reason)
		}
		if got := rec.kinds(); !slices.Equal(got, []string{"finish refused"}) {
			t.Errorf("events %q, want only the refusal", got)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		w := newWorld(t)
		rec := &recorder{}
		w.o.Notify = rec
		w.o.DryRun = true
		if rep := w.run(); rep.Outcome != failover.FailedOver {
			t.Fatalf("outcome %v (%s)", rep.Outcome, rep.Reason)
		}
		if got := rec.kinds(); len(got) != 0 {
			t.Errorf("a dry run notified %q", got)
		}
	})
}

// TestFailoverConfirmationByEnvironment: a failover asks first when the
// stack is production by its parsed environment, as a promotion does
// (promote's TestConfirmationByEnvironment), not only when it is literally
// named "production".
func TestFailoverConfirmationByEnvironment(t *testing.T) {
	for _, stack := range []string{"production", "prod", "org/production", "acme/prod"} {
		t.Run(stack, func(t *testing.T) {
			w := newWorld(t)
			w.o.Stack = stack
			if rep := w.run(); rep.Outcome != failover.FailedOver {
				t.Fatalf("outcome %v (%s)", rep.Outcome, rep.Reason)
			}
			if len(w.confirm) != 1 {
				t.Errorf("failover of production stack %q asked %d times, want once", stack, len(w.confirm))
			}
		})
	}
	t.Run("declined", func(t *testing.T) {
		w := newWorld(t)
		w.o.Stack = "prod"
		w.o.Confirm = func(string) error { return errors.New("declined") }
		rep := w.run()
		if rep.Outcome != failover.Refused || !strings.Contains(rep.Reason, "declined") {
			t.Fatalf("outcome %v (%s), want refused: declined", rep.Outcome, rep.Reason)
		}
		if journalExists(t, w.o.Journal) {
			t.Error("a declined failover wrote a journal")
		}
	})
}
