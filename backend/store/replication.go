package store

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/helloagents/infra/backend/standby"
)

// Replication reads the database's role and replay lag (one query, so it
// also proves the database answers).
func (s *Store) Replication(ctx context.Context) (standby.Status, error) {
	st, err := standby.ReadStatus(ctx, s.pool, "")
	if err != nil {
		return st, fmt.Errorf("store: %w", err)
	}
	return st, nil
}

// InRecovery reports whether the database is a standby (read-only).
func (s *Store) InRecovery(ctx context.Context) (bool, error) {
	var in bool
	if err := s.pool.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&in); err != nil {
		return false, fmt.Errorf("store: pg_is_in_recovery: %w", err)
	}
	return in, nil
}

// SchemaReady reports whether every migration embedded in this binary is
// recorded: on a standby, which cannot migrate, it is when the primary's
// migration has replicated.
func (s *Store) SchemaReady(ctx context.Context) (bool, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return false, fmt.Errorf("store: list migrations: %w", err)
	}
	versions := make([]string, 0, len(names))
	for _, n := range names {
		versions = append(versions, strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql"))
	}
	var exists, ready bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return false, fmt.Errorf("store: schema status: %w", err)
	}
	if !exists {
		return false, nil
	}
	err = s.pool.QueryRow(ctx, "SELECT count(*) = cardinality($1::text[]) FROM schema_migrations WHERE version = ANY($1)", versions).Scan(&ready)
	if err != nil {
		return false, fmt.Errorf("store: schema status: %w", err)
	}
	return ready, nil
}

// Beat commits the primary's replication heartbeat (standby.Beat).
func (s *Store) Beat(ctx context.Context) error {
	if err := standby.Beat(ctx, s.pool); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
