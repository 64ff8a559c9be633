package health

import (
	"context"
	"fmt"
	"time"
)

// Degraded is a component that works but needs attention: it is shown in
// /health and in the logs and never turns a report unhealthy, so backups
// never take a serving replica out of the load balancer.
const Degraded Status = "degraded"

// ArchiveStats is the state of WAL archiving and backups as the database
// sees it (pg_stat_archiver and the backup job's record).
type ArchiveStats struct {
	// Enabled is archive_mode != off.
	Enabled bool
	// InRecovery is true on a standby: it archives nothing (the primary
	// region does), so only the backups' age is judged.
	InRecovery bool
	// LastArchivedWAL and LastArchivedAt describe the newest segment in the
	// repository; zero when none yet.
	LastArchivedWAL string
	LastArchivedAt  time.Time
	// LastFailedAt is the last failed archive_command; FailedCount counts them.
	LastFailedAt time.Time
	FailedCount  int64
	// PendingSegments is how many closed segments wait to be archived.
	PendingSegments int64
	// LastFullBackupAt is when the newest full backup finished; zero when
	// none is recorded.
	LastFullBackupAt time.Time
}

// ArchiveSource reads ArchiveStats (store.Store does, from the database).
type ArchiveSource interface {
	ArchiveStats(ctx context.Context) (ArchiveStats, error)
}

// BackupsPolicy says when backups need attention.
type BackupsPolicy struct {
	// MaxWALAge: segments waiting longer than this (measured from the last
	// successful archive) make the component degraded. The archive timeout
	// plus a margin.
	MaxWALAge time.Duration
	// MaxFullAge: no full backup newer than this makes it degraded.
	MaxFullAge time.Duration
}

// Backups reports WAL archiving and backup freshness: healthy, degraded
// (with the ages), or disabled when archiving is off. It never returns
// Unhealthy. onResult, when not nil, sees every result (and the error
// behind an unreadable status) so the server's log can say the same as the body.
func Backups(src ArchiveSource, p BackupsPolicy, now func() time.Time, onResult func(Result, error)) Check {
	if now == nil {
		now = time.Now
	}
	return Check{Name: "backups", Run: func(ctx context.Context) Result {
		st, err := src.ArchiveStats(ctx)
		res := evaluateBackups(st, err, p, now())
		if onResult != nil {
			onResult(res, err)
		}
		return res
	}}
}

func evaluateBackups(st ArchiveStats, err error, p BackupsPolicy, now time.Time) Result {
	if err != nil {
		return Result{Degraded, "Backup status could not be read"}
	}
	if !st.Enabled {
		return Result{Disabled, "WAL archiving is not enabled"}
	}
	walAge := "no WAL segment archived yet"
	if !st.LastArchivedAt.IsZero() {
		walAge = "last WAL segment archived " + age(now.Sub(st.LastArchivedAt)) + " ago"
	}
	fullAge := "no full backup recorded"
	if !st.LastFullBackupAt.IsZero() {
		fullAge = "last full backup " + age(now.Sub(st.LastFullBackupAt)) + " ago"
	}
	if st.InRecovery {
		return standbyBackups(st, p, now, fullAge)
	}
	msg := walAge + "; " + fullAge
	failing := !st.LastFailedAt.IsZero() && st.LastFailedAt.After(st.LastArchivedAt)
	waiting := st.PendingSegments > 0 && (st.LastArchivedAt.IsZero() || now.Sub(st.LastArchivedAt) > p.MaxWALAge)
	switch {
	case failing:
		return Result{Degraded, fmt.Sprintf("WAL archiving is failing (%d segments waiting); %s", st.PendingSegments, msg)}
	case waiting:
		return Result{Degraded, fmt.Sprintf("WAL archiving is behind (%d segments waiting); %s", st.PendingSegments, msg)}
	case st.LastFullBackupAt.IsZero() || (p.MaxFullAge > 0 && now.Sub(st.LastFullBackupAt) > p.MaxFullAge):
		return Result{Degraded, "Full backup is overdue; " + msg}
	}
	return Result{Healthy, msg}
}

// standbyBackups judges a standby: WAL is archived by the primary region,
// never here, so only the age of the last full backup (recorded on the
// primary, replicated here) can make it degraded.
func standbyBackups(st ArchiveStats, p BackupsPolicy, now time.Time, fullAge string) Result {
	msg := "Standby: WAL is archived by the primary region; " + fullAge
	if st.LastFullBackupAt.IsZero() || (p.MaxFullAge > 0 && now.Sub(st.LastFullBackupAt) > p.MaxFullAge) {
		return Result{Degraded, "Full backup is overdue; " + msg}
	}
	return Result{Healthy, msg}
}

// age renders a duration for people: whole seconds, minutes or hours.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return d.Round(time.Second).String()
	case d < 2*time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Hour).String()
}
