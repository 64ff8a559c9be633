package failover_test

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/stacks/failover"
)

func journalExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	return err == nil
}

// TestFailoverHappyPath: the steps run in the order of the brief, the
// stack file names the new primary, the journal is gone, the production
// plan was confirmed.
func TestFailoverHappyPath(t *testing.T) {
	w := newWorld(t)
	rep := w.run()
	if rep.Outcome != failover.FailedOver {
		t.Fatalf("outcome %v (%s)", rep.Outcome, rep.Reason)
	}
	want := []string{
		"status us-east", "status eu-west", "fence eu-west", "promote us-east max-lag 1m0s accept false",
		"set primaryRegion=us-east", "up", "status eu-west", "outputs",
		"gate https://api-us-east.test/health/ready", "gate https://api-eu-west.test/health/ready",
	}
	if got := w.ev.all(); !slices.Equal(got, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p := w.st.primary(t); p != "us-east" {
		t.Errorf("primaryRegion %q after the failover", p)
	}
	if journalExists(t, w.o.Journal) || rep.Journal != "" {
		t.Error("the journal of a finished failover is kept")
	}
	if len(w.confirm) != 1 || !strings.Contains(w.confirm[0], "from eu-west to us-east") || !strings.Contains(w.confirm[0], "fence eu-west") {
		t.Errorf("confirmation: %q", w.confirm)
	}
	if rep.From != "eu-west" || rep.To != "us-east" || rep.Target == nil || rep.Target.ReplayLSN != "0/3000060" || !rep.OldPrimary.Reachable {
		t.Errorf("report %+v", rep)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"last replayed transaction 2026-11-27T12:00:00Z, lag 2.5s", "promote target", "failed over, exit code 0"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, text.String())
		}
	}
}

// TestFailoverFailback: the same command towards the old primary moves it
// back once it replays.
func TestFailoverFailback(t *testing.T) {
	w := newWorld(t)
	if rep := w.run(); rep.Outcome != failover.FailedOver {
		t.Fatalf("failover: %v (%s)", rep.Outcome, rep.Reason)
	}
	w.o.To = "eu-west"
	w.st.afterUp = func() { w.db.reseed("us-east") }
	rep := w.run()
	if rep.Outcome != failover.FailedOver || rep.From != "us-east" || w.st.primary(t) != "eu-west" {
		t.Fatalf("failback: %v from %s (%s), primary %s", rep.Outcome, rep.From, rep.Reason, w.st.primary(t))
	}
}

// TestFailoverRefusals: each refusal leaves everything as it was: no
// change to any database or the stack, no journal.
func TestFailoverRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(w *world)
		want   failover.Outcome
		reason string
	}{
		{"standby too far behind", func(w *world) {
			s := w.db.status["us-east"]
			s.ReplayLagSeconds = lag(120)
			w.db.status["us-east"] = s
		}, failover.TooFarBehind, "us-east's standby replay lag is 2m0s (bound --max-lag 1m0s)"},
		{"lag unknown", func(w *world) {
			s := w.db.status["us-east"]
			s.ReplayLagSeconds = nil
			w.db.status["us-east"] = s
		}, failover.TooFarBehind, "replay lag is unknown"},
		{"target not a standby", func(w *world) {
			w.db.status["us-east"] = failover.Status{Role: "primary", Timeline: 1}
		}, failover.Refused, `us-east's database is not a standby (role "primary"`},
		{"target unreachable", func(w *world) { w.db.unreachable["us-east"] = true }, failover.Refused, "cannot be reached"},
		{"busy stack", func(w *world) { w.st.busy = errors.New(`stack "production": another update holds the stack`) },
			failover.Refused, "stack not free, nothing changed"},
		{"already the primary", func(w *world) { w.o.To = "eu-west" }, failover.Refused, "eu-west is already the primary"},
		{"not a region", func(w *world) { w.o.To = "ap-south" }, failover.Usage, `--to "ap-south": not a region of stack "production"; allowed: eu-west, us-east`},
		{"declined", func(w *world) {
			w.o.Confirm = func(string) error { return errors.New("declined: nothing changed") }
		}, failover.Refused, "declined"},
		{"no max lag", func(w *world) { w.o.MaxLag = 0 }, failover.Usage, "--max-lag 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.setup(w)
			before := w.st.primary(t)
			rep := w.run()
			if rep.Outcome != tc.want || !strings.Contains(rep.Reason, tc.reason) {
				t.Fatalf("outcome %v reason %q; want %v containing %q", rep.Outcome, rep.Reason, tc.want, tc.reason)
			}
			if ch := w.ev.changes(); len(ch) != 0 {
				t.Errorf("a refused failover changed things: %v", ch)
			}
			if journalExists(t, w.o.Journal) || w.st.primary(t) != before {
				t.Error("a refused failover left a journal or changed primaryRegion")
			}
		})
	}
}

// TestFailoverAcceptDataLoss promotes a standby that is behind when told.
func TestFailoverAcceptDataLoss(t *testing.T) {
	w := newWorld(t)
	s := w.db.status["us-east"]
	s.ReplayLagSeconds = lag(600)
	w.db.status["us-east"] = s
	w.o.AcceptDataLoss = true
	rep := w.run()
	if rep.Outcome != failover.FailedOver || !slices.Contains(w.ev.all(), "promote us-east max-lag 1m0s accept true") {
		t.Fatalf("outcome %v (%s), events %v", rep.Outcome, rep.Reason, w.ev.all())
	}
}

// TestFailoverOldPrimaryUnreachable: the lost region is recorded, not
// fenced, not waited for and not gated; the up continues past its failing
// resources and says so; everything else proceeds.
func TestFailoverOldPrimaryUnreachable(t *testing.T) {
	w := newWorld(t)
	w.db.unreachable["eu-west"] = true
	// The lost region's resources fail the up; everything else changes.
	w.st.upErr = []error{errors.New("up: docker: ssh eu-west: connection refused")}
	want := []string{"promote us-east max-lag 1m0s accept false", "set primaryRegion=us-east", "up --continue-on-error"}
	rep := w.run()
	if rep.Outcome != failover.FailedOver {
		t.Fatalf("outcome %v (%s)", rep.Outcome, rep.Reason)
	}
	if got := w.ev.changes(); !slices.Equal(got, want) {
		t.Errorf("changes %v, want %v (no fence)", got, want)
	}
	if !slices.Contains(w.ev.all(), "gate https://api-us-east.test/health/ready") || slices.Contains(w.ev.all(), "gate https://api-eu-west.test/health/ready") {
		t.Errorf("gates %v: want the target only, not the lost region", w.ev.all())
	}
	if !slices.ContainsFunc(rep.Steps, func(s failover.StepReport) bool {
		return s.Step == "pulumi up" && strings.Contains(s.Detail, "partly: up: docker: ssh eu-west") && strings.Contains(s.Detail, "run pulumi up when eu-west is back")
	}) {
		t.Errorf("the partial up is not reported: %+v", rep.Steps)
	}
	if n := strings.Count(strings.Join(w.ev.all(), "\n"), "status eu-west"); n != 1 {
		t.Errorf("%d status checks of the unreachable region, want 1 (no wait)", n)
	}
	if rep.OldPrimary.Reachable || !strings.Contains(rep.OldPrimary.Detail, "connection refused") {
		t.Errorf("old primary %+v", rep.OldPrimary)
	}
	if !strings.Contains(w.confirm[0], "eu-west's Postgres is unreachable") {
		t.Errorf("the plan does not say the old primary is unreachable:\n%s", w.confirm[0])
	}
}

// TestFailoverDryRun previews with the new primaryRegion and restores the
// stack file (the old value, or no value when it had none): no database is
// touched, no journal written, the config is as before.
func TestFailoverDryRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		explicit bool // the stack file names the primary (after a failover)
		to       string
		want     []string
	}{
		{"primaryRegion unset", false, "us-east", []string{"status us-east", "status eu-west", "set primaryRegion=us-east", "preview", "remove primaryRegion"}},
		{"primaryRegion set", true, "eu-west", []string{"status eu-west", "status us-east", "set primaryRegion=eu-west", "preview", "set primaryRegion=us-east"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if tc.explicit {
				if err := w.st.SetConfigPath(t.Context(), "production", failover.KeyPrimaryRegion, "us-east"); err != nil {
					t.Fatal(err)
				}
				w.db.status["us-east"], w.db.status["eu-west"] = w.db.status["eu-west"], w.db.status["us-east"]
				w.ev.list = nil
			}
			w.o.DryRun, w.o.To = true, tc.to
			before := w.st.config["helloagents:database"]
			rep := w.run()
			if rep.Outcome != failover.FailedOver || !rep.DryRun {
				t.Fatalf("outcome %v (%s)", rep.Outcome, rep.Reason)
			}
			if got := w.ev.all(); !slices.Equal(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
			if after := w.st.config["helloagents:database"]; after != before {
				t.Errorf("config changed by a dry run:\n%s\n%s", before, after)
			}
			if journalExists(t, w.o.Journal) || len(w.confirm) != 0 {
				t.Error("a dry run wrote a journal or asked for confirmation")
			}
			if !strings.Contains(rep.Diff, "1. fence ") || !strings.Contains(rep.Diff, "PG_ROLE") {
				t.Errorf("dry run diff:\n%s", rep.Diff)
			}
		})
	}
}

// TestFailoverJournal: an up that fails leaves the journal after the
// config step; the same command resumes there (no second fence or
// promotion); a different target is refused while it exists.
func TestFailoverJournal(t *testing.T) {
	w := newWorld(t)
	w.st.upErr = []error{errors.New("up: ssh: connection reset")}
	rep := w.run()
	if rep.Outcome != failover.ManualAction || !strings.Contains(rep.Reason, `pulumi up failed after step "configured"`) {
		t.Fatalf("outcome %v reason %q", rep.Outcome, rep.Reason)
	}
	if rep.Journal != w.o.Journal || !journalExists(t, w.o.Journal) {
		t.Fatal("the journal of an interrupted failover is gone")
	}
	other := *w
	other.o.To = "eu-west"
	if r := failover.Run(t.Context(), w.st, other.o); r.Outcome != failover.Refused || !strings.Contains(r.Reason, "to resume it") {
		t.Errorf("another failover while one is recorded: %v %q", r.Outcome, r.Reason)
	}
	dry := w.o
	dry.DryRun = true
	if r := failover.Run(t.Context(), w.st, dry); r.Outcome != failover.Refused {
		t.Errorf("a dry run while a failover is recorded: %v %q", r.Outcome, r.Reason)
	}
	w.ev.list = nil
	rep = w.run()
	if rep.Outcome != failover.FailedOver || !rep.Resumed {
		t.Fatalf("resume: %v (%s)", rep.Outcome, rep.Reason)
	}
	if got, want := w.ev.changes(), []string{"up"}; !slices.Equal(got, want) {
		t.Errorf("resumed changes %v, want %v", got, want)
	}
	if len(w.db.promoted) != 1 || journalExists(t, w.o.Journal) {
		t.Errorf("promotions %d, journal kept %v", len(w.db.promoted), journalExists(t, w.o.Journal))
	}
	var resumed int
	for _, s := range rep.Steps {
		if s.Result == failover.ResultResumed {
			resumed++
		}
	}
	if resumed != 3 {
		t.Errorf("%d steps reported as done before, want 3 (fence, promote, config): %+v", resumed, rep.Steps)
	}
}

// TestFailoverStopsAfterAChange: failures after the first change keep the
// journal and say what to do.
func TestFailoverStopsAfterAChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(w *world)
		reason string
	}{
		{"promotion refused after the fence", func(w *world) { w.db.refuse = true },
			"pgrole promote refused; the old primary is fenced: re-run with --accept-data-loss"},
		{"old primary never replays", func(w *world) {
			w.st.afterUp = nil
			w.o.ReseedTimeout = 20 * time.Millisecond
		}, "eu-west did not replay as a standby within 20ms"},
		{"a region fails its gate", func(w *world) { w.gates.fail["eu-west"] = true; w.o.Gates = w.gates },
			"region eu-west: https://api-eu-west.test/health/ready: status 503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.setup(w)
			rep := w.run()
			if rep.Outcome != failover.ManualAction || !strings.Contains(rep.Reason, tc.reason) {
				t.Fatalf("outcome %v reason %q; want manual action, %q", rep.Outcome, rep.Reason, tc.reason)
			}
			if !journalExists(t, w.o.Journal) {
				t.Error("journal removed")
			}
		})
	}
}
