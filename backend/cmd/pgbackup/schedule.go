package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/robfig/cron/v3"

	"github.com/helloagents/infra/backend/backup"
	"github.com/helloagents/infra/backend/pgbackup"
)

// cmdRun is the long-running job: backup then prune on BACKUP_SCHEDULE. The
// standard cron parser is enough: "@every 1s" (which the tests use) is one of
// its descriptors, so no seconds field is needed. Runs never overlap; a run
// still going when the next is due is skipped. On SIGTERM the running backup
// is cancelled (its upload aborted, so it leaves no good-looking object) and
// the process exits 0.
func cmdRun(ctx context.Context, a *app, args []string) error {
	if err := a.parse(newFlags("run", a.stderr), args, a.needDatabase); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(a.stdout, nil))
	report, flush, err := a.errorReporter()
	if err != nil {
		return err
	}
	defer flush()

	c := cron.New(cron.WithLocation(time.UTC),
		cron.WithChain(cron.Recover(cronLogger{log}), cron.SkipIfStillRunning(cronLogger{log})))
	al := a.newAlerter(log, newSecrets(a.cfg.Secrets()...))
	a.checkFreshness(ctx, al, time.Now())
	c.Schedule(a.cfg.SchedulerSpec, cron.FuncJob(func() { a.runOnce(ctx, log, report, al) }))
	c.Start()
	log.Info("scheduler started", "schedule", a.cfg.Schedule, "destination", a.cfg.Destination.String(),
		"database", a.databaseName(), "retention_days", int(a.cfg.Retention.Hours()/24),
		"keep_last", a.cfg.KeepLast, "next", a.cfg.SchedulerSpec.Next(time.Now().UTC()))
	<-ctx.Done()
	<-c.Stop().Done() // the running job, if any, sees ctx cancelled and ends
	log.Info("scheduler stopped", "reason", "signal")
	return nil
}

// runOnce takes a backup, prunes, and logs one JSON line with the outcome.
func (a *app) runOnce(ctx context.Context, log *slog.Logger, report func(error), al *alerter) {
	start := time.Now()
	m, err := a.backup(ctx)
	attrs := []any{"database", a.databaseName(), "destination", a.cfg.Destination.String()}
	if err == nil {
		attrs = append(attrs, "key", m.Key, "size", m.Size, "sha256", m.SHA256)
		var res backup.PruneResult
		res, err = backup.Prune(ctx, a.store, a.prefix, time.Now(), a.cfg.Retention, a.cfg.KeepLast)
		if err != nil {
			err = fmt.Errorf("prune: %w", err)
		}
		attrs = append(attrs, "pruned", len(res.Deleted), "pruned_incomplete", len(res.Orphans), "kept", res.Kept)
	}
	attrs = append(attrs, "duration_ms", time.Since(start).Milliseconds())
	if err != nil {
		if ctx.Err() != nil {
			log.Warn("backup run", append(attrs, "status", "cancelled", "error", err.Error())...)
			return
		}
		log.Error("backup run", append(attrs, "status", "failed", "error", err.Error())...)
		report(err)
		al.send(ctx, alertFailed, err.Error())
		a.checkFreshness(ctx, al, time.Now())
		return
	}
	log.Info("backup run", append(attrs, "status", "ok")...)
}

// errorReporter returns how a failed run is reported to Sentry (a no-op
// without SENTRY_DSN) and a flush for shutdown. Only the message of the
// error, already free of the configured secrets, is sent.
func (a *app) errorReporter() (func(error), func(), error) {
	if a.cfg.SentryDSN == "" {
		return func(error) {}, func() {}, nil
	}
	version, _ := a.lookup(pgbackup.EnvAppVersion)
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn: a.cfg.SentryDSN, Environment: a.cfg.SentryEnv, Release: version, ServerName: "pgbackup",
	})
	if err != nil {
		return nil, nil, usageError{errors.New("SENTRY_DSN: the Sentry client refused it; value not shown")}
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	hub.Scope().SetTag("component", "pgbackup")
	hub.Scope().SetTag("destination", a.cfg.Destination.Scheme)
	sec := newSecrets(a.cfg.Secrets()...)
	report := func(err error) {
		hub.CaptureException(errors.New(sec.redact(err.Error())))
		hub.Flush(5 * time.Second)
	}
	return report, func() { hub.Flush(5 * time.Second) }, nil
}

// cronLogger sends cron's own messages (a skipped or panicking run) to slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Info("cron: "+msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "error", err.Error())...)
}
