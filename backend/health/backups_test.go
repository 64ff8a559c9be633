package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type stats struct {
	st  ArchiveStats
	err error
}

func (s stats) ArchiveStats(context.Context) (ArchiveStats, error) { return s.st, s.err }

func TestBackups(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	policy := BackupsPolicy{MaxWALAge: 2 * time.Minute, MaxFullAge: 8 * 24 * time.Hour}
	ok := ArchiveStats{Enabled: true, LastArchivedWAL: "000000010000000000000010", LastArchivedAt: now.Add(-30 * time.Second),
		LastFullBackupAt: now.Add(-5 * time.Hour)}
	with := func(f func(*ArchiveStats)) ArchiveStats { s := ok; f(&s); return s }
	for _, tc := range []struct {
		name   string
		src    stats
		status Status
		msg    string
	}{
		{"healthy", stats{st: ok}, Healthy, "last WAL segment archived 30s ago; last full backup 5h0m0s ago"},
		{"idle database, nothing pending", stats{st: with(func(s *ArchiveStats) { s.LastArchivedAt = now.Add(-3 * time.Hour) })}, Healthy, "archived 3h0m0s ago"},
		{"disabled", stats{st: ArchiveStats{}}, Disabled, "not enabled"},
		{"unreadable", stats{err: errors.New("password=hunter2 host=db")}, Degraded, "could not be read"},
		{"failing", stats{st: with(func(s *ArchiveStats) { s.LastFailedAt = now.Add(-time.Second); s.PendingSegments = 4 })}, Degraded, "failing (4 segments waiting)"},
		{"old failure, since archived", stats{st: with(func(s *ArchiveStats) { s.LastFailedAt = now.Add(-time.Hour) })}, Healthy, ""},
		{"behind", stats{st: with(func(s *ArchiveStats) { s.LastArchivedAt = now.Add(-10 * time.Minute); s.PendingSegments = 2 })}, Degraded, "behind (2 segments waiting); last WAL segment archived 10m0s ago"},
		{"pending but recent", stats{st: with(func(s *ArchiveStats) { s.PendingSegments = 1 })}, Healthy, ""},
		{"no full backup", stats{st: with(func(s *ArchiveStats) { s.LastFullBackupAt = time.Time{} })}, Degraded, "no full backup recorded"},
		{"full backup too old", stats{st: with(func(s *ArchiveStats) { s.LastFullBackupAt = now.Add(-9 * 24 * time.Hour) })}, Degraded, "overdue; last WAL segment archived 30s ago; last full backup 216h0m0s ago"},
		// A standby archives nothing: only the (replicated) backup age counts.
		{"standby", stats{st: ArchiveStats{Enabled: true, InRecovery: true, LastFullBackupAt: now.Add(-5 * time.Hour)}}, Healthy,
			"Standby: WAL is archived by the primary region; last full backup 5h0m0s ago"},
		{"standby with segments never archived here", stats{st: ArchiveStats{Enabled: true, InRecovery: true, PendingSegments: 9,
			LastFailedAt: now.Add(-time.Second), LastFullBackupAt: now.Add(-5 * time.Hour)}}, Healthy, "Standby: WAL is archived by the primary region"},
		{"standby, full backup too old", stats{st: ArchiveStats{Enabled: true, InRecovery: true, LastFullBackupAt: now.Add(-9 * 24 * time.Hour)}}, Degraded,
			"overdue; Standby"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged []Result
			c := Backups(tc.src, policy, func() time.Time { return now }, func(r Result, _ error) { logged = append(logged, r) })
			if c.Name != "backups" {
				t.Errorf("name %q", c.Name)
			}
			res := c.Run(context.Background())
			if res.Status != tc.status || !strings.Contains(res.Message, tc.msg) {
				t.Errorf("got %+v, want %s containing %q", res, tc.status, tc.msg)
			}
			if strings.Contains(res.Message, "hunter2") || strings.Contains(res.Message, "host=") {
				t.Errorf("message shows the error: %q", res.Message)
			}
			if len(logged) != 1 || logged[0] != res {
				t.Errorf("logged %v for %s", logged, res.Status)
			}
		})
	}
}

// A degraded backups component never makes the report unhealthy.
func TestBackupsNeverChangeReadiness(t *testing.T) {
	r := Runner{Version: "test"}
	deg := Backups(stats{err: errors.New("down")}, BackupsPolicy{}, nil, nil)
	rep := r.Run(context.Background(), []Check{deg, {Name: "database", Run: func(context.Context) Result { return Result{Healthy, "ok"} }}})
	if rep.Status != Healthy || rep.Components["backups"].Status != Degraded {
		t.Errorf("report %+v", rep)
	}
}
