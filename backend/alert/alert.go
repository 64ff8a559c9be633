// Package alert tells the on-call webhook (Slack-compatible; the one the
// edge alerts and the delivery tools use) that a backup job failed. Both
// backup jobs use it: pgbackup (logical dumps) and pitrjob (pgBackRest WAL
// archive and physical backups). The payload names the stack, the region
// and what failed; every string passes through the caller's secret filter
// and redact.Text, and the URL, itself a credential, is never written.
package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/helloagents/infra/backend/redact"
)

// EnvURL and EnvRegion configure a Webhook; the stack is SENTRY_ENVIRONMENT.
const (
	EnvURL    = "ALERT_WEBHOOK_URL"
	EnvRegion = "ALERT_REGION"
	envStack  = "SENTRY_ENVIRONMENT"
)

// Webhook posts alerts with a bounded number of attempts. A nil *Webhook
// sends nothing, so callers need no checks when ALERT_WEBHOOK_URL is unset.
type Webhook struct {
	URL, Stack, Region string
	// Job names the sender in the message ("pgbackup", "pitrjob").
	Job string
	// Scrub removes the caller's configured secrets from a string.
	Scrub    func(string) string
	Log      *slog.Logger
	Client   *http.Client
	Attempts int
	Backoff  time.Duration
}

// FromEnv returns the job's Webhook, or nil when ALERT_WEBHOOK_URL is unset.
func FromEnv(getenv func(string) string, job string, scrub func(string) string, log *slog.Logger) *Webhook {
	hook := getenv(EnvURL)
	if hook == "" {
		return nil
	}
	return &Webhook{URL: hook, Stack: getenv(envStack), Region: getenv(EnvRegion), Job: job, Scrub: scrub, Log: log,
		Client: &http.Client{Timeout: 5 * time.Second}, Attempts: 3, Backoff: time.Second}
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
func (w *Webhook) Send(ctx context.Context, event, detail string) {
	if w == nil {
		return
	}
	detail = redact.Text(w.scrub(detail))
	where := w.Stack
	if w.Region != "" {
		where += "/" + w.Region
	}
	body, _ := json.Marshal(Payload{
		Text:  fmt.Sprintf("%s %s: %s: %s", w.Job, where, event, detail),
		Event: event, Stack: w.Stack, Region: w.Region, Outcome: "failed", Detail: detail,
	})
	ctx = context.WithoutCancel(ctx)
	wait := w.Backoff
	var last error
	for i := 1; i <= w.Attempts; i++ {
		if last = w.post(ctx, body); last == nil {
			return
		}
		if i < w.Attempts {
			time.Sleep(wait)
			wait *= 2
		}
	}
	w.Log.Warn("alert not delivered", "event", event, "attempts", w.Attempts, "error", w.scrub(last.Error()))
}

func (w *Webhook) scrub(s string) string {
	s = redact.Text(s)
	if w.Scrub != nil {
		s = w.Scrub(s)
	}
	return s
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("invalid " + EnvURL)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the credential
		}
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
