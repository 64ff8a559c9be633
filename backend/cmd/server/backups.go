package main

import (
	"log/slog"
	"sync"
	"time"

	"github.com/helloagents/infra/backend/health"
	"github.com/helloagents/infra/backend/redact"
	"github.com/helloagents/infra/backend/server"
)

// backupsCheck is the /health "backups" component (never part of
// readiness). ARCHIVE_TIMEOUT (default 60s) plus a minute bounds how long
// closed WAL segments may wait; BACKUP_FULL_MAX_AGE (default 8 days: a
// weekly full backup plus a day) bounds the age of the last full backup.
// Each change of its status is logged with the same message as the body.
func backupsCheck(getenv func(string) string, src health.ArchiveSource, log *slog.Logger) health.Check {
	p := health.BackupsPolicy{
		MaxWALAge:  envDuration(getenv, server.EnvArchiveTimeout, time.Minute) + time.Minute,
		MaxFullAge: envDuration(getenv, server.EnvBackupFullMaxAge, 8*24*time.Hour),
	}
	var mu sync.Mutex
	last := health.Healthy
	return health.Backups(src, p, nil, func(res health.Result, err error) {
		mu.Lock()
		changed := res.Status != last
		last = res.Status
		mu.Unlock()
		switch {
		case !changed:
		case res.Status == health.Healthy:
			log.Info("backups healthy again", "message", res.Message)
		default:
			args := []any{"status", res.Status, "message", res.Message}
			if err != nil {
				args = append(args, "error", redact.Text(err.Error()))
			}
			log.Warn("backups need attention", args...)
		}
	})
}

func envDuration(getenv func(string) string, key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(key)); err == nil && d > 0 {
		return d
	}
	return def
}
