package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/health"
)

// BackupStatusTable is where the backup job records its last successful
// backup of each type (pitr.RecordBackup writes it). The backups health
// check reads it; it is absent until the first backup.
const BackupStatusTable = "backup_status.last_backup"

// Querier is what ArchiveStats needs: a pool, a connection or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ArchiveStats reads WAL archiving from pg_stat_archiver (no privileges
// needed) and the last full backup from BackupStatusTable.
func (s *Store) ArchiveStats(ctx context.Context) (health.ArchiveStats, error) {
	return ArchiveStats(ctx, s.pool)
}

// ArchiveStats is Store.ArchiveStats for any Querier.
func ArchiveStats(ctx context.Context, q Querier) (health.ArchiveStats, error) {
	var (
		st                   health.ArchiveStats
		lastWAL, currentWAL  *string
		archivedAt, failedAt *time.Time
		hasStatus            bool
	)
	err := q.QueryRow(ctx, `
SELECT current_setting('archive_mode') <> 'off', pg_is_in_recovery(), a.last_archived_wal, a.last_archived_time,
       a.last_failed_time, a.failed_count,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END,
       to_regclass($1) IS NOT NULL
FROM pg_stat_archiver a`, BackupStatusTable).Scan(&st.Enabled, &st.InRecovery, &lastWAL, &archivedAt, &failedAt, &st.FailedCount, &currentWAL, &hasStatus)
	if err != nil {
		return st, fmt.Errorf("store: archive status: %w", err)
	}
	if archivedAt != nil {
		st.LastArchivedAt = *archivedAt
	}
	if failedAt != nil {
		st.LastFailedAt = *failedAt
	}
	if lastWAL != nil {
		st.LastArchivedWAL = *lastWAL
	}
	if currentWAL != nil {
		st.PendingSegments = pendingSegments(st.LastArchivedWAL, *currentWAL)
	}
	if hasStatus {
		var full *time.Time
		if err := q.QueryRow(ctx, "SELECT max(finished_at) FROM "+BackupStatusTable+" WHERE kind = 'full'").Scan(&full); err != nil {
			return st, fmt.Errorf("store: backup status: %w", err)
		}
		if full != nil {
			st.LastFullBackupAt = *full
		}
	}
	return st, nil
}

// pendingSegments counts the closed segments between the last archived one
// and the one being written (same timeline; 16 MiB segments). A last
// archived name longer than 24 characters (a .history or .backup file)
// counts from its segment.
func pendingSegments(lastArchived, current string) int64 {
	cur, ok := segNo(current)
	if !ok {
		return 0
	}
	if lastArchived == "" {
		return 0 // nothing archived yet: unknown, not "behind"
	}
	if len(lastArchived) > 24 {
		lastArchived = lastArchived[:24]
	}
	last, ok := segNo(lastArchived)
	if !ok || lastArchived[:8] != current[:8] || cur <= last {
		return 0
	}
	return cur - last - 1
}

func segNo(name string) (int64, bool) {
	if len(name) != 24 {
		return 0, false
	}
	log, err1 := strconv.ParseInt(name[8:16], 16, 64)
	seg, err2 := strconv.ParseInt(name[16:24], 16, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return log*0x100 + seg, true
}
