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
	"github.com/helloagents/infra/backend/postgres"
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
	s, err := loadSettings(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "pitrjob: invalid configuration:\n%v\n", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil)).With("component", "pitrjob")
	toSentry, flush, err := reporter(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "pitrjob: %v\n", err)
		return 2
	}
	defer flush()
	runner := pitr.Runner{Config: s.cfg}
	// The on-call webhook hears what Sentry hears: a failed backup, or a
	// failed stanza check (WAL is not reaching the repository).
	alerts := alert.FromEnv(getenv, "pitrjob", runner.Scrub, log)
	report := func(err error) {
		toSentry(err)
		alerts.Send(ctx, "backup failed", err.Error())
	}
	job := pitr.Job{Runner: runner, DatabaseURL: s.dbURL, Full: s.full, Diff: s.diff, Log: log, Report: report}
	if args[0] == "backup" {
		return backupOnce(ctx, job, args[1], stderr)
	}
	return schedule(ctx, job, func(msg string) {
		toSentry(errors.New(msg))
		alerts.Send(ctx, "WAL archive check failed", msg)
	})
}

// settings are the job's configuration from the environment.
type settings struct {
	cfg        pitr.Config
	dbURL      string
	full, diff cron.Schedule
}

// loadSettings reads and checks the configuration, returning every problem
// at once.
func loadSettings(getenv func(string) string) (settings, error) {
	s := settings{cfg: pitr.FromEnv(getenv), dbURL: getenv(postgres.EnvDatabaseURL)}
	var errs []error
	if err := s.cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if s.dbURL == "" {
		errs = append(errs, errors.New("DATABASE_URL: required"))
	}
	var err error
	if s.full, err = cron.ParseStandard(orDefault(getenv(postgres.EnvFullSchedule), "0 2 * * 0")); err != nil {
		errs = append(errs, errors.New("PITR_FULL_SCHEDULE: want a 5-field cron expression"))
	}
	if s.diff, err = cron.ParseStandard(orDefault(getenv(postgres.EnvDiffSchedule), "0 2 * * 1-6")); err != nil {
		errs = append(errs, errors.New("PITR_DIFF_SCHEDULE: want a 5-field cron expression"))
	}
	return s, errors.Join(errs...)
}

// backupOnce takes one backup of type typ (full or diff) now.
func backupOnce(ctx context.Context, job pitr.Job, typ string, stderr io.Writer) int {
	t := pitr.BackupType(typ)
	if t != pitr.Full && t != pitr.Diff {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err := job.Once(ctx, t); err != nil {
		return 1
	}
	return 0
}

// schedule creates the stanza and checks the archive, within ten minutes,
// then runs the backups on their schedules until ctx ends. A failed start
// is logged and passed to failedStart.
func schedule(ctx context.Context, job pitr.Job, failedStart func(msg string)) int {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err := job.Start(sctx)
	cancel()
	if err != nil {
		// pgBackRest output is scrubbed by the runner; driver errors by redact.
		msg := redact.Text(err.Error())
		job.Log.Error("start", "error", msg)
		failedStart(msg)
		return 1
	}
	job.Run(ctx)
	return 0
}

// reporter sends failures to Sentry when SENTRY_DSN is set.
func reporter(getenv func(string) string) (func(error), func(), error) {
	dsn := getenv(postgres.EnvSentryDSN)
	if dsn == "" {
		return func(error) {}, func() {}, nil
	}
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Environment: getenv(postgres.EnvSentryEnvironment), ServerName: "pitrjob"})
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
