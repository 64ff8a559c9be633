package pitr

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/store"
)

// RecordBackup writes b into store.BackupStatusTable, so the backend's
// backups health check (which has no access to the repository) can report
// the age of the last full backup.
func RecordBackup(ctx context.Context, databaseURL string, b BackupInfo) error {
	c, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("record backup: connect: %w", err)
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, `
CREATE SCHEMA IF NOT EXISTS backup_status;
CREATE TABLE IF NOT EXISTS `+store.BackupStatusTable+` (
  kind text PRIMARY KEY, label text NOT NULL, finished_at timestamptz NOT NULL, repo_bytes bigint NOT NULL)`)
	if err != nil {
		return fmt.Errorf("record backup: create table: %w", err)
	}
	_, err = c.Exec(ctx, `INSERT INTO `+store.BackupStatusTable+` (kind, label, finished_at, repo_bytes) VALUES ($1, $2, $3, $4)
ON CONFLICT (kind) DO UPDATE SET label = EXCLUDED.label, finished_at = EXCLUDED.finished_at, repo_bytes = EXCLUDED.repo_bytes`,
		string(b.Type), b.Label, b.Stop, b.RepoSize)
	if err != nil {
		return fmt.Errorf("record backup: %w", err)
	}
	return nil
}

// WakeArchiver reloads the server's configuration. PostgreSQL 15's
// checkpointer computes its first sleep while the server starts up, before
// archive_timeout applies, and may then sleep for all of checkpoint_timeout
// (5 minutes) without forcing a segment switch: an idle-ish primary would
// miss the RPO right after every restart. A reload wakes it with the right
// timeout. The backup job calls this when it starts.
func WakeArchiver(ctx context.Context, databaseURL string) error {
	c, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("wake the archiver: connect: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("wake the archiver: %w", err)
	}
	return nil
}
