package main

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

	"github.com/helloagents/infra/backend/backup"
	"github.com/helloagents/infra/backend/redact"
)

// alerter tells the on-call webhook (ALERT_WEBHOOK_URL, Slack-compatible, the
// same one the edge alerts and the delivery tools use) that a run failed or
// that the newest good backup is older than the schedule allows. The payload
// names the stack (SENTRY_ENVIRONMENT), the region (ALERT_REGION) and what
// failed; every string passes through the configured-secret filter and
// redact.Text, and the URL, itself a credential, is never written.
type alerter struct {
	url, stack, region string
	secrets            *secrets
	log                *slog.Logger
	client             *http.Client
	attempts           int
	backoff            time.Duration
}

// newAlerter returns nil when ALERT_WEBHOOK_URL is unset.
func (a *app) newAlerter(log *slog.Logger, sec *secrets) *alerter {
	hook, _ := a.lookup("ALERT_WEBHOOK_URL")
	if hook == "" {
		return nil
	}
	sec.add(hook)
	region, _ := a.lookup("ALERT_REGION")
	return &alerter{url: hook, stack: a.cfg.SentryEnv, region: region, secrets: sec, log: log,
		client: &http.Client{Timeout: 5 * time.Second}, attempts: 3, backoff: time.Second}
}

// alertPayload is the webhook body: Slack shows text, other receivers read
// the fields.
type alertPayload struct {
	Text    string `json:"text"`
	Event   string `json:"event"`
	Stack   string `json:"stack"`
	Region  string `json:"region"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// send posts one alert with up to attempts tries; a failure is logged, the
// job goes on.
func (al *alerter) send(ctx context.Context, event, detail string) {
	if al == nil {
		return
	}
	detail = redact.Text(al.secrets.redact(detail))
	where := al.stack
	if al.region != "" {
		where += "/" + al.region
	}
	body, _ := json.Marshal(alertPayload{
		Text:  fmt.Sprintf("pgbackup %s: %s: %s", where, event, detail),
		Event: event, Stack: al.stack, Region: al.region, Outcome: "failed", Detail: detail,
	})
	ctx = context.WithoutCancel(ctx)
	wait := al.backoff
	var last error
	for i := 1; i <= al.attempts; i++ {
		if last = al.post(ctx, body); last == nil {
			return
		}
		if i < al.attempts {
			time.Sleep(wait)
			wait *= 2
		}
	}
	al.log.Warn("alert not delivered", "event", event, "attempts", al.attempts, "error", al.secrets.redact(last.Error()))
}

func (al *alerter) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, al.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("invalid ALERT_WEBHOOK_URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := al.client.Do(req)
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

// Alert events of the backup job.
const (
	alertFailed = "backup failed"
	alertStale  = "last good backup too old"
)

// checkFreshness alerts when the newest good backup of the database is older
// than two schedule periods: at least one scheduled backup is missing.
func (a *app) checkFreshness(ctx context.Context, al *alerter, now time.Time) {
	if al == nil {
		return
	}
	allowed := 2 * period(a.cfg.SchedulerSpec, now)
	cat, err := backup.ReadCatalog(ctx, a.store, a.prefix, a.databaseName())
	if err != nil {
		al.send(ctx, alertStale, "cannot list the backups to check their age: "+err.Error())
		return
	}
	if len(cat.Backups) == 0 {
		al.send(ctx, alertStale, "no good backup of database "+a.databaseName()+" exists")
		return
	}
	if age := now.Sub(cat.Backups[0].Created); age > allowed {
		al.send(ctx, alertStale, fmt.Sprintf("newest good backup %s is %s old; the schedule %q allows %s",
			cat.Backups[0].Key, age.Round(time.Second), a.cfg.Schedule, allowed))
	}
}

// period is the time between two scheduled runs after now.
type scheduleNext interface{ Next(time.Time) time.Time }

func period(s scheduleNext, now time.Time) time.Duration {
	first := s.Next(now)
	return s.Next(first).Sub(first)
}
