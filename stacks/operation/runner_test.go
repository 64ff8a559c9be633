package operation_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/helloagents/infra/stacks/config"

	"github.com/helloagents/infra/notify"
	"github.com/helloagents/infra/stacks/operation"
)

// record is a journal that lists the steps done and is saved by the runner
// after each one.
type record struct {
	Steps []string `json:"steps"`
	r     operation.Runner
}

func (j *record) Done(step string) bool { return slices.Contains(j.Steps, step) }

func (j *record) Record(step string) error {
	j.Steps = append(j.Steps, step)
	return j.r.SaveJournal(j)
}

// steps returns steps named names that log into ran; fail names the one
// that fails.
func steps(ran *[]string, fail string, names ...string) []operation.Step {
	var s []operation.Step
	for _, n := range names {
		s = append(s, operation.Step{Name: n, Run: func(context.Context) (operation.Result, error) {
			*ran = append(*ran, n)
			if n == fail {
				return operation.Result{}, errors.New("boom")
			}
			return operation.Result{Detail: n + " done"}, nil
		}})
	}
	return s
}

func newRunner(t *testing.T) operation.Runner {
	return operation.Runner{Kind: "test", Stack: "production", Journal: filepath.Join(t.TempDir(), "op", "j.json")}
}

// loaded reads the journal back from disk.
func loaded(t *testing.T, r operation.Runner) *record {
	t.Helper()
	j := &record{r: r}
	found, err := r.LoadJournal(j)
	if err != nil || !found {
		t.Fatalf("journal: found %v, %v", found, err)
	}
	return j
}

// TestRunRecordsEachStepInOrder: the steps run in order and the journal on
// disk lists each one once it is done.
func TestRunRecordsEachStepInOrder(t *testing.T) {
	r := newRunner(t)
	var ran, reported []string
	j := &record{r: r}
	err := r.Run(t.Context(), j, steps(&ran, "", "a", "b", "c"), func(s operation.Step, res operation.Result) {
		if res.Resumed || res.Detail != s.Name+" done" {
			t.Errorf("step %s: result %+v", s.Name, res)
		}
		reported = append(reported, s.Name)
		// The journal is written before the report: a crash now resumes
		// after this step.
		if got := loaded(t, r).Steps; !slices.Equal(got, reported) {
			t.Errorf("after step %s the journal records %q", s.Name, got)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(ran, want) || !slices.Equal(reported, want) {
		t.Errorf("ran %q, reported %q, want %q", ran, reported, want)
	}
	if err := r.RemoveJournal(); err != nil || r.Kept() != "" {
		t.Errorf("journal kept after RemoveJournal: %v", err)
	}
}

// TestRunStopsAtAFailedStepAndResumes: a failed step ends the run with a
// StepError naming it, the journal names the steps before it, and a second
// run skips those (reported as resumed) and goes on from the failed one.
func TestRunStopsAtAFailedStepAndResumes(t *testing.T) {
	r := newRunner(t)
	var ran []string
	err := r.Run(t.Context(), &record{r: r}, steps(&ran, "b", "a", "b", "c"), nil)
	se, ok := errors.AsType[*operation.StepError](err)
	if !ok || se.Step != "b" || se.Err.Error() != "boom" {
		t.Fatalf("error %v, want the StepError of b", err)
	}
	if !slices.Equal(ran, []string{"a", "b"}) {
		t.Errorf("ran %q after b failed", ran)
	}
	if r.Kept() != r.Journal {
		t.Fatal("the journal of a failed run is gone")
	}

	ran = nil
	j := loaded(t, r)
	var resumed []string
	err = r.Run(t.Context(), j, steps(&ran, "", "a", "b", "c"), func(s operation.Step, res operation.Result) {
		if res.Resumed {
			resumed = append(resumed, s.Name)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []string{"b", "c"}) || !slices.Equal(resumed, []string{"a"}) {
		t.Errorf("resumed run ran %q and skipped %q; want b, c and a", ran, resumed)
	}
	if got := loaded(t, r).Steps; !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("journal %q", got)
	}
}

// TestAbort: abort undoes a recorded run and refuses without one.
func TestAbort(t *testing.T) {
	r := newRunner(t)
	undone := 0
	undo := func(context.Context) error { undone++; return nil }
	if err := r.Abort(t.Context(), false, undo); !errors.Is(err, operation.ErrNoJournal) || undone != 0 {
		t.Errorf("abort without a journal: %v, undo ran %d times", err, undone)
	}
	var ran []string
	_ = r.Run(t.Context(), &record{r: r}, steps(&ran, "b", "a", "b"), nil)
	found, err := r.LoadJournal(&record{r: r})
	if err != nil || !found {
		t.Fatalf("journal: %v %v", found, err)
	}
	if err := r.Abort(t.Context(), found, undo); err != nil || undone != 1 {
		t.Errorf("abort: %v, undo ran %d times", err, undone)
	}
}

// TestLockIsExclusive: a second run on the same journal is refused while
// the first holds the lock.
func TestLockIsExclusive(t *testing.T) {
	r := newRunner(t)
	unlock, err := r.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lock(); err == nil {
		t.Error("a second run took the lock")
	}
	unlock()
	unlock, err = r.Lock()
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock()
}

// TestConfirmProduction: only a production environment is confirmed, and
// a decline is returned.
func TestConfirmProduction(t *testing.T) {
	declined := errors.New("declined")
	var asked []string
	r := operation.Runner{Confirm: func(plan string) error { asked = append(asked, plan); return declined }}
	if err := r.ConfirmProduction(config.Production, "plan"); !errors.Is(err, declined) {
		t.Errorf("production: %v, want the decline", err)
	}
	if err := r.ConfirmProduction(config.Staging, "plan"); err != nil {
		t.Errorf("staging: %v", err)
	}
	if len(asked) != 1 {
		t.Errorf("asked %d times, want once (production only)", len(asked))
	}
	if err := (operation.Runner{}).ConfirmProduction(config.Production, "plan"); err != nil {
		t.Errorf("no Confirm: %v", err)
	}
}

type notifier []notify.Event

func (n *notifier) Notify(ctx context.Context, e notify.Event) {
	if ctx.Err() != nil {
		e.Detail = "cancelled context"
	}
	*n = append(*n, e)
}

// TestSend: an event names the stack and survives an interrupted run's
// context; without a notifier nothing is sent.
func TestSend(t *testing.T) {
	var n notifier
	r := operation.Runner{Stack: "production", Notify: &n}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r.Send(ctx, notify.Event{Event: notify.Finish})
	if len(n) != 1 || n[0].Stack != "production" || n[0].Detail != "" {
		t.Errorf("events %+v", n)
	}
	operation.Runner{}.Send(t.Context(), notify.Event{}) // no notifier: no panic
}
