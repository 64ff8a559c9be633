// Command pitrjob is the scheduled pgBackRest job of a region: it runs in
// the Postgres image beside the server (same uid, the data volume and the
// server's socket directory mounted), creates the stanza and checks the
// archive at start, then takes full and differential backups on their cron
// schedules until SIGTERM.
//
//	pitrjob run              the scheduler (the container's command)
//	pitrjob backup full|diff one backup now
//	pitrjob --help           the usage: commands, environment, exit status
//
// Environment: the PGBACKREST_* variables of the server, DATABASE_URL (to
// wake the archiver and record backups for /health), PITR_FULL_SCHEDULE,
// PITR_DIFF_SCHEDULE (cron, UTC), SENTRY_DSN and SENTRY_ENVIRONMENT (failed
// backups are reported). Exit status: 0 ok (also --help), 1 failed, 2 usage
// or configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/getsentry/sentry-go"
	"github.com/robfig/cron/v3"

	"github.com/helloagents/infra/backend/alert"
	"github.com/helloagents/infra/backend/cli"
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

// Default schedules (cron, UTC): a full backup on Sunday, differentials on
// the other days.
const (
	defaultFullSchedule = "0 2 * * 0"
	defaultDiffSchedule = "0 2 * * 1-6"
)

// synopsis is the short form usage errors print; usage the whole of --help.
const synopsis = `usage: pitrjob run
       pitrjob backup full|diff
`

const usage = synopsis + `
The scheduled pgBackRest job of a region. It runs in the Postgres image
beside the server (same uid, the data volume and the server's socket
directory mounted).

  run          create the stanza and check the WAL archive (within 10
               minutes), then take full and differential backups on their
               schedules until SIGTERM (the container's command)
  backup full  take one full backup now
  backup diff  take one differential backup now

Environment: the server's PGBACKREST_* variables (the repository);
DATABASE_URL (required: wakes the archiver and records backups for
/health); PITR_FULL_SCHEDULE (cron, UTC; default "` + defaultFullSchedule + `");
PITR_DIFF_SCHEDULE (default "` + defaultDiffSchedule + `"); SENTRY_DSN and
SENTRY_ENVIRONMENT (failed backups are reported); ALERT_WEBHOOK_URL and
ALERT_REGION (the on-call webhook hears a failed backup or archive check).

Exit status: 0 ok (also --help), 1 a backup or the start failed, 2 usage or
configuration error.

Flags:
  -h, --help   this text
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	// The command line is decided before the configuration is read or
	// anything is opened.
	// "pitrjob backup --help" asks for help too, though the flag package
	// stops at "backup".
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" }) {
		fmt.Fprint(stderr, usage)
		return cli.ExitOK
	}
	fs := cli.NewFlagSet("pitrjob", usage, stderr)
	if code, done := cli.Parse(fs, args); done {
		return code
	}
	args = fs.Args()
	if !validArgs(args) {
		fmt.Fprintf(stderr, "pitrjob: unexpected arguments %q\n%sRun pitrjob --help for more.\n", args, synopsis)
		return cli.ExitUsage
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
		return backupOnce(ctx, job, args[1])
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
	if s.full, err = cron.ParseStandard(orDefault(getenv(postgres.EnvFullSchedule), defaultFullSchedule)); err != nil {
		errs = append(errs, errors.New(postgres.EnvFullSchedule+": want a 5-field cron expression"))
	}
	if s.diff, err = cron.ParseStandard(orDefault(getenv(postgres.EnvDiffSchedule), defaultDiffSchedule)); err != nil {
		errs = append(errs, errors.New(postgres.EnvDiffSchedule+": want a 5-field cron expression"))
	}
	return s, errors.Join(errs...)
}

// validArgs accepts "run" and "backup full|diff".
func validArgs(args []string) bool {
	switch {
	case len(args) == 1 && args[0] == "run":
		return true
	case len(args) == 2 && args[0] == "backup":
		t := pitr.BackupType(args[1])
		return t == pitr.Full || t == pitr.Diff
	}
	return false
}

// backupOnce takes one backup of type typ (full or diff, checked by
// validArgs) now.
func backupOnce(ctx context.Context, job pitr.Job, typ string) int {
	if err := job.Once(ctx, pitr.BackupType(typ)); err != nil {
		return 1
	}
	return 0
}

// schedule creates the stanza and checks the archive, within ten minutes
// (waiting for a Postgres that is still starting), then runs the backups on
// their schedules until ctx ends. A failed start is logged and passed to
// failedStart; a stop during the start is not a failure.
func schedule(ctx context.Context, job pitr.Job, failedStart func(msg string)) int {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	err := job.Start(sctx)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Stopped (SIGTERM) before the start finished: a shutdown, not a
		// failure to report.
		job.Log.Info("stopped before the stanza was ready", "reason", context.Cause(ctx).Error())
		return 0
	}
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
