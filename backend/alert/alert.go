// Package alert tells the on-call webhook (Slack-compatible; the one the
// edge alerts and the delivery tools use) that a backup job failed. Both
// backup jobs use it: pgbackup (logical dumps) and pitrjob (pgBackRest WAL
// archive and physical backups). The payload names the stack, the region
// and what failed; every string passes through the caller's secret filter
// and redact.Text, and the URL, itself a credential, is never written.
// Posting and retrying are backend/webhook's, shared with the delivery
// notifications.
package alert

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/helloagents/infra/backend/redact"
	"github.com/helloagents/infra/backend/webhook"
)

// EnvURL and EnvRegion configure a Webhook; the stack is SENTRY_ENVIRONMENT.
const (
	EnvURL    = "ALERT_WEBHOOK_URL"
	EnvRegion = "ALERT_REGION"
	envStack  = "SENTRY_ENVIRONMENT"
)

// Webhook posts alerts through backend/webhook, the repository's one webhook
// client: retries after network errors, 429 and 5xx with a doubling
// backoff, none after another 4xx, a total bound, and it stops when the
// job's context ends. A nil *Webhook sends nothing, so callers need no
// checks when ALERT_WEBHOOK_URL is unset.
type Webhook struct {
	URL, Stack, Region string
	// Job names the sender in the message ("pgbackup", "pitrjob").
	Job string
	// Scrub removes the caller's configured secrets from a string.
	Scrub func(string) string
	Log   *slog.Logger
	// Client sends the requests; nil uses backend/webhook's client, which
	// does not follow redirects.
	Client *http.Client
	// Attempts and Backoff are webhook.Client's (its defaults when 0).
	Attempts int
	Backoff  time.Duration
}

// FromEnv returns the job's Webhook, or nil when ALERT_WEBHOOK_URL is unset.
func FromEnv(getenv func(string) string, job string, scrub func(string) string, log *slog.Logger) *Webhook {
	hook := getenv(EnvURL)
	if hook == "" {
		return nil
	}
	return &Webhook{URL: hook, Stack: getenv(envStack), Region: getenv(EnvRegion), Job: job, Scrub: scrub, Log: log}
}

// Payload is the webhook body: Slack shows Text, other receivers read the
// fields.
type Payload struct {
	Text    string `json:"text"`
	Event   string `json:"event"`
	Stack   string `json:"stack"`
	Region  string `json:"region"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// Send posts one alert; a failure to deliver is logged and the job goes on.
// It is sent even when ctx is cancelled: a job often alerts about the very
// failure or SIGTERM that is ending it, and the client's total bound
// (webhook.DefaultTotal) keeps that from holding the shutdown for long.
func (w *Webhook) Send(ctx context.Context, event, detail string) {
	if w == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	c := &webhook.Client{URL: w.URL, Attempts: w.Attempts, Backoff: w.Backoff, HTTP: w.Client}
	detail = w.scrub(c, detail)
	where := w.Stack
	if w.Region != "" {
		where += "/" + w.Region
	}
	err := c.Post(ctx, Payload{
		Text:  fmt.Sprintf("%s %s: %s: %s", w.Job, where, event, detail),
		Event: event, Stack: w.Stack, Region: w.Region, Outcome: "failed", Detail: detail,
	})
	if err != nil && w.Log != nil {
		w.Log.Warn("alert not delivered", "event", event, "error", w.scrub(c, err.Error()))
	}
}

// scrub removes the webhook URL, the caller's secrets and whatever
// redact.Text recognises, in that order: the URL first, whole, before
// redact.Text masks a part of it.
func (w *Webhook) scrub(c *webhook.Client, s string) string {
	s = c.Scrub(s)
	if w.Scrub != nil {
		s = w.Scrub(s)
	}
	return redact.Text(s)
}
