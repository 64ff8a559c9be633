package delivery

import (
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// TestWorkflowsNotifyFailures: deploy, promote and drift end with a step that
// runs only on failure and posts the run's URL to the webhook secret, as the
// last step, so a failure of any earlier step reaches it; promote also hands
// the webhook to infra/promote.
func TestWorkflowsNotifyFailures(t *testing.T) {
	for file, job := range map[string]string{"deploy.yml": "staging", "promote.yml": "promote", "drift.yml": "drift"} {
		w := parse(t, file)
		j := w.Jobs[job]
		if j == nil {
			t.Fatalf("%s has no job %q", file, job)
		}
		last := j.Steps[len(j.Steps)-1]
		if last.If == nil || !strings.Contains(last.If.Value, "failure()") {
			t.Errorf("%s: the last step must run `if: failure()`", file)
			continue
		}
		if e := env(last.Env, "NOTIFY_WEBHOOK"); e != "${{ secrets.HELLOAGENTS_NOTIFY_WEBHOOK }}" {
			t.Errorf("%s: NOTIFY_WEBHOOK = %q, want the secret", file, e)
		}
		if e := env(last.Env, "RUN_URL"); !strings.Contains(e, "github.run_id") {
			t.Errorf("%s: RUN_URL = %q, want the run's URL", file, e)
		}
		sc := script(last)
		for _, want := range []string{"curl", "--max-time", `"$NOTIFY_WEBHOOK"`, "$RUN_URL"} {
			if !strings.Contains(sc, want) {
				t.Errorf("%s: failure step script lacks %s", file, want)
			}
		}
		if strings.Contains(sc, "echo \"$NOTIFY_WEBHOOK") || strings.Contains(sc, "set -x") {
			t.Errorf("%s: failure step may print the webhook URL", file)
		}
	}
	w := parse(t, "promote.yml")
	i := index(w.Jobs["promote"].Steps, func(s *actionlint.Step) bool { return strings.Contains(script(s), "go run ./infra/promote") })
	if i < 0 || env(w.Jobs["promote"].Steps[i].Env, "HELLOAGENTS_NOTIFY_WEBHOOK") != "${{ secrets.HELLOAGENTS_NOTIFY_WEBHOOK }}" {
		t.Error("promote.yml: infra/promote does not get HELLOAGENTS_NOTIFY_WEBHOOK")
	}
}
