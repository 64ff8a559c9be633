// Command pitrjob is the scheduled pgBackRest job of a region: it runs in
// the Postgres image beside the server (same uid, the data volume and the
// server's socket directory mounted), creates the stanza and checks the
// archive at start, then takes full and differential backups on their cron
// schedules until SIGTERM.
//
//	pitrjob run              the scheduler (the container's command)
//	pitrjob backup full|diff one backup now
//
// Environment: the PGBACKREST_* variables of the server, DATABASE_URL (to
// wake the archiver and record backups for /health), PITR_FULL_SCHEDULE,
// PITR_DIFF_SCHEDULE (cron, UTC), SENTRY_DSN and SENTRY_ENVIRONMENT (failed
// backups are reported). Exit status: 0 ok, 1 failed, 2 usage or configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/robfig/cron/v3"

	"github.com/helloagents/infra/backend/alert"
	"github.com/helloagents/infra/backend/pitr"
	"github.com/helloagents/infra/backend/redact"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = "usage: pitrjob run | pitrjob backup full|diff\n"

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "run" && args[0] != "backup") || (args[0] == "backup" && len(args) != 2) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg := pitr.FromEnv(getenv)
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	dbURL := getenv("DATABASE_URL")
	if dbURL == "" {
		errs = append(errs, errors.New("DATABASE_URL: required"))
	}
	full, err := cron.ParseStandard(orDefault(getenv("PITR_FULL_SCHEDULE"), "0 2 * * 0"))
	if err != nil {
		errs = append(errs, errors.New("PITR_FULL_SCHEDULE: want a 5-field cron expression"))
	}
	diff, err := cron.ParseStandard(orDefault(getenv("PITR_DIFF_SCHEDULE"), "0 2 * * 1-6"))
	if err != nil {
		errs = append(errs, errors.New("PITR_DIFF_SCHEDULE: want a 5-field cron expression"))
	}
	if len(errs) > 0 {
		fmt.Fprintf(stderr, "pitrjob: invalid configuration:\n%v\n", errors.Join(errs...))
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil)).With("component", "pitrjob")
	report, flush, err := reporter(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "pitrjob: %v\n", err)
		return 2
	}
	defer flush()
	runner := pitr.Runner{Config: cfg}
	// The on-call webhook hears what Sentry hears: a failed backup, or a
	// failed stanza check (WAL is not reaching the repository).
	alerts := alert.FromEnv(getenv, "pitrjob", runner.Scrub, log)
	toSentry := report
	report = func(err error) {
		toSentry(err)
		alerts.Send(ctx, "backup failed", err.Error())
	}
	job := pitr.Job{Runner: runner, DatabaseURL: dbURL, Full: full, Diff: diff, Log: log, Report: report}

	if args[0] == "backup" {
		typ := pitr.BackupType(args[1])
		if typ != pitr.Full && typ != pitr.Diff {
			fmt.Fprint(stderr, usage)
			return 2
		}
		if err := job.Once(ctx, typ); err != nil {
			return 1
		}
		return 0
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err = job.Start(sctx)
	cancel()
	if err != nil {
		// pgBackRest output is scrubbed by the runner; driver errors by redact.
		msg := redact.Text(err.Error())
		log.Error("start", "error", msg)
		toSentry(errors.New(msg))
		alerts.Send(ctx, "WAL archive check failed", msg)
		return 1
	}
	job.Run(ctx)
	return 0
}

// reporter sends failures to Sentry when SENTRY_DSN is set.
func reporter(getenv func(string) string) (func(error), func(), error) {
	dsn := getenv("SENTRY_DSN")
	if dsn == "" {
		return func(error) {}, func() {}, nil
	}
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Environment: getenv("SENTRY_ENVIRONMENT"), ServerName: "pitrjob"})
	if err != nil {
		return nil, nil, errors.New("SENTRY_DSN: the Sentry client refused it; value not shown")
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	hub.Scope().SetTag("component", "pitrjob")
	return func(err error) {
			hub.CaptureException(err)
			hub.Flush(5 * time.Second)
		}, func() {
			hub.Flush(5 * time.Second)
		}, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
