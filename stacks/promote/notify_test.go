package promote_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/helloagents/infra/backend/testkit"
	"github.com/helloagents/infra/canary"
	"github.com/helloagents/infra/healthcheck"
	"github.com/helloagents/infra/notify"
	"github.com/helloagents/infra/stacks/operation"
	"github.com/helloagents/infra/stacks/promote"
)

// newWebhook is a notifier posting to a local receiver (testkit.Receiver)
// that fails every post when failing.
func newWebhook(t *testing.T, failing bool) (*testkit.Receiver, *notify.Webhook, *bytes.Buffer) {
	t.Helper()
	fail := 0
	if failing {
		fail = -1
	}
	r := testkit.NewReceiver(t, fail, http.StatusInternalServerError)
	log := &bytes.Buffer{}
	return r, &notify.Webhook{URL: r.URL, Backoff: time.Millisecond, Timeout: 2 * time.Second, Log: log}, log
}

// sequence renders the received payloads as "event region outcome" lines.
func sequence(t *testing.T, r *testkit.Receiver) []string {
	var out []string
	for _, p := range testkit.Decode[map[string]string](t, r) {
		out = append(out, strings.Join(strings.Fields(p["event"]+" "+p["region"]+" "+p["outcome"]), " "))
	}
	return out
}

// leakyGates fails region b with an error that carries credentials, as a
// careless error message might.
type leakyGates struct{}

func (leakyGates) Source(context.Context, string, string) error { return nil }
func (leakyGates) Region(_ context.Context, url, _ string, _ healthcheck.Settings) error {
	if strings.Contains(url, "b.test/"+tagOf(newImage)) {
		return fmt.Errorf("GET https://deploy:hunter2@%s?token=tok-SECRET: status 503", strings.TrimPrefix(url, "http://"))
	}
	return nil
}

func TestPromoteNotifiesTheDocumentedSequence(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gates   operation.Gates
		outcome promote.Outcome
		want    []string
	}{
		{"promoted", gates{}, promote.Promoted, []string{
			"start started", "region a passed", "region b passed", "region c passed", "finish promoted"}},
		{"rolled back", leakyGates{}, promote.RolledBack, []string{
			"start started", "region a passed", "region b failed", "rollback started", "finish rolled back"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hook, log := newWebhook(t, false)
			m := newMem("a", "b", "c")
			o := memOptions(t)
			o.Gates, o.Notify = tc.gates, hook
			rep := promote.Run(t.Context(), m, o)
			if rep.Outcome != tc.outcome {
				t.Fatalf("outcome %s (%s), want %s", rep.Outcome, rep.Reason, tc.outcome)
			}
			if got := sequence(t, srv); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("notifications:\n got %q\nwant %q", got, tc.want)
			}
			for i, p := range testkit.Decode[map[string]string](t, srv) {
				if p["stack"] != "production" || p["text"] == "" || p["image"] != newImage {
					t.Errorf("payload %d: %v", i, p)
				}
			}
			for _, raw := range srv.Bodies() {
				for _, secret := range []string{"hunter2", "tok-SECRET", testkit.HookSecret} {
					if strings.Contains(raw, secret) {
						t.Errorf("payload carries %q: %s", secret, raw)
					}
				}
			}
			if log.Len() > 0 {
				t.Errorf("notifier logged with a working webhook:\n%s", log)
			}
		})
	}
}

func TestFailingWebhookNeverFailsThePromotion(t *testing.T) {
	srv, hook, log := newWebhook(t, true)
	m := newMem("a", "b")
	o := memOptions(t)
	o.Notify = hook
	rep := promote.Run(t.Context(), m, o)
	if rep.Outcome != promote.Promoted {
		t.Fatalf("outcome %s (%s), want promoted despite the failing webhook", rep.Outcome, rep.Reason)
	}
	// start, two regions, finish: four events, each tried DefaultAttempts times.
	if want := 4 * notify.DefaultAttempts; srv.Posts() != want {
		t.Errorf("%d posts, want %d (bounded attempts per event)", srv.Posts(), want)
	}
	if n := strings.Count(log.String(), "not delivered"); n != 4 {
		t.Errorf("%d undelivered events logged, want 4:\n%s", n, log)
	}
	if strings.Contains(log.String(), testkit.HookSecret) {
		t.Errorf("log reveals the webhook URL:\n%s", log)
	}
}

func TestDryRunNotifiesNothing(t *testing.T) {
	srv, hook, _ := newWebhook(t, false)
	o := memOptions(t)
	o.DryRun, o.Notify = true, hook
	if rep := promote.Run(t.Context(), newMem("a", "b"), o); rep.Outcome != promote.Promoted {
		t.Fatalf("outcome %s (%s)", rep.Outcome, rep.Reason)
	}
	if srv.Posts() != 0 {
		t.Errorf("%d posts for a dry run", srv.Posts())
	}
}

// A failed canary's region event and the rollback carry the figures that
// failed it, so whoever is paged sees why without opening the report.
func TestFailedCanaryNotifiesItsFigures(t *testing.T) {
	r, hook, _ := newWebhook(t, false)
	m := newMem("a", "b")
	m.canary = true
	o := memOptions(t)
	o.Notify = hook
	o.Judge = &judge{verdicts: map[string]canary.Outcome{"b": canary.Failed}}
	rep := promote.Run(t.Context(), m, o)
	if rep.Outcome != promote.RolledBack {
		t.Fatalf("outcome %s (%s), want rolled back", rep.Outcome, rep.Reason)
	}
	var region, rollback map[string]string
	for _, p := range testkit.Decode[map[string]string](t, r) {
		switch {
		case p["event"] == string(notify.Region) && p["region"] == "b":
			region = p
		case p["event"] == string(notify.Rollback):
			rollback = p
		}
	}
	for what, p := range map[string]map[string]string{"region b": region, "rollback": rollback} {
		if p == nil || !strings.Contains(p["text"], "canary 400 requests, error ratio 5.00 %") ||
			!strings.Contains(p["text"], "error ratio 5.00 % is above the limit 1.00 %") {
			t.Errorf("%s notification %q, want the canary's figures and the broken limit", what, p)
		}
	}
	if region["outcome"] != promote.ResultFailed {
		t.Errorf("region b notified %q, want failed", region["outcome"])
	}
	// The canary came and went: b's stable image never changed.
	if m.deployed[1] != oldImage || m.regions[1]["canaryImage"] != nil {
		t.Errorf("b deployed %s, canary %v; want the old image and no canary", m.deployed[1], m.regions[1]["canaryImage"])
	}
}
