package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/helloagents/infra/backend/alert"
	"github.com/helloagents/infra/backend/backup"
)

// alerter is the job's on-call webhook (backend/alert): failed runs and a
// newest good backup older than the schedule allows. Nil when
// ALERT_WEBHOOK_URL is unset; the URL and every configured secret are
// filtered out of what it sends and logs.
type alerter struct{ *alert.Webhook }

// newAlerter returns nil when ALERT_WEBHOOK_URL is unset.
func (a *app) newAlerter(log *slog.Logger, sec *secrets) *alerter {
	getenv := func(k string) string { v, _ := a.lookup(k); return v }
	w := alert.FromEnv(getenv, "pgbackup", sec.redact, log)
	if w == nil {
		return nil
	}
	sec.add(w.URL)
	if w.Stack == "" {
		w.Stack = a.cfg.SentryEnv
	}
	return &alerter{w}
}

func (al *alerter) send(ctx context.Context, event, detail string) {
	if al == nil {
		return
	}
	al.Send(ctx, event, detail)
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
