package pitr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/robfig/cron/v3"
)

// Job is the scheduled side of pgBackRest for one cluster: at start it
// wakes the checkpointer (see WakeArchiver), creates the stanza (idempotent)
// and runs `check`; then it takes full and differential backups on their
// cron schedules (expiry by the retention runs with each backup), records
// each success for the backups health check, and reports failures.
type Job struct {
	Runner      Runner
	DatabaseURL string // for WakeArchiver and RecordBackup; a secret
	Full, Diff  cron.Schedule
	Log         *slog.Logger
	// Report receives every failure (Sentry); its error text is scrubbed.
	Report func(error)
}

// Start prepares the repository. A failure here is fatal for the job (the
// container restarts, bounded): without a stanza nothing is archived.
func (j Job) Start(ctx context.Context) error {
	if err := j.wakeWhenUp(ctx); err != nil {
		return err
	}
	if err := j.Runner.StanzaCreate(ctx); err != nil {
		return fmt.Errorf("stanza-create and check: %w", err)
	}
	j.Log.Info("stanza ready: archive_command works end to end", "stanza", j.Runner.Config.Stanza,
		"repository", j.Runner.Config.Describe())
	return nil
}

// Run runs the schedules until ctx ends. Backups never overlap: one due
// while another runs waits for it. When the repository holds no full backup
// yet, one is taken first (pgBackRest would also promote a diff without a
// full to a full).
func (j Job) Run(ctx context.Context) {
	var mu sync.Mutex
	// No full backup yet (a new region): take one now rather than leave the
	// region without a base backup until the first scheduled run.
	if info, err := j.Runner.Info(ctx); err == nil {
		if _, ok := info.LastFull(); !ok {
			j.Log.Info("no full backup in the repository: taking one now")
			_ = j.Once(ctx, Full) // logged and reported by Once
		}
	}
	c := cron.New(cron.WithLocation(time.UTC))
	c.Schedule(j.Full, cron.FuncJob(func() { mu.Lock(); defer mu.Unlock(); _ = j.Once(ctx, Full) }))
	c.Schedule(j.Diff, cron.FuncJob(func() { mu.Lock(); defer mu.Unlock(); _ = j.Once(ctx, Diff) }))
	c.Start()
	now := time.Now().UTC()
	j.Log.Info("backup scheduler started", "next_full", j.Full.Next(now), "next_diff", j.Diff.Next(now),
		"retention_full", j.Runner.Config.Repo.RetentionFull)
	<-ctx.Done()
	<-c.Stop().Done()
	j.Log.Info("backup scheduler stopped")
}

// Once takes one backup, records it and logs one line with the outcome.
func (j Job) Once(ctx context.Context, typ BackupType) error {
	start := time.Now()
	b, err := j.Runner.Backup(ctx, typ)
	if err == nil {
		err = RecordBackup(ctx, j.DatabaseURL, b)
	}
	if err != nil {
		if ctx.Err() != nil {
			j.Log.Warn("backup run", "type", typ, "status", "cancelled")
			return err
		}
		msg := j.Runner.Scrub(err.Error())
		j.Log.Error("backup run", "type", typ, "status", "failed", "error", msg,
			"duration_ms", time.Since(start).Milliseconds())
		if j.Report != nil {
			j.Report(fmt.Errorf("pgbackrest %s backup: %s", typ, msg))
		}
		return err
	}
	j.Log.Info("backup run", "type", typ, "status", "ok", "label", b.Label, "kind", b.Type,
		"database_bytes", b.Size, "repository_bytes", b.RepoSize, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// wakeWhenUp wakes the archiver, waiting (until ctx ends) while Postgres
// does not accept connections yet: the job starts beside its Postgres, which
// on a new region or a replaced container is still starting. Failing then
// would restart the job and page the on-call for nothing at every deploy.
// Any other error (a wrong database, a refused role) ends it at once.
func (j Job) wakeWhenUp(ctx context.Context) error {
	delay := 500 * time.Millisecond
	for {
		err := WakeArchiver(ctx, j.DatabaseURL)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return stoppedWaiting(ctx, err)
		case !notUpYet(err):
			return err
		}
		j.Log.Info("waiting for Postgres to accept connections", "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return stoppedWaiting(ctx, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// stoppedWaiting is the error of a wait for Postgres that ctx ended: the
// last connection error and why the wait stopped.
func stoppedWaiting(ctx context.Context, err error) error {
	return fmt.Errorf("%w (stopped waiting for Postgres: %w)", err, context.Cause(ctx))
}

// cannotConnectNow is the SQLSTATE of "the database system is starting
// up" (or shutting down).
const cannotConnectNow = "57P03"

// notUpYet reports whether err means Postgres is not accepting connections
// yet: its name does not resolve (Docker's DNS knows a container only once
// it exists: a replaced Postgres is created after the job), nothing
// listens (a network error), or it answers that it is starting up or
// shutting down (SQLSTATE 57P03, cannot_connect_now).
func notUpYet(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == cannotConnectNow
	}
	var dnsErr *net.DNSError
	var netErr *net.OpError
	return errors.As(err, &dnsErr) || errors.As(err, &netErr)
}
