// Package store is the backend's PostgreSQL access: a pgx connection pool,
// the schema migrations embedded in the binary, and the queries the API serves.
//
// The pool connects lazily, so the server starts (and reports unhealthy)
// while the database is down, and recovers by itself when it returns.
package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// MigrationLockID is the advisory lock that serialises migrations when
// several replicas start at once (a test holds it to hold a migration back).
const MigrationLockID = 0x68656c6c6f // "hello"

// Store wraps the pool.
type Store struct {
	pool *pgxpool.Pool
}

// Options tune the pool; zero values take pgx defaults.
type Options struct {
	MaxConns int32
	// ConnectTimeout bounds one connection attempt (dial and handshake).
	ConnectTimeout time.Duration
}

// Open creates the pool without connecting: the first query connects.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may echo parts of the URL; keep it out of messages.
		return nil, fmt.Errorf("store: parse DATABASE_URL: invalid connection string")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	}
	// Drop broken connections quickly after a database restart.
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: create pool: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close closes every connection.
func (s *Store) Close() { s.pool.Close() }

// PoolStat returns the pool's statistics now; the metrics read it at each
// scrape.
func (s *Store) PoolStat() *pgxpool.Stat { return s.pool.Stat() }

// Ping runs a real query (SELECT 1) through the pool: it proves that a
// connection can be acquired and the server answers, not only that a socket opens.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Migrate applies the embedded migrations that have not run yet, in name
// order, each in its own transaction, under an advisory lock.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", MigrationLockID); err != nil {
		return nil, fmt.Errorf("store: migrate: lock: %w", err)
	}
	defer func() {
		// A fresh context: the caller's may be cancelled, the lock must go.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", MigrationLockID)
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return applied, fmt.Errorf("store: read migration %s: %w", version, err)
		}
		done, err := apply(ctx, conn.Conn(), version, string(sql))
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, version)
		}
	}
	return applied, nil
}

func apply(ctx context.Context, conn *pgx.Conn, version, sql string) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("store: migration %s: begin: %w", version, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	tag, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING", version)
	if err != nil {
		return false, fmt.Errorf("store: migration %s: record: %w", version, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil // already applied
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		return false, fmt.Errorf("store: migration %s: %w", version, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("store: migration %s: commit: %w", version, err)
	}
	return true, nil
}

// Course is one row of the catalogue.
type Course struct {
	ID        int64     `json:"id"`
	Slug      string    `json:"slug"`
	Title     string    `json:"title"`
	Summary   string    `json:"summary"`
	Level     string    `json:"level"`
	CreatedAt time.Time `json:"created_at"`
}

// Courses returns up to limit courses ordered by id.
func (s *Store) Courses(ctx context.Context, limit int) ([]Course, error) {
	rows, err := s.pool.Query(ctx,
		"SELECT id, slug, title, summary, level, created_at FROM courses ORDER BY id LIMIT $1", limit)
	if err != nil {
		return nil, fmt.Errorf("store: query courses: %w", err)
	}
	courses, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Course])
	if err != nil {
		return nil, fmt.Errorf("store: read courses: %w", err)
	}
	return courses, nil
}
