// Package standby runs the database side of warm standbys and failover: it
// reads a server's replication role and lag, fences an old primary so it
// never accepts a write again, promotes a standby, and prepares a data
// directory for the role the container is told to run (seed or re-seed a
// standby from the pgBackRest repository, refuse a fenced primary).
//
// Standbys follow the primary through the WAL archive only (restore_command
// is pgbackrest archive-get): no network path between regions is needed.
// Promotion is always an explicit operator action (pgrole promote, run by
// infra/failover): no consensus store spans the regions, so an automatic
// promotion could make two primaries.
package standby

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/helloagents/infra/backend/replication"
)

// FenceFile is the marker, in the data directory, of a primary fenced by a
// failover: a server with it never starts as a primary again.
const FenceFile = "helloagents.fenced"

// Role, Status and the roles are backend/replication's, the types both
// sides of `pgrole status --json` share (as os.FileInfo is fs.FileInfo).
type (
	Role   = replication.Role
	Status = replication.Status
)

// The roles.
const (
	Primary = replication.Primary
	Standby = replication.Standby
)

// Querier runs one query: a connection, a pool or a transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// statusQuery reads the role and, on a standby, the replay position. The
// timeline of a primary is that of its current WAL file; a standby (where
// pg_walfile_name is not allowed) reports the timeline of its last
// restartpoint, which follows the primary's within a checkpoint.
const statusQuery = `
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery() THEN (SELECT timeline_id FROM pg_control_checkpoint())
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
       pg_last_xact_replay_timestamp(),
       extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8,
       coalesce(pg_last_wal_replay_lsn()::text, '')`

// ReadStatus reads the server's Status through q; dataDir, when not empty,
// is checked for FenceFile.
func ReadStatus(ctx context.Context, q Querier, dataDir string) (Status, error) {
	var (
		s   Status
		at  *time.Time
		lag *float64
	)
	if err := q.QueryRow(ctx, statusQuery).Scan(&s.InRecovery, &s.Timeline, &at, &lag, &s.ReplayLSN); err != nil {
		return Status{}, fmt.Errorf("read replication status: %w", err)
	}
	s.Role = Primary
	if s.InRecovery {
		s.Role = Standby
		s.LastReplayAt = at
		if at != nil && lag != nil {
			l := max(*lag, 0) // clocks of two hosts
			s.ReplayLagSeconds = &l
		}
	} else {
		s.ReplayLSN = ""
	}
	if dataDir != "" {
		fenced, err := IsFenced(dataDir)
		if err != nil {
			return s, err
		}
		s.Fenced = fenced
	}
	return s, nil
}

// IsFenced reports whether dataDir holds FenceFile.
func IsFenced(dataDir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dataDir, FenceFile))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("check the fence marker: %w", err)
}

// HeartbeatTable holds the one row the primary's Beat updates.
const HeartbeatTable = "replication_heartbeat"

// Beat commits a heartbeat on a primary: with archive-based replication a
// standby's only clock of the primary is the commit time of what it has
// replayed, so a primary without writes must still commit now and then
// for the standby's lag to mean "data age" rather than "time since the
// last learner wrote". The server calls it every HeartbeatInterval.
func Beat(ctx context.Context, q Querier) error {
	var at time.Time
	err := q.QueryRow(ctx, `INSERT INTO `+HeartbeatTable+` (id, beat_at) VALUES (1, clock_timestamp())
ON CONFLICT (id) DO UPDATE SET beat_at = EXCLUDED.beat_at RETURNING beat_at`).Scan(&at)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// HeartbeatInterval is how often the primary's servers call Beat.
const HeartbeatInterval = 5 * time.Second
